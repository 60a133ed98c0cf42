// Shared helpers for the engine's integration suites: run the real CLI, build and read trees on the
// filesystem and in S3 (the test environment's MinIO, through testEnv() only), compare by SHA-256.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { DataSyncSpec, RunReport } from '../../api/types.ts';
import { testEnv, uniqueName } from '../env/endpoints.ts';
import { comparePaths } from '../../copier/backends/backend.ts';
import { asDataSyncError, type DataSyncError } from '../../copier/errors.ts';

export const REPO = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(REPO, 'bin/datasync.js');

export interface CliResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

export function startCli(args: string[], opts: { env?: Record<string, string | undefined>; uid?: number } = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const env = { ...process.env, DATASYNC_LOG_LEVEL: 'warn', ...opts.env };
  const [cmd, argv] = opts.uid !== undefined
    ? ['setpriv', [`--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups', process.execPath, CLI, ...args]]
    : [process.execPath, [CLI, ...args]];
  const child = spawn(cmd as string, argv as string[], { env, cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => { stdout += d; });
  child.stderr!.on('data', (d) => { stderr += d; });
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

export async function cli(args: string[], opts: { env?: Record<string, string | undefined>; uid?: number } = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}

/** `datasync run` and its parsed report. */
export async function runSync(manifest: string, opts: { env?: Record<string, string | undefined>; uid?: number } = {}): Promise<CliResult & { report: RunReport }> {
  const r = await cli(['run', '-f', manifest, '--quiet'], opts);
  let report: RunReport;
  try {
    report = JSON.parse(r.stdout) as RunReport;
  } catch {
    throw new Error(`no JSON report (exit ${r.code}); stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
  return { ...r, report };
}

const created: string[] = [];
// Each test file runs in its own process: its scratch trees go when it exits (DATASYNC_KEEP_TEST_DIRS keeps them).
process.on('exit', () => {
  if (process.env['DATASYNC_KEEP_TEST_DIRS']) return;
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `ds-${prefix}-`));
  created.push(dir);
  chmodSync(dir, 0o777); // the unprivileged-user test reads and writes here too
  return dir;
}

export function writeManifest(dir: string, spec: DataSyncSpec, asObject = true): string {
  const file = path.join(dir, `sync-${Math.random().toString(36).slice(2, 8)}.yaml`);
  const doc = asObject ? { apiVersion: 'datasync.dev/v1alpha1', kind: 'DataSync', metadata: { name: 'test' }, spec } : spec;
  writeFileSync(file, stringify(doc));
  return file;
}

export type Tree = Record<string, string | Buffer>;

export function makeTree(root: string, tree: Tree): void {
  for (const [rel, content] of Object.entries(tree)) {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}

export const sha256 = (b: Buffer | Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** path → sha256 of every file under root, skipping DataSync's state directory. */
export function readTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(root, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      if (r === '.datasync') continue;
      const st = statSync(path.join(root, r));
      if (st.isDirectory()) walk(r);
      else out.set(r, sha256(readFileSync(path.join(root, r))));
    }
  };
  walk('');
  return new Map([...out].sort(([a], [b]) => comparePaths(a, b)));
}

export function treeHashes(tree: Tree): Map<string, string> {
  return new Map(Object.entries(tree).map(([p, c]) => [p, sha256(c)] as [string, string]).sort(([a], [b]) => comparePaths(a, b)));
}

export function s3Client(): S3Client {
  const e = testEnv().s3;
  return new S3Client({ endpoint: e.endpoint, region: e.region, forcePathStyle: true, credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey } });
}

export async function newBucket(client: S3Client): Promise<string> {
  const bucket = uniqueName('eng');
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

/** Environment for a child: S3 credentials through the SDK's standard chain (local mode). */
export function s3Env(): Record<string, string> {
  const e = testEnv().s3;
  return { AWS_ACCESS_KEY_ID: e.accessKeyId, AWS_SECRET_ACCESS_KEY: e.secretAccessKey, AWS_REGION: e.region, DATASYNC_SECRETS_DIR: path.join(tmpdir(), 'datasync-no-secrets') };
}

export function s3Endpoint(bucket: string, prefix?: string): DataSyncSpec['destination'] {
  const e = testEnv().s3;
  return { s3: { bucket, ...(prefix ? { prefix } : {}), endpoint: e.endpoint, region: e.region, forcePathStyle: true } };
}

/** key (relative to prefix) → sha256 for every object, skipping DataSync's state. */
export async function readBucket(client: S3Client, bucket: string, prefix = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const p = prefix ? `${prefix.replace(/\/$/, '')}/` : '';
  for (const key of await listKeys(client, bucket, p)) {
    const rel = key.slice(p.length);
    if (rel.startsWith('.datasync/')) continue;
    const obj = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    out.set(rel, sha256(Buffer.from(await obj.Body!.transformToByteArray())));
  }
  return out;
}

export async function listKeys(client: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of page.Contents ?? []) keys.push(o.Key!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** Names that break naive code: both Unicode normalisations, spaces, URL specials, long, deep. */
export function hostileTree(): Tree {
  const nfc = 'caf\u00e9';
  const nfd = 'cafe\u0301';
  const deep = Array.from({ length: 25 }, (_, i) => `d${i}`).join('/');
  return {
    [`unicode/${nfc}.txt`]: 'NFC form\n',
    [`unicode/${nfd}.txt`]: 'NFD form, a different name on disk and in S3\n',
    'unicode/Hello, 世界 ≠ @.txt': 'wide\n',
    'specials/a ? b # c % d + e & f.txt': 'specials\n',
    'specials/100%/x+y=z&w.txt': 'percent dir\n',
    'spaces/ leading and trailing .txt': 'spaces\n',
    [`long/${'n'.repeat(200)}`]: 'two hundred characters\n',
    [`${deep}/leaf.txt`]: 'deep\n',
    'a.txt': 'sorts before a/ in UTF-8 byte order\n',
    'a/b.txt': 'inside a/\n',
    'empty.bin': '',
  };
}

/** The DataSyncError a promise rejects with; fails the test if it resolves. */
export async function failure(p: Promise<unknown>): Promise<DataSyncError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  if (!err) throw new Error('expected a failure');
  return asDataSyncError(err)!;
}
