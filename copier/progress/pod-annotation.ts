// The in-pod progress reporter: a copy pod patches the annotation datasync.dev/progress on its own
// pod, which the operator folds into the DataSync's status. It needs only get/patch on pods in its
// namespace (the datasync-copier ClusterRole, bound per namespace by the operator) and never blocks
// the copy: reports are coalesced, sent at most every minIntervalMs, and failures are only logged.
import { existsSync } from 'node:fs';
import { KubeConfig, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { containerPath } from '../runtime/container-path.ts';
import { shareConnections } from '../../operator/kube.ts';

export const PROGRESS_ANNOTATION = 'datasync.dev/progress';
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface PodProgress {
  filesDone: number; filesTotal: number; bytesDone: number; bytesTotal: number;
  filesSkipped: number; filesFailed: number; filesCopied?: number; bytesCopied?: number;
  [extra: string]: unknown;
}

export interface PodProgressReporter {
  report(progress: PodProgress): void;
  /** Sends the last report (if unsent) and stops. */
  close(): Promise<void>;
}

export interface PodProgressOptions {
  podName?: string;
  namespace?: string;
  minIntervalMs?: number;
  /** Patches the pod; injectable for tests. */
  patch?: (annotationValue: string) => Promise<void>;
  onError?: (err: unknown) => void;
}

/** In-cluster config, with the service-account files found through DATASYNC_PATH_PREFIX under the local pod runner. */
function inClusterConfig(): KubeConfig | undefined {
  const host = process.env['KUBERNETES_SERVICE_HOST'];
  const port = process.env['KUBERNETES_SERVICE_PORT'];
  const tokenFile = containerPath(`${SA_DIR}/token`);
  if (!host || !port || !existsSync(tokenFile)) return undefined;
  const kc = new KubeConfig();
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  kc.loadFromOptions({
    clusters: [{ name: 'in-cluster', server, caFile: containerPath(`${SA_DIR}/ca.crt`), skipTLSVerify: false }],
    // Projected tokens rotate: client-node re-reads the file (at most every 60 s) and sends it per request.
    users: [{ name: 'in-cluster', authProvider: { name: 'tokenFile', config: { tokenFile } } }],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'in-cluster' }],
    currentContext: 'in-cluster',
  });
  return kc;
}

/**
 * Patches the progress annotation of one pod. Every patch goes over the same connection pool
 * (shareConnections, as the operator's clients): one TLS connection per copy pod, not one per report.
 */
export function podPatcher(kc: KubeConfig, podName: string, namespace: string): (value: string) => Promise<void> {
  const core = shareConnections(kc).makeApiClient(CoreV1Api);
  const options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  return async (value) => {
    await core.patchNamespacedPod({ name: podName, namespace, body: { metadata: { annotations: { [PROGRESS_ANNOTATION]: value } } } }, options);
  };
}

function defaultPatcher(podName: string, namespace: string): ((value: string) => Promise<void>) | undefined {
  const kc = inClusterConfig();
  return kc ? podPatcher(kc, podName, namespace) : undefined;
}

/**
 * A reporter for the pod this process runs in (DATASYNC_POD_NAME / DATASYNC_POD_NAMESPACE, set by
 * the operator through the downward API). Outside a pod it returns a reporter that does nothing.
 */
export function createPodProgressReporter(opts: PodProgressOptions = {}): PodProgressReporter {
  const podName = opts.podName ?? process.env['DATASYNC_POD_NAME'] ?? process.env['HOSTNAME'];
  const namespace = opts.namespace ?? process.env['DATASYNC_POD_NAMESPACE'];
  const patch = opts.patch ?? (podName && namespace ? defaultPatcher(podName, namespace) : undefined);
  if (!patch) return { report() {}, async close() {} };
  const minInterval = opts.minIntervalMs ?? 2000;
  const onError = opts.onError ?? ((err: unknown) => process.stderr.write(`progress report failed: ${(err as Error).message}\n`));
  let pending: string | undefined;
  let lastSent: string | undefined;
  let lastAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let inflight: Promise<void> = Promise.resolve();
  let closed = false;

  const flush = (): void => {
    timer = undefined;
    const value = pending;
    pending = undefined;
    if (value === undefined || value === lastSent) return;
    lastAt = Date.now();
    inflight = inflight.then(() => patch(value).then(() => { lastSent = value; }, onError));
  };

  return {
    report(progress) {
      if (closed) return;
      pending = JSON.stringify({ ...progress, updatedAt: new Date().toISOString() });
      if (timer) return;
      const wait = Math.max(0, lastAt + minInterval - Date.now());
      timer = setTimeout(flush, wait);
      timer.unref();
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      flush();
      await inflight;
    },
  };
}
