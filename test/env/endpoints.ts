// The contract between the test environment and the suites: where each real server listens.
// The global setup (test/env/global-setup.ts) starts every server once per run and points
// DATASYNC_TEST_ENDPOINTS at this JSON; `npm run env:up` writes the same shape to
// .datasync-env/endpoints.json, which suites fall back to when run by hand.
import { readFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

export interface TestEndpoints {
  kubeconfig: string;
  s3: { endpoint: string; accessKeyId: string; secretAccessKey: string; region: string };
  gcs: { endpoint: string; projectId: string };
  webhdfs: { url: string; user: string };
  azure: { connectionString: string; endpoint: string; accountName: string; accountKey: string };
  /** Directory holding helm, kubectl-compatible binaries and the built servers. */
  bin: string;
  /** The local pod runner: the Node it registered, and the host directory it maps volumes under. */
  podRunner?: { nodeName: string; hostRoot: string };
  /** Directory of the servers' log files (<name>.log), for diagnosing a failure. */
  logs?: string;
  /**
   * Servers that died during the run, by the key they serve, with their log tail. testEnv() turns
   * each into a getter that throws that message, so only the tests using a dead server fail, and
   * they name it.
   */
  failures?: Partial<Record<ServedKey, string>>;
}

export type ServedKey = 'kubeconfig' | 's3' | 'gcs' | 'webhdfs' | 'azure' | 'podRunner';

export const ENDPOINTS_ENV = 'DATASYNC_TEST_ENDPOINTS';
export const INTERACTIVE_ENDPOINTS = path.resolve(import.meta.dirname, '../../.datasync-env/endpoints.json');

export function testEnv(): TestEndpoints {
  const file = process.env[ENDPOINTS_ENV] ?? (existsSync(INTERACTIVE_ENDPOINTS) ? INTERACTIVE_ENDPOINTS : undefined);
  if (!file) {
    throw new Error(`no test environment: run through 'npm test', or start one with 'npm run env:up' (writes ${INTERACTIVE_ENDPOINTS})`);
  }
  const env = JSON.parse(readFileSync(file, 'utf8')) as TestEndpoints;
  for (const [key, message] of Object.entries(env.failures ?? {})) {
    Object.defineProperty(env, key, { get() { throw new Error(`test environment: ${message}`); }, enumerable: true });
  }
  return env;
}

/** A name unique to this test, valid as a bucket, container, namespace or directory name. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`.toLowerCase().slice(0, 63);
}
