// How each tool is invoked, with the flags the table shows. Every peer gets its documented best
// flags for the scenario (rclone --transfers/--checkers, s5cmd --numworkers, aws-cli's
// max_concurrent_requests, DistCp -m/-direct); every tool keeps its default integrity checks.
import { writeFileSync, mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { runTimed, failureNote, type RunResult } from './proc.ts';
import { BIN } from './servers.ts';
import type { S3Server } from './servers.ts';
import type { DataSyncSpec } from '../../api/types.ts';

export const REPO = path.resolve(import.meta.dirname, '../..');
// The package's `datasync` bin: it runs copier/cli.ts's main() (the .ts file alone only exports it).
export const CLI = path.join(REPO, 'bin', 'datasync.js');

export interface Ctx {
  s3: S3Server;
  /** Scratch directory for manifests, reports, configs. */
  tmp: string;
  timeoutMs: number;
}

export function s3Env(s: S3Server, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_ACCESS_KEY_ID: s.accessKeyId, AWS_SECRET_ACCESS_KEY: s.secretAccessKey, AWS_REGION: s.region, AWS_DEFAULT_REGION: s.region, ...extra };
  // The bench must never pick up a real profile or session.
  delete env['AWS_PROFILE'];
  delete env['AWS_SESSION_TOKEN'];
  return env;
}

let failures = 0;
/** A failed run throws with a short note; its full output is kept in bench/data/tmp/failures/. */
function check(r: RunResult): RunResult {
  if (r.exitCode !== 0 || r.timedOut) {
    const dir = path.join(REPO, 'bench', 'data', 'tmp', 'failures');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${++failures}.log`);
    writeFileSync(file, `$ ${r.command}\nexit ${r.exitCode}${r.timedOut ? ' (timed out)' : ''}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}\n`);
    throw new Error(`${failureNote(r)} (full output: ${path.relative(REPO, file)})`);
  }
  return r;
}

// ---------- datasync ----------
let manifestSeq = 0;
export function writeManifest(ctx: Ctx, name: string, spec: DataSyncSpec): string {
  mkdirSync(ctx.tmp, { recursive: true });
  const file = path.join(ctx.tmp, `${name}-${manifestSeq++}.yaml`);
  writeFileSync(file, stringify({ apiVersion: 'datasync.dev/v1alpha1', kind: 'DataSync', metadata: { name }, spec }));
  return file;
}

export function s3Dest(ctx: Ctx, bucket: string, prefix = ''): DataSyncSpec['destination'] {
  return { s3: { bucket, ...(prefix ? { prefix } : {}), endpoint: ctx.s3.endpoint, region: ctx.s3.region, forcePathStyle: true } };
}

export interface DatasyncRun { result: RunResult; report: unknown }

/**
 * `datasync run -f FILE --report OUT --quiet`, or `datasync plan -f FILE` (the streaming dry run,
 * one decision per line on stdout, like rclone's --dry-run). nodeOptions lets B1/B2 add --cpu-prof.
 */
export async function datasync(ctx: Ctx, sub: 'run' | 'plan', manifest: string, nodeOptions = ''): Promise<DatasyncRun> {
  const report = `${manifest}.report.json`;
  const args = sub === 'run' ? [CLI, 'run', '-f', manifest, '--report', report, '--quiet'] : [CLI, 'plan', '-f', manifest];
  const env = s3Env(ctx.s3, nodeOptions ? { NODE_OPTIONS: nodeOptions } : {});
  // Started through its shebang, as the `datasync` command users and the image run, so the
  // launcher's node flags apply.
  const result = check(await runTimed(args[0]!, args.slice(1), { env, timeoutMs: ctx.timeoutMs }));
  let parsed: unknown = null;
  try { parsed = JSON.parse((await import('node:fs')).readFileSync(report, 'utf8')); } catch { /* plan may not write one */ }
  return { result, report: parsed };
}

// ---------- rclone ----------
// Remotes come from environment variables, so no rclone.conf is read or written.
export function rcloneEnv(ctx: Ctx, extraRemotes: Record<string, Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...s3Env(ctx.s3), RCLONE_CONFIG: path.join(ctx.tmp, 'rclone-empty.conf') };
  writeFileSync(env['RCLONE_CONFIG']!, '');
  const remotes: Record<string, Record<string, string>> = {
    minio: { type: 's3', provider: 'Minio', endpoint: ctx.s3.endpoint, access_key_id: ctx.s3.accessKeyId, secret_access_key: ctx.s3.secretAccessKey, region: ctx.s3.region, force_path_style: 'true' },
    ...extraRemotes,
  };
  for (const [name, opts] of Object.entries(remotes)) {
    for (const [k, v] of Object.entries(opts)) env[`RCLONE_CONFIG_${name.toUpperCase()}_${k.toUpperCase()}`] = v;
  }
  return env;
}

export async function rclone(ctx: Ctx, args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return check(await runTimed(path.join(BIN, 'rclone'), [...args, '-q'], { env: env ?? rcloneEnv(ctx), timeoutMs: ctx.timeoutMs }));
}

// ---------- s5cmd ----------
export async function s5cmd(ctx: Ctx, globalFlags: string[], args: string[]): Promise<RunResult> {
  return check(await runTimed(path.join(BIN, 's5cmd'), ['--endpoint-url', ctx.s3.endpoint, ...globalFlags, ...args], { env: s3Env(ctx.s3), timeoutMs: ctx.timeoutMs }));
}

// ---------- aws-cli ----------
export async function awsCli(ctx: Ctx, maxConcurrent: number, args: string[]): Promise<RunResult> {
  const cfg = path.join(ctx.tmp, `aws-${maxConcurrent}.cfg`);
  // aws s3's tuning lives in the config file, not in flags.
  writeFileSync(cfg, `[default]\nregion = ${ctx.s3.region}\ns3 =\n  max_concurrent_requests = ${maxConcurrent}\n  max_queue_size = 10000\n  multipart_chunksize = 64MB\n`);
  const env = s3Env(ctx.s3, { AWS_CONFIG_FILE: cfg, AWS_SHARED_CREDENTIALS_FILE: path.join(ctx.tmp, 'aws-no-credentials') });
  return check(await runTimed(path.join(BIN, 'aws'), ['--endpoint-url', ctx.s3.endpoint, ...args, '--only-show-errors'], { env, timeoutMs: ctx.timeoutMs }));
}

export function peerAvailable(bin: 'rclone' | 's5cmd' | 'aws' | 'warp'): boolean {
  return existsSync(path.join(BIN, bin));
}

// ---------- the server's own ceiling ----------
export interface WarpPut { mibPerSec: number; objectsPerSec: number }

/**
 * MinIO's own benchmark, `warp put`: `concurrent` PUTs of random `objSize` objects (warp's size
 * syntax: 16KiB, 256MiB) into `bucket` for `seconds`, unsigned payloads (no SHA-256 pass on either
 * side, as DataSync sends them). Its figure is the average over the run, start-up excluded.
 * --noclear: the bucket is the bench's, dropped by the caller, and warp's own delete is not timed.
 */
export async function warpPut(ctx: Ctx, bucket: string, objSize: string, concurrent: number, seconds: number): Promise<WarpPut> {
  const host = new URL(ctx.s3.endpoint).host;
  const r = check(await runTimed(path.join(BIN, 'warp'), [
    'put', '--host', host, '--access-key', ctx.s3.accessKeyId, '--secret-key', ctx.s3.secretAccessKey, '--region', ctx.s3.region,
    '--bucket', bucket, '--noclear', '--obj.size', objSize, '--concurrent', String(concurrent), '--duration', `${seconds}s`,
    '--disable-sha256-payload', '--no-color', '--benchdata', path.join(ctx.tmp, `warp-${manifestSeq++}`),
  ], { env: s3Env(ctx.s3), timeoutMs: ctx.timeoutMs }));
  return parseWarpAverage(r.stdout);
}

const UNIT: Record<string, number> = { B: 2 ** -20, KiB: 2 ** -10, MiB: 1, GiB: 2 ** 10 };

/** ` * Average: 21.47 MiB/s, 1374.11 obj/s` from warp's report. */
export function parseWarpAverage(stdout: string): WarpPut {
  const m = /Average: ([\d.]+) ?(B|KiB|MiB|GiB)\/s, ([\d.]+) obj\/s/.exec(stdout);
  if (!m) throw new Error(`warp: no 'Average: … obj/s' line in its report: ${stdout.trim().slice(-300)}`);
  return { mibPerSec: Number(m[1]) * UNIT[m[2]!]!, objectsPerSec: Number(m[3]) };
}

/** A raw @aws-sdk/client-s3 PUT loop from memory: the ceiling where warp is not provisioned. */
export async function ceiling(ctx: Ctx, objects: number, sizeMiB: number, concurrency: number, bucket: string): Promise<RunResult> {
  const script = path.join(REPO, 'bench', 'lib', 'ceiling.ts');
  return check(await runTimed(process.execPath, [script, ctx.s3.endpoint, bucket, String(objects), String(sizeMiB), String(concurrency)], { env: s3Env(ctx.s3), timeoutMs: ctx.timeoutMs }));
}
