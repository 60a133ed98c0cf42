// B6's cluster: the test environment's control plane (etcd, kube-apiserver, kube-controller-manager
// from the provisioned cache) and its local pod runner, started by the bench itself on free
// 127.0.0.1 ports, with the DataSync CRD and the copier ClusterRole installed, and operators started
// as `node operator/main.ts` subprocesses. Every process runs under the environment's watchdog
// (test/env/process.ts), so it dies with the bench even when the bench is killed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { startControlPlane } from '../../test/env/controlplane.ts';
import { KubeClient, KubeError, type Json } from '../../test/env/kube.ts';
import { ManagedProcess, makeRunDir, waitReady } from '../../test/env/process.ts';
import { serverEnv } from '../../test/env/stores.ts';
import { waitFor } from '../../test/env/wait.ts';
import type { RunnerConfig } from '../../test/env/podrunner/main.ts';
import { GROUP, PLURAL, VERSION } from '../../api/types.ts';
import { provisioned } from './servers.ts';
import { REPO } from './tools.ts';

export const NODE_NAME = 'datasync-bench';
export const COPIER_IMAGE = 'ghcr.io/datasync-dev/datasync:0.1.0';

export interface BenchCluster {
  kube: KubeClient;
  kubeconfig: string;
  runDir: string;
  /** The pod runner's host root; hostPath sources can live anywhere, this is just a scratch place. */
  hostRoot: string;
  logs: string;
  /** Every process started for it (operators too); stop() ends them all, clients first. */
  procs: ManagedProcess[];
  stop(): Promise<void>;
}

/** Builds etcd and Kubernetes into the cache when they are missing (cached: a no-op line each). */
export function ensureControlPlaneBinaries(log: (s: string) => void): void {
  const bin = provisioned().bin;
  if (['etcd', 'kube-apiserver', 'kube-controller-manager'].every((b) => existsSync(path.join(bin, b)))) return;
  log('B6: provisioning etcd and kubernetes (one-time build, ≈ 8 min on 2 cores)');
  execFileSync('bash', [path.join(REPO, 'test/env/provision.sh'), 'etcd', 'kubernetes'], { stdio: 'inherit' });
}

async function stopInOrder(procs: ManagedProcess[]): Promise<void> {
  // Clients first (operators, pod runner, controller manager), then the API server, then etcd.
  const order = ['operator', 'pod-runner', 'kube-controller-manager', 'kube-apiserver', 'etcd'];
  const rank = (p: ManagedProcess) => { const i = order.findIndex((n) => p.name.startsWith(n)); return i < 0 ? order.length : i; };
  for (let i = 0; i <= order.length; i++) await Promise.all(procs.filter((p) => rank(p) === i).map((p) => p.stop()));
}

export async function startCluster(log: (s: string) => void): Promise<BenchCluster> {
  const t0 = Date.now();
  const runDir = makeRunDir();
  const procs: ManagedProcess[] = [];
  let ok = false;
  try {
    const cp = await startControlPlane(provisioned(), runDir);
    procs.push(...cp.processes);
    cp.admin.close();
    log(`B6: control plane ready in ${((Date.now() - t0) / 1000).toFixed(1)}s (${cp.server})`);
    const hostRoot = path.join(runDir, 'podrunner');
    mkdirSync(hostRoot, { recursive: true });
    const runnerConfig: RunnerConfig = {
      server: cp.server, caFile: cp.caFile, certFile: path.join(cp.pkiDir, 'admin.crt'), keyFile: path.join(cp.pkiDir, 'admin.key'),
      nodeName: NODE_NAME, hostRoot, apiPort: cp.apiPort,
    };
    const runnerConfigFile = path.join(runDir, 'podrunner.json');
    writeFileSync(runnerConfigFile, JSON.stringify(runnerConfig, null, 2));
    const runner = new ManagedProcess({
      name: 'pod-runner', command: process.execPath, args: [path.join(REPO, 'test/env/podrunner/main.ts'), runnerConfigFile],
      env: serverEnv(), logFile: path.join(runDir, 'logs/pod-runner.log'), graceSeconds: 3, stopGraceMs: 4000,
    });
    procs.push(runner);
    const kube = KubeClient.fromFiles(cp.server, cp.caFile, path.join(cp.pkiDir, 'admin.crt'), path.join(cp.pkiDir, 'admin.key'));
    await waitReady(runner, async () => {
      const node = await kube.getIfExists<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(`/api/v1/nodes/${NODE_NAME}`);
      return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    }, 30_000, 'registered as a Ready node');
    await installApi(kube);
    log(`B6: pod runner and CRD ready in ${((Date.now() - t0) / 1000).toFixed(1)}s; run directory ${runDir}`);
    ok = true;
    let stopped = false;
    return {
      kube, kubeconfig: cp.kubeconfig, runDir, hostRoot, logs: path.join(runDir, 'logs'), procs,
      async stop() {
        if (stopped) return;
        stopped = true;
        kube.close();
        await stopInOrder(procs);
      },
    };
  } finally {
    if (!ok) {
      await stopInOrder(procs);
      rmSync(runDir, { recursive: true, force: true });
    }
  }
}

/** The CRD (Established) and the copier ClusterRole the chart would install. */
async function installApi(kube: KubeClient): Promise<void> {
  const crd = parse(readFileSync(path.join(REPO, 'crds/datasync.yaml'), 'utf8')) as Json;
  await createIfAbsent(kube, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  await waitFor('DataSync CRD Established', async () => {
    const got = await kube.get<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${PLURAL}.${GROUP}`);
    return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
  }, 30_000, 200);
  await createIfAbsent(kube, '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'datasync-copier' },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'] }],
  });
  // The resource is served a moment after Established.
  await waitFor('datasyncs served', async () => (await kube.raw('GET', `/apis/${GROUP}/${VERSION}/${PLURAL}`)).status === 200, 30_000, 200);
}

export async function createIfAbsent(kube: KubeClient, collection: string, body: unknown): Promise<void> {
  try {
    await kube.post(collection, body);
  } catch (err) {
    if (!(err instanceof KubeError && err.status === 409)) throw err;
  }
}

/** A namespace whose default ServiceAccount exists (pods are refused until it does). */
export async function createNamespace(kube: KubeClient, name: string): Promise<string> {
  await kube.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await waitFor(`ServiceAccount default in ${name}`, async () => !!(await kube.getIfExists(`/api/v1/namespaces/${name}/serviceaccounts/default`)), 30_000, 100);
  return name;
}

export interface OperatorProc { proc: ManagedProcess; pid: number; logFile: string; stop(): Promise<void> }

/** `node operator/main.ts --kubeconfig … --namespaces ns --leader-elect false --metrics-addr 0`, as test/operator/cluster.ts starts it. */
export function startOperator(c: BenchCluster, namespace: string, label: string): OperatorProc {
  const logFile = path.join(c.logs, `operator-${label}.log`);
  const proc = new ManagedProcess({
    name: `operator-${label}`, command: process.execPath,
    args: [path.join(REPO, 'operator/main.ts'), '--kubeconfig', c.kubeconfig, '--namespaces', namespace, '--leader-elect', 'false', '--metrics-addr', '0'],
    env: serverEnv({ DATASYNC_COPIER_IMAGE: COPIER_IMAGE }), cwd: REPO, logFile, graceSeconds: 5, stopGraceMs: 10_000,
  });
  c.procs.push(proc);
  return { proc, pid: proc.pid, logFile, stop: () => proc.stop() };
}

/**
 * Watches a collection until the signal aborts, resuming from the last resourceVersion when the
 * server ends the stream (and from scratch after a 410). onEvent runs as each line is parsed, so
 * callers can timestamp events on receipt.
 */
export async function watchCollection(kube: KubeClient, collectionPath: string, onEvent: (type: string, obj: Json) => void, signal: AbortSignal): Promise<void> {
  let rv = '';
  while (!signal.aborted) {
    let seen = 0;
    const sep = collectionPath.includes('?') ? '&' : '?';
    await kube.watch(`${collectionPath}${rv ? `${sep}resourceVersion=${rv}` : ''}`, (type, obj) => {
      seen++;
      const v = (obj['metadata'] as { resourceVersion?: string } | undefined)?.resourceVersion;
      if (type === 'ERROR') { rv = ''; return; }
      if (v) rv = v;
      onEvent(type, obj);
    }, signal);
    if (!seen) rv = '';
    if (!signal.aborted) await sleep(100);
  }
}

/** VmRSS and VmHWM of a process, in MiB. */
export function memoryOf(pid: number): { rssMiB: number; hwmMiB: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
}
