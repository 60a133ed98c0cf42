// Start and stop the whole environment: the storage servers and the control plane in parallel, then
// the pod runner. Used by the test runner's global setup and by `npm run env:up`.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ServedKey, TestEndpoints } from './endpoints.ts';
import { startControlPlane } from './controlplane.ts';
import { ManagedProcess, makeRunDir, retryOnPortClash, tailOf, waitReady } from './process.ts';
import { startAzurite, startFakeGcs, startHdfs, startMinio, serverEnv, type ProvisionedEnv } from './stores.ts';
import type { RunnerConfig } from './podrunner/main.ts';

export const CACHE_ROOT = path.join(process.env['DATASYNC_CACHE'] ?? path.join(process.env['XDG_CACHE_HOME'] ?? path.join(os.homedir(), '.cache'), 'datasync-env'), 'v1');
export const NODE_NAME = 'datasync-local';

export interface Environment {
  endpoints: TestEndpoints;
  endpointsFile: string;
  runDir: string;
  processes: ManagedProcess[];
  stop(): Promise<void>;
}

/** Which endpoints each process serves. */
const SERVES: Record<string, ServedKey[]> = {
  'minio': ['s3'],
  'fake-gcs-server': ['gcs'],
  'hdfs-minicluster': ['webhdfs'],
  'azurite': ['azure'],
  'etcd': ['kubeconfig', 'podRunner'],
  'kube-apiserver': ['kubeconfig', 'podRunner'],
  'kube-controller-manager': ['kubeconfig', 'podRunner'],
  'pod-runner': ['podRunner'],
};

export function recordFailure(endpointsFile: string, keys: ServedKey[], message: string): void {
  try {
    const endpoints = JSON.parse(readFileSync(endpointsFile, 'utf8')) as TestEndpoints;
    const failures = { ...endpoints.failures };
    for (const key of keys) failures[key] ??= message;
    const tmp = `${endpointsFile}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ ...endpoints, failures }, null, 2) + '\n');
    renameSync(tmp, endpointsFile);
  } catch {
    // the message is on stderr already
  }
}

export function readProvisioned(): ProvisionedEnv {
  const file = path.join(CACHE_ROOT, 'env.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ProvisionedEnv;
  } catch {
    throw new Error(`test environment: ${file} is missing; run 'bash test/env/provision.sh' (npm test does it)`);
  }
}

async function stopAll(processes: ManagedProcess[]): Promise<void> {
  // Clients first (pod runner, controller manager), then the API server, then etcd and the stores.
  const order = ['pod-runner', 'kube-controller-manager', 'kube-apiserver'];
  for (const name of order) await Promise.all(processes.filter((p) => p.name === name).map((p) => p.stop()));
  await Promise.all(processes.filter((p) => !order.includes(p.name)).map((p) => p.stop()));
}

export async function startEnvironment(options: { endpointsFile?: string; log?: (msg: string) => void } = {}): Promise<Environment> {
  const log = options.log ?? (() => {});
  const provisioned = readProvisioned();
  const runDir = makeRunDir();
  const t0 = Date.now();
  const processes: ManagedProcess[] = [];
  const timed = async <T extends { processes: ManagedProcess[] }>(name: string, start: () => Promise<T>): Promise<T> => {
    const v = await retryOnPortClash(start, () => log(`${name}: a port it was given was taken before it bound; starting it again on new ports`));
    processes.push(...v.processes);
    log(`${name} ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    return v;
  };
  const results = await Promise.allSettled([
    timed('control plane', () => startControlPlane(provisioned, runDir)),
    timed('minio', () => startMinio(provisioned, runDir)),
    timed('fake-gcs-server', () => startFakeGcs(provisioned, runDir)),
    timed('azurite', () => startAzurite(runDir)),
    timed('hdfs', () => startHdfs(provisioned, runDir)),
  ] as const);
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) {
    await stopAll(processes);
    throw new Error(failures.map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason))).join('\n\n'));
  }
  const [cp, s3, gcs, azure, hdfs] = results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
    Awaited<ReturnType<typeof startControlPlane>>, Awaited<ReturnType<typeof startMinio>>, Awaited<ReturnType<typeof startFakeGcs>>,
    Awaited<ReturnType<typeof startAzurite>>, Awaited<ReturnType<typeof startHdfs>>,
  ];

  const hostRoot = path.join(runDir, 'podrunner');
  mkdirSync(hostRoot, { recursive: true });
  const runnerConfig: RunnerConfig = {
    server: cp.server,
    caFile: cp.caFile,
    certFile: path.join(cp.pkiDir, 'admin.crt'),
    keyFile: path.join(cp.pkiDir, 'admin.key'),
    nodeName: NODE_NAME,
    hostRoot,
    apiPort: cp.apiPort,
  };
  const runnerConfigFile = path.join(runDir, 'podrunner.json');
  writeFileSync(runnerConfigFile, JSON.stringify(runnerConfig, null, 2));
  const runner = new ManagedProcess({
    name: 'pod-runner',
    command: process.execPath,
    args: [path.join(import.meta.dirname, 'podrunner/main.ts'), runnerConfigFile],
    env: serverEnv(),
    logFile: path.join(runDir, 'logs/pod-runner.log'),
    graceSeconds: 3,
    stopGraceMs: 4000,
  });
  processes.push(runner);
  try {
    await waitReady(runner, async () => {
      const node = await cp.admin.getIfExists<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(`/api/v1/nodes/${NODE_NAME}`);
      return node?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    }, 30_000, 'registered as a Ready node');
  } catch (err) {
    await stopAll(processes);
    throw err;
  }
  cp.admin.close();
  log(`pod runner ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);

  const endpoints: TestEndpoints = {
    kubeconfig: cp.kubeconfig,
    s3: s3.endpoints,
    gcs: gcs.endpoints,
    webhdfs: hdfs.endpoints,
    azure: azure.endpoints,
    bin: provisioned.bin,
    podRunner: { nodeName: NODE_NAME, hostRoot },
    logs: path.join(runDir, 'logs'),
  };
  const endpointsFile = options.endpointsFile ?? path.join(runDir, 'endpoints.json');
  mkdirSync(path.dirname(endpointsFile), { recursive: true });
  writeFileSync(endpointsFile, JSON.stringify(endpoints, null, 2) + '\n');

  // A server that dies mid-run says so at once, with its log, and is recorded in the endpoints
  // file so that tests using it fail with its name instead of a bare connection error.
  let stopping = false;
  for (const p of processes) {
    void p.exited.then(() => {
      if (stopping) return;
      const message = `${p.name} ${p.describeExit()} during the run\n--- last lines of ${p.logFile} ---\n${tailOf(p.logFile)}`;
      process.stderr.write(`\ntest environment: ${message}\n`);
      recordFailure(endpointsFile, SERVES[p.name] ?? [], message);
    });
  }
  return {
    endpoints,
    endpointsFile,
    runDir,
    processes,
    async stop() {
      stopping = true;
      await stopAll(processes);
    },
  };
}
