// Helpers for suites that use the control plane: an admin client from the environment's kubeconfig,
// a fresh namespace per test, waiting for a Job to finish.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { testEnv } from './endpoints.ts';
import { KubeClient, KubeError, eventually, type Json } from './kube.ts';

interface KubeconfigFile {
  clusters: Array<{ cluster: { server: string; 'certificate-authority': string } }>;
  users: Array<{ user: { 'client-certificate': string; 'client-key': string } }>;
}

/** A cluster-admin client (system:masters) for the environment's API server. */
export function adminClient(kubeconfig = testEnv().kubeconfig): KubeClient {
  const cfg = parse(readFileSync(kubeconfig, 'utf8')) as KubeconfigFile;
  const cluster = cfg.clusters[0]!.cluster;
  const user = cfg.users[0]!.user;
  return KubeClient.fromFiles(cluster.server, cluster['certificate-authority'], user['client-certificate'], user['client-key']);
}

/**
 * Create a namespace for one test and wait for its `default` ServiceAccount (pods are refused
 * until it exists). The namespace is deleted (not awaited) when `after` runs.
 */
export async function createNamespace(kube: KubeClient, name: string, after?: (fn: () => Promise<void>) => void): Promise<string> {
  await kube.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await eventually(`ServiceAccount ${name}/default`, () => kube.getIfExists(`/api/v1/namespaces/${name}/serviceaccounts/default`), 30_000, 100);
  after?.(async () => {
    try {
      await kube.delete(`/api/v1/namespaces/${name}`);
    } catch (err) {
      if (!(err instanceof KubeError && err.status === 404)) throw err;
    }
  });
  return name;
}

export interface JobStatus {
  succeeded?: number;
  failed?: number;
  active?: number;
  ready?: number;
  completedIndexes?: string;
  failedIndexes?: string;
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>;
}

/** Wait for a Job to reach Complete or Failed; returns its status. */
export async function waitForJobFinished(kube: KubeClient, namespace: string, name: string, timeoutMs = 90_000): Promise<JobStatus> {
  return eventually(`Job ${namespace}/${name} to finish`, async () => {
    const job = await kube.get<{ status?: JobStatus }>(`/apis/batch/v1/namespaces/${namespace}/jobs/${name}`);
    const done = job.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
    return done ? job.status! : undefined;
  }, timeoutMs, 200);
}

export function condition(status: JobStatus, type: string): { type: string; status: string; reason?: string; message?: string } | undefined {
  return status.conditions?.find((c) => c.type === type && c.status === 'True');
}

export interface PodSummary {
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string>; ownerReferences?: Array<{ kind: string; name: string }> };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    containerStatuses?: Array<{ state?: { terminated?: { exitCode: number; message?: string; reason?: string }; waiting?: { reason?: string; message?: string }; running?: Json } }>;
  };
}

export async function listPods(kube: KubeClient, namespace: string, selector?: string): Promise<PodSummary[]> {
  const q = selector ? `?labelSelector=${encodeURIComponent(selector)}` : '';
  return (await kube.get<{ items: PodSummary[] }>(`/api/v1/namespaces/${namespace}/pods${q}`)).items;
}

/** A test-shell Job: one container running `sh -c script`. */
export function shellJob(name: string, script: string, spec: Json = {}, podSpec: Json = {}, container: Json = {}): Json {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      ...spec,
      template: {
        spec: {
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 2,
          ...podSpec,
          containers: [{ name: 'main', image: 'datasync.dev/test-shell:1', command: ['sh', '-c', script], ...container }],
        },
      },
    },
  };
}
