// Shared helpers of the operator suites: the test cluster from testEnv(), the CRD and copier RBAC
// installed into it, operator processes started as children or the controller run in-process on a
// simulated clock, and polling.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { testEnv, uniqueName, type TestEndpoints } from '../env/endpoints.ts';
import { loadKubeConfig, makeKube, isAlreadyExists, type Kube } from '../../operator/kube.ts';
import { GROUP, VERSION, PLURAL, type DataSync } from '../../api/types.ts';
import { waitFor } from '../env/wait.ts';
import { pino } from 'pino';
import { Controller } from '../../operator/controller.ts';
import { createMetrics } from '../../operator/metrics.ts';
import { copierDefaults } from '../../operator/resources.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const CRD_FILE = path.join(ROOT, 'crds/datasync.yaml');

export interface Cluster { env: TestEndpoints; kube: Kube; kubeconfig: string }

export function kubectl(kubeconfig: string, args: string[], input?: string): string {
  return execFileSync('kubectl', ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input ? { input } : {}) });
}

/** Applies the CRD (server-side) and waits until it is Established; also the copier ClusterRole. */
export async function installApi(c: Cluster): Promise<void> {
  kubectl(c.kubeconfig, ['apply', '--server-side', '--force-conflicts', '--field-manager', 'datasync-tests', '-f', CRD_FILE]);
  await waitFor('CRD Established', async () =>
    kubectl(c.kubeconfig, ['get', `crd/${PLURAL}.${GROUP}`, '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']).trim() === 'True', 30_000);
  // The chart owns this ClusterRole in real installs; create it only when absent and remove it in
  // cleanupApi(), so a later `helm install` in the same test run does not trip over it.
  try {
    await c.kube.rbac.createClusterRole({ body: {
      metadata: { name: 'datasync-copier' },
      rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'] }],
    } });
    createdCopierRole = true;
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  // The served OpenAPI (kubectl explain, client validation) follows the CRD within a few seconds.
  await waitFor('DataSync in discovery', async () => {
    try { kubectl(c.kubeconfig, ['get', 'datasyncs', '-A']); return true; } catch { return false; }
  }, 30_000);
}

let createdCopierRole = false;

/** Undoes what installApi() created outside namespaces (the CRD stays: other suites use it too). */
export async function cleanupApi(c: Cluster): Promise<void> {
  if (!createdCopierRole) return;
  createdCopierRole = false;
  try { await c.kube.rbac.deleteClusterRole({ name: 'datasync-copier' }); } catch { /* already gone */ }
}

/**
 * Deletes a test namespace's DataSyncs while an operator still runs (it releases their finalizers),
 * then the namespace, so no schedule keeps firing for suites that run an operator later.
 */
export async function cleanupNamespace(c: Cluster, namespace: string): Promise<void> {
  try {
    await c.kube.custom.deleteCollectionNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL });
    await waitFor('DataSyncs finalized', async () =>
      ((await c.kube.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL })) as { items: unknown[] }).items.length === 0, 20_000, 500);
  } catch { /* best effort: the environment is torn down at the end anyway */ }
  try { await c.kube.core.deleteNamespace({ name: namespace }); } catch { /* already going */ }
}

export function cluster(): Cluster {
  const env = testEnv();
  const kube = makeKube(loadKubeConfig(env.kubeconfig));
  return { env, kube, kubeconfig: env.kubeconfig };
}

export async function createNamespace(c: Cluster, prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await c.kube.core.createNamespace({ body: { metadata: { name } } });
  // Pods need the namespace's default ServiceAccount (created by the serviceaccount controller).
  await waitFor(`ServiceAccount default in ${name}`, async () => {
    try { await c.kube.core.readNamespacedServiceAccount({ namespace: name, name: 'default' }); return true; } catch { return false; }
  }, 30_000);
  return name;
}

export { waitFor };

export async function getDataSync(c: Cluster, namespace: string, name: string): Promise<DataSync> {
  return (await c.kube.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name })) as DataSync;
}

export async function createDataSync(c: Cluster, namespace: string, name: string, spec: DataSync['spec']): Promise<DataSync> {
  const body = { apiVersion: `${GROUP}/${VERSION}`, kind: 'DataSync', metadata: { name, namespace }, spec };
  return (await c.kube.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, body })) as DataSync;
}

export interface OperatorProcess { child: ChildProcess; logFile: string; logs(): string; stop(signal?: NodeJS.Signals): Promise<void> }

/** Starts `node operator/main.ts` against the test cluster; its logs go to a file under the env's log dir. */
export function startOperator(c: Cluster, args: string[], name = 'operator'): OperatorProcess {
  const dir = path.join((c.env as { logs?: string }).logs ?? '/tmp', 'operator-tests');
  mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, `${uniqueName(name)}.log`);
  const out = createWriteStream(logFile);
  const child = spawn(process.execPath, [path.join(ROOT, 'operator/main.ts'), '--kubeconfig', c.kubeconfig, '--metrics-addr', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DATASYNC_COPIER_IMAGE: 'ghcr.io/datasync-dev/datasync:0.1.0' },
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child, logFile,
    logs: () => { try { return readFileSync(logFile, 'utf8'); } catch { return ''; } },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const ac = new AbortController();
      await Promise.race([exited, sleep(25_000, undefined, { signal: ac.signal }).catch(() => {})]);
      ac.abort(); // a pending timer would keep the test process alive
    },
  };
}

/** Units and a formatter for the simulated clock's milliseconds. */
export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;
export const iso = (ms: number): string => new Date(ms).toISOString();

/** The operator's clock in a test: it stands still until the test moves it, and only forward. */
export interface SimulatedClock { now(): Date; ms(): number; set(ms: number): void }

export interface InProcessOperator { controller: Controller; clock: SimulatedClock; poke(name: string): void; stop(): Promise<void> }

/**
 * The production Controller (as operator/main.ts builds it: its own kube client, pino at warn,
 * createMetrics(), the copier defaults from the environment, one namespace) run inside the test
 * process with an injected clock, so a test can move schedule and watch time by days in a second.
 * Jobs and pods still run in real time on the pod runner, and the Jobs' completion times (which
 * become lastRun.endTime) are real: keep the simulated clock at or after real now.
 * Reconciles are requeued in real milliseconds, so after moving the clock call poke().
 */
export function startInProcessOperator(c: Cluster, namespace: string, startMs: number): InProcessOperator {
  let t = startMs;
  const clock: SimulatedClock = {
    now: () => new Date(t),
    ms: () => t,
    set(ms: number) {
      if (ms < t) throw new Error(`the simulated clock only moves forward (${new Date(t).toISOString()} -> ${new Date(ms).toISOString()})`);
      t = ms;
    },
  };
  const controller = new Controller({
    kube: makeKube(loadKubeConfig(c.kubeconfig)),
    log: pino({ level: 'warn', base: { component: 'datasync-operator' } }, process.stderr),
    metrics: createMetrics(),
    namespaces: [namespace],
    instance: uniqueName('in-process'),
    clock: clock.now,
    copier: copierDefaults(undefined),
  });
  controller.start();
  return { controller, clock, poke: (name) => controller.queue.add(`${namespace}/${name}`), stop: () => controller.stop() };
}
