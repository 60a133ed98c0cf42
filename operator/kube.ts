// The Kubernetes clients the operator uses, and the few error checks it needs. In a pod the
// in-cluster config applies; outside one, KUBECONFIG (or ~/.kube/config).
import {
  KubeConfig, CoreV1Api, BatchV1Api, CustomObjectsApi, CoordinationV1Api, RbacAuthorizationV1Api,
  PatchStrategy, setHeaderOptions, Watch, type Cluster,
} from '@kubernetes/client-node';
import type { Dispatcher } from 'undici';
import { existsSync } from 'node:fs';
import type { AgentOptions } from 'node:https';
import { isDeepStrictEqual } from 'node:util';

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

type MakeDispatcher = (cluster: Cluster | null, agentOptions: AgentOptions) => Dispatcher | undefined;
const SHARED = Symbol.for('datasync.sharedConnections');
/** How long a replaced pool keeps serving the requests already handed to it before it is closed. */
export const RETIRED_POOL_CLOSE_MS = 60_000;

/**
 * Makes every request through `kc` share one connection pool: the API clients makeApiClient builds
 * and Watch (both get their dispatcher from KubeConfig.applySecurityAuthentication). client-node
 * 2.x builds a new undici Agent for every request (KubeConfig.createDispatcher), so every call paid
 * a TCP and TLS handshake and left a socket in TIME_WAIT. With one Agent requests reuse keep-alive
 * connections; the API server offers HTTP/2, so requests and watches multiplex on one connection.
 * Used by the operator (makeKube) and by the copier's progress reporter (one patch every 2 s).
 *
 * Rotation. The bearer token is a header, applied per request exactly as before (client-node's
 * FileAuth re-reads a projected ServiceAccount token file at most every 60 s), so token rotation
 * needs nothing here. The TLS material (CA, client certificate and key) belongs to the pool: the
 * client still reads it for every request, and it is compared with what the current pool was built
 * from; when it differs (a rotated client certificate or CA bundle) a new pool is built for this
 * and later requests, and the old one is closed RETIRED_POOL_CLOSE_MS later (closing is graceful:
 * what it is still serving, e.g. an open watch, finishes on its connection). So rotated files take
 * effect at the next request, as they did, and only a rotation pays a new handshake. Returns `kc`.
 */
export function shareConnections(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as { createDispatcher?: MakeDispatcher; [SHARED]?: boolean };
  const make = target.createDispatcher;
  // A client without this (private) method still works, one connection per request; the unit test
  // operator/kube.test.ts fails on such an upgrade.
  if (target[SHARED] || typeof make !== 'function') return kc;
  let current: { options: unknown; dispatcher: Dispatcher | undefined } | undefined;
  target.createDispatcher = (cluster, agentOptions) => {
    const options = kc.createDispatcherOptions(cluster, agentOptions);
    if (current && isDeepStrictEqual(current.options, options)) return current.dispatcher;
    const retired = current?.dispatcher;
    current = { options, dispatcher: make.call(kc, cluster, agentOptions) };
    if (retired) setTimeout(() => { retired.close().catch(() => {}); }, RETIRED_POOL_CLOSE_MS).unref();
    return current.dispatcher;
  };
  target[SHARED] = true;
  return kc;
}

/** The clients, all on one connection pool (shareConnections). */
export function makeKube(config: KubeConfig): Kube {
  shareConnections(config);
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
