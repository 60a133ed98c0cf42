// The Kubernetes clients the operator uses, and the few error checks it needs. In a pod the
// in-cluster config applies; outside one, KUBECONFIG (or ~/.kube/config).
import {
  KubeConfig, CoreV1Api, BatchV1Api, CustomObjectsApi, CoordinationV1Api, RbacAuthorizationV1Api,
  PatchStrategy, setHeaderOptions, Watch,
} from '@kubernetes/client-node';
import { existsSync } from 'node:fs';

export interface Kube {
  config: KubeConfig;
  core: CoreV1Api;
  batch: BatchV1Api;
  custom: CustomObjectsApi;
  coordination: CoordinationV1Api;
  rbac: RbacAuthorizationV1Api;
  watch: Watch;
}

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

function inClusterPrefix(): string {
  return process.env['DATASYNC_PATH_PREFIX'] ?? '';
}

export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
  // DATASYNC_PATH_PREFIX is empty in a real container; the test pod runner sets it to the pod's root.
  else if (!process.env['KUBECONFIG'] && process.env['KUBERNETES_SERVICE_HOST'] && existsSync(inClusterPrefix() + IN_CLUSTER_TOKEN)) kc.loadFromCluster(inClusterPrefix());
  else kc.loadFromDefault();
  return kc;
}

export function makeKube(config: KubeConfig): Kube {
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    batch: config.makeApiClient(BatchV1Api),
    custom: config.makeApiClient(CustomObjectsApi),
    coordination: config.makeApiClient(CoordinationV1Api),
    rbac: config.makeApiClient(RbacAuthorizationV1Api),
    watch: new Watch(config),
  };
}

/** Options for a JSON merge patch (client-node 2.x sends JSON Patch unless told otherwise). */
export const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function statusCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown } | null;
  if (e && typeof e.code === 'number') return e.code;
  if (e && typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}
export const isNotFound = (err: unknown): boolean => statusCode(err) === 404;
export const isAlreadyExists = (err: unknown): boolean => statusCode(err) === 409;
export const isConflict = (err: unknown): boolean => statusCode(err) === 409;

/** Runs a create; AlreadyExists counts as success (deterministic names make creates idempotent). */
export async function createIfAbsent(create: () => Promise<unknown>): Promise<'created' | 'exists'> {
  try {
    await create();
    return 'created';
  } catch (err) {
    if (isAlreadyExists(err)) return 'exists';
    throw err;
  }
}

export async function ignoreNotFound(op: () => Promise<unknown>): Promise<void> {
  try {
    await op();
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** A short text for logs and conditions: the API's message without the response body noise. */
export function errorMessage(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  if (typeof e?.code === 'number' && e.body !== undefined) {
    try {
      const body = typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: string }) : (e.body as { message?: string });
      if (body?.message) return `HTTP ${e.code}: ${body.message}`;
    } catch { /* not JSON */ }
    return `HTTP ${e.code}`;
  }
  return e?.message ?? String(err);
}
