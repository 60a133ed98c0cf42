// datasync-operator: watches DataSyncs and runs them as plan, copy and commit Jobs.
//   datasync-operator [--namespaces a,b] [--metrics-addr :8080] [--log-level info]
//                     [--leader-elect=true] [--leader-election-namespace ns] [--copier-image img]
//                     [--kubeconfig file]
// In a pod it uses the in-cluster config; outside one, KUBECONFIG or ~/.kube/config.
import { parseArgs } from 'node:util';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { pino } from 'pino';
import { loadKubeConfig, makeKube } from './kube.ts';
import { createMetrics } from './metrics.ts';
import { Controller } from './controller.ts';
import { LeaderElector } from './leader.ts';
import { startHttpServer } from './http.ts';
import { copierDefaults } from './resources.ts';

const USAGE = `usage: datasync-operator [flags]
  --namespaces LIST              comma-separated namespaces to watch (default: all)
  --metrics-addr ADDR            listen address for /metrics, /healthz, /readyz (default :8080; 0 disables)
  --log-level LEVEL              trace|debug|info|warn|error (default info)
  --leader-elect BOOL            campaign for the Lease before acting (default true)
  --leader-election-namespace NS namespace of the Lease (default: the pod's namespace, else default)
  --leader-election-id NAME      name of the Lease (default datasync-operator)
  --lease-duration SECONDS       (default 15)
  --copier-image IMAGE           default copier image (default $DATASYNC_COPIER_IMAGE or ghcr.io/datasync-dev/datasync:0.1.0)
  --kubeconfig FILE              kubeconfig outside a cluster (default $KUBECONFIG)
  --workers N                    concurrent reconciles (default 2)`;

function podNamespace(): string | undefined {
  const f = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
  return process.env['POD_NAMESPACE'] ?? (existsSync(f) ? readFileSync(f, 'utf8').trim() : undefined);
}

function parseAddr(addr: string): { host?: string; port: number } | undefined {
  if (addr === '0' || addr === '') return undefined;
  const i = addr.lastIndexOf(':');
  const host = i > 0 ? addr.slice(0, i) : undefined;
  return { ...(host ? { host } : {}), port: Number(i >= 0 ? addr.slice(i + 1) : addr) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      namespaces: { type: 'string', default: '' },
      'metrics-addr': { type: 'string', default: ':8080' },
      'log-level': { type: 'string', default: 'info' },
      'leader-elect': { type: 'string', default: 'true' },
      'leader-election-namespace': { type: 'string' },
      'leader-election-id': { type: 'string', default: 'datasync-operator' },
      'lease-duration': { type: 'string', default: '15' },
      'copier-image': { type: 'string' },
      kubeconfig: { type: 'string' },
      workers: { type: 'string', default: '2' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help) { console.log(USAGE); return; }
  const log = pino({ level: values['log-level'], base: { component: 'datasync-operator' } });
  const kube = makeKube(loadKubeConfig(values.kubeconfig));
  const metrics = createMetrics();
  const identity = `${process.env['POD_NAME'] ?? hostname()}-${randomBytes(3).toString('hex')}`;
  const namespaces = values.namespaces.split(',').map((s) => s.trim()).filter(Boolean);
  const controller = new Controller({
    kube, log, metrics, namespaces, instance: identity,
    clock: () => new Date(),
    copier: copierDefaults(values['copier-image']),
    workers: Number(values.workers),
  });

  let started = false;
  const startController = (): void => {
    if (started) return;
    started = true;
    metrics.isLeader.set(1);
    controller.start();
  };
  const leaseMs = Number(values['lease-duration']) * 1000;
  const elector = values['leader-elect'] !== 'false'
    ? new LeaderElector({
      kube, log, identity,
      namespace: values['leader-election-namespace'] ?? podNamespace() ?? 'default',
      name: values['leader-election-id'],
      leaseDurationMs: leaseMs,
      renewDeadlineMs: Math.round(leaseMs * 2 / 3),
      retryPeriodMs: Math.max(500, Math.round(leaseMs / 7)),
      onStartedLeading: startController,
      // Losing the lease means another replica may act: stop at once (the pod restarts and campaigns again).
      onStoppedLeading: () => { log.error('leadership lost: exiting'); process.exit(1); },
    })
    : undefined;

  const addr = parseAddr(values['metrics-addr']);
  const server = addr
    ? await startHttpServer({
      ...addr, registry: metrics.registry, log,
      ready: () => !started || controller.synced,
    })
    : undefined;

  if (elector) elector.start();
  else startController();
  log.info({ identity, namespaces: namespaces.length ? namespaces : 'all', leaderElect: !!elector }, 'datasync-operator started');

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    await controller.stop();
    await elector?.stop();
    server?.close();
    log.flush?.();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(`datasync-operator: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});

