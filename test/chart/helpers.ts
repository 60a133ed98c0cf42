// Helpers of the chart suites: helm and kubectl against the test environment's API server, the
// chart rendered with given values, and polling.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { testEnv } from '../env/endpoints.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const CHART = path.join(ROOT, 'charts/datasync');
/** The control plane's version; `helm template` defaults to v1.20 and the chart requires >= 1.33. */
export const KUBE_VERSION = '1.35.4';

export interface Result { code: number; stdout: string; stderr: string }

// Helm's caches and repository config go to a private directory, never the user's.
const helmHome = mkdtempSync(path.join(tmpdir(), 'datasync-helm-'));
const helmEnv = {
  ...process.env,
  HELM_CACHE_HOME: path.join(helmHome, 'cache'),
  HELM_CONFIG_HOME: path.join(helmHome, 'config'),
  HELM_DATA_HOME: path.join(helmHome, 'data'),
};

export function run(cmd: string, args: string[], input?: string, env: NodeJS.ProcessEnv = process.env): Result {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, env, maxBuffer: 64 << 20, timeout: 120_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function helmBin(): string {
  return path.join(testEnv().bin, 'helm');
}

/** helm with the test kubeconfig; returns the result whatever the exit code. */
export function helm(args: string[], input?: string): Result {
  return run(helmBin(), [...args, '--kubeconfig', testEnv().kubeconfig], input, helmEnv);
}

/** helm that must succeed. */
export function helmOk(args: string[], input?: string): string {
  const r = helm(args, input);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export function kubectl(args: string[], input?: string): Result {
  return run('kubectl', ['--kubeconfig', testEnv().kubeconfig, ...args], input);
}

export function kubectlOk(args: string[], input?: string): string {
  const r = kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** `--set`-style arguments from a flat map, plus `--set-json` for non-scalars. */
export function valueArgs(values: Record<string, unknown>): string[] {
  return Object.entries(values).flatMap(([k, v]) =>
    typeof v === 'string' ? ['--set-string', `${k}=${v}`] : ['--set-json', `${k}=${JSON.stringify(v)}`]);
}

export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

/** `helm template` of the chart with these values, as parsed objects (and the raw text). */
export function render(release: string, namespace: string, values: Record<string, unknown> = {}, extra: string[] = []): { text: string; objects: Manifest[] } {
  const r = run(helmBin(), ['template', release, CHART, '--namespace', namespace, '--kube-version', KUBE_VERSION, ...valueArgs(values), ...extra], undefined, helmEnv);
  if (r.code !== 0) throw new Error(`helm template exited ${r.code}: ${r.stderr}`);
  return { text: r.stdout, objects: parseYamlDocs(r.stdout) };
}

export function parseYamlDocs(text: string): Manifest[] {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length) throw new Error(`invalid YAML: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS() as Manifest | null;
  }).filter((o): o is Manifest => !!o);
}

export { waitFor } from '../env/wait.ts';
