// B1 (large files), B2 (small files) and B3 (nothing changed): filesystem to MinIO, every tool into
// a fresh bucket of its own per run, the object count checked after every run so a tool that
// silently skipped files cannot look fast.
import { rmSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { largeFiles, smallFiles, type Dataset } from '../lib/datasets.ts';
import { freshBucket, dropBucket, countObjects } from '../lib/s3.ts';
import { alternate, bestCeiling, median, type Contender, type Outcome } from '../lib/stats.ts';
import { datasync, writeManifest, s3Dest, rclone, s5cmd, awsCli, ceiling, peerAvailable, warpPut } from '../lib/tools.ts';
import type { RunResult } from '../lib/proc.ts';
import { noisyRounds, row, warmPageCache, type Bench } from './common.ts';
import type { ResultRow } from '../lib/report.ts';
import type { DataSyncSpec } from '../../api/types.ts';

const MiB = 2 ** 20;

interface Tool {
  name: string;
  flags: string;
  /** Copies ds into bucket and returns the timed run. */
  copy: (ds: Dataset, bucket: string) => Promise<RunResult>;
}

/**
 * DataSync's settings per scenario, tuned like the peers' flags and printed beside them. `datasync
 * run` starts one process per shard: on this 2-core machine, which MinIO shares, one process with
 * many transfers beats four (each process pays its own start-up, and they contend for the cores).
 */
const PARALLELISM: Record<'b1' | 'b2' | 'b3', NonNullable<DataSyncSpec['parallelism']>> = {
  b1: { shards: 1, transfersPerShard: 8 },
  b2: { shards: 1, transfersPerShard: 64 },
  b3: { shards: 1, transfersPerShard: 64 },
};
const flagsOf = (scenario: keyof typeof PARALLELISM) => `parallelism ${JSON.stringify(PARALLELISM[scenario]).replace(/"/g, '')}`;

function datasyncSpec(b: Bench, ds: Dataset, bucket: string, scenario: keyof typeof PARALLELISM, mode: DataSyncSpec['mode'] = 'Copy'): DataSyncSpec {
  return { source: { filesystem: { path: ds.dir } }, destination: s3Dest(b.ctx, bucket), mode, parallelism: PARALLELISM[scenario] };
}

function datasyncTool(b: Bench, scenario: 'b1' | 'b2'): Tool {
  return {
    name: 'datasync', flags: flagsOf(scenario),
    copy: async (ds, bucket) => (await datasync(b.ctx, 'run', writeManifest(b.ctx, scenario, datasyncSpec(b, ds, bucket, scenario)))).result,
  };
}

/**
 * CPU per file in one tool's B2 runs: its own processes' (GNU time) and MinIO's (/proc, read just
 * before and after the run, with the server idle before it). The two share this machine's cores,
 * so together they show whether a tool, or the server, is what a run waits for.
 */
type CpuSplit = Map<string, { client: number[]; server: number[] }>;

/** serverMs: MinIO's CPU over the run (undefined: not measurable, nothing is recorded). */
function recordCpu(cpu: CpuSplit | undefined, name: string, files: number, clientMs: number | null, serverMs: number | undefined): void {
  if (!cpu || serverMs === undefined) return;
  const split = cpu.get(name) ?? { client: [], server: [] };
  if (clientMs !== null) split.client.push(clientMs / files);
  split.server.push(serverMs / files);
  cpu.set(name, split);
}

const minus = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : a - b);

/**
 * Buckets B2 is done with, dropped after B3 rather than between runs where MinIO's drive is a
 * disk: dropping a 20,000-object bucket slowed the runs after it, whatever the tool, even with
 * MinIO idle and the filesystem synced before them (outside the bench, MinIO spent 1.3-2.0 ms of
 * CPU per DataSync PUT after a drop, 0.8-1.0 ms with none; the root filesystem here is ext4 with
 * online discard, the likely but unproven cause). About 0.5 GB per bucket: 10 GB over a full B2
 * (bench/README.md). On a memory drive they are dropped at once: 10 GB would not fit, and a drop
 * there costs MinIO's CPU only, which the settle before every run waits out.
 */
const dropAfterB3: string[] = [];

async function retire(b: Bench, bucket: string, afterB3: boolean): Promise<void> {
  if (afterB3 && b.drive === 'disk') dropAfterB3.push(bucket);
  else await dropBucket(b.s3c, bucket);
}

/** One measured copy: fresh bucket, run, verify, then drop the bucket unless asked to keep it. */
async function measuredCopy(b: Bench, tool: Tool, ds: Dataset, metric: (r: RunResult) => number, keep: boolean, cpu?: CpuSplit): Promise<number> {
  const bucket = await freshBucket(b.s3c, `${tool.name}`);
  try {
    const server0 = b.serverCpuMs();
    const r = await tool.copy(ds, bucket);
    const serverMs = minus(b.serverCpuMs(), server0);
    const got = await countObjects(b.s3c, bucket);
    if (got.count !== ds.files || got.bytes !== ds.bytes) {
      throw new Error(`${tool.name} copied ${got.count} objects / ${got.bytes} bytes, expected ${ds.files} / ${ds.bytes}`);
    }
    recordCpu(cpu, tool.name, ds.files, r.cpuMs, serverMs);
    if (keep) {
      const old = b.state.get(tool.name);
      if (old) await retire(b, old, true);
      b.state.set(tool.name, bucket);
    }
    return metric(r);
  } finally {
    if (!keep) await dropBucket(b.s3c, bucket);
  }
}

/**
 * keep: each run's bucket replaces the one its tool's previous run kept, so B3 finds the last tree
 * each tool wrote, however many rounds the time budget let B2 run (the replaced ones are dropped
 * after B3).
 */
function contenders(b: Bench, tools: Tool[], ds: Dataset, metric: (r: RunResult) => number, keep = false, cpu?: CpuSplit): Contender<number>[] {
  return tools.map((t) => ({ name: t.name, run: () => measuredCopy(b, t, ds, metric, keep, cpu) }));
}

function blocked(b: Bench, tools: Tool[]): Tool[] {
  return tools.filter((t) => (t.name === 'datasync' ? b.datasyncBlocked === null : t.name === 'aws-cli' ? peerAvailable('aws') : peerAvailable(t.name as 'rclone' | 's5cmd')));
}

/**
 * One extra, untimed datasync run under --cpu-prof; NODE_OPTIONS reaches the shard processes too.
 * It uses the quick-size dataset: the profile's shape is the same and the full bench keeps its budget.
 */
async function profileRun(b: Bench, scenario: 'B1' | 'B2', ds: Dataset): Promise<void> {
  if (b.datasyncBlocked) return;
  const dir = path.join(b.profileDir, scenario);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // Warm, as the timed runs are: from a cold cache, small-file reads would time as slow and go to
  // the thread pool (filesystem/sync-gate.ts), and the profile would show a path B2 does not take.
  warmPageCache(ds.dir);
  const bucket = await freshBucket(b.s3c, `prof-${scenario.toLowerCase()}`);
  try {
    await datasync(b.ctx, 'run', writeManifest(b.ctx, scenario, datasyncSpec(b, ds, bucket, scenario === 'B1' ? 'b1' : 'b2')), `--cpu-prof --cpu-prof-dir=${dir}`);
    b.log(`  profile written to ${dir}`);
  } catch (err) {
    b.log(`  profile run failed: ${(err as Error).message.slice(0, 300)}`);
  } finally {
    await retire(b, bucket, scenario === 'B2');
  }
}

/**
 * What measures the server's ceiling, decided once: warp where it is provisioned, else the raw SDK
 * loop. `name` for the ceiling row's note, `label` for its flags column.
 */
function ceilingTool(): { warp: boolean; name: string; label: (concurrency: number, size: string) => string } {
  return peerAvailable('warp')
    ? { warp: true, name: 'warp put', label: (concurrency, size) => `warp put (${concurrency} in flight, ${size} random objects, unsigned payload)` }
    : { warp: false, name: 'raw SDK PUT loop', label: (concurrency, size) => `raw SDK PUT loop (${concurrency} in flight, ${size} from memory; warp not provisioned)` };
}

/**
 * The server's own ceiling as a contender named 'ceiling': MinIO's warp (`put`, for WARP_SECONDS),
 * or where warp is not provisioned the raw SDK PUT loop (bench/lib/ceiling.ts: `objects` from
 * memory). `concurrency` PUTs in flight either way; neither clock counts process start.
 */
function ceilingContender(b: Bench, objects: number, sizeMiB: number, concurrency: number, metric: 'mibPerSec' | 'objectsPerSec', cpu?: CpuSplit, keepUntilB3 = false): Contender<number> {
  return {
    name: 'ceiling', run: async () => {
      const bucket = await freshBucket(b.s3c, 'ceiling');
      try {
        if (ceilingTool().warp) {
          const size = sizeMiB >= 1 ? `${sizeMiB}MiB` : `${Math.round(sizeMiB * 1024)}KiB`;
          return (await warpPut(b.ctx, bucket, size, concurrency, WARP_SECONDS))[metric];
        }
        const server0 = b.serverCpuMs();
        const r = await ceiling(b.ctx, objects, sizeMiB, concurrency, bucket);
        // MinIO's side only: the loop's own CPU sends from memory and reads no files, so it is not
        // comparable with the tools' (cpuRows shows none).
        recordCpu(cpu, 'ceiling', objects, null, minus(b.serverCpuMs(), server0));
        return (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<typeof metric, number>)[metric];
      } finally { await retire(b, bucket, keepUntilB3); }
    },
  };
}

/**
 * How long each warp run lasts: B2's DataSync runs take 15-25 s here and B1's 5-10 s; 10 s of
 * 16 KiB PUTs is over 10,000 objects, and of 256 MiB ones 8 in flight several times over.
 */
const WARP_SECONDS = 10;

/** Where the scenario's MinIO keeps its objects, for the rows' notes (run.ts puts B2 and B3 in memory where it can). */
function driveNote(b: Bench): string {
  return b.drive === 'memory' ? "MinIO's drive in memory (tmpfs), the same for every tool" : "MinIO's drive on disk (no tmpfs with room for one in memory)";
}

export async function b1(b: Bench): Promise<void> {
  const sizeMiB = b.quick ? 64 : 256;
  const ds = largeFiles(b.dataRoot, 8, sizeMiB);
  warmPageCache(ds.dir);
  b.log(`B1 large files: ${ds.label}`);
  const mibps = (r: RunResult) => ds.bytes / MiB / (r.wallMs / 1000);
  const rcloneFlags = '--transfers 8 --s3-upload-concurrency 4 --s3-chunk-size 16M';
  const s5Flags = '--numworkers 8 cp --concurrency 4 --part-size 32';
  const awsConc = 16;
  const tools: Tool[] = [
    datasyncTool(b, 'b1'),
    { name: 'rclone', flags: rcloneFlags, copy: (d, bucket) => rclone(b.ctx, ['copy', d.dir, `minio:${bucket}`, ...rcloneFlags.split(' ')]) },
    { name: 's5cmd', flags: s5Flags, copy: (d, bucket) => s5cmd(b.ctx, ['--numworkers', '8'], ['cp', '--concurrency', '4', '--part-size', '32', `${d.dir}/*`, `s3://${bucket}/`]) },
  ];
  if (!b.quick) tools.push({ name: 'aws-cli', flags: `s3 cp --recursive, max_concurrent_requests=${awsConc}, multipart_chunksize=64MB`, copy: (d, bucket) => awsCli(b.ctx, awsConc, ['s3', 'cp', d.dir, `s3://${bucket}/`, '--recursive']) });
  const cs: Contender<number>[] = contenders(b, blocked(b, tools), ds, mibps);
  // The server's ceiling: the same bytes from memory, 8 PUTs in flight.
  cs.push(ceilingContender(b, 8, sizeMiB, 8, 'mibPerSec'));
  const out = await alternate(cs, noisyRounds(b), b.log, b.pace);
  const ds1 = out.get('datasync') ?? blockedOutcome(b);
  const base = { scenario: 'B1 large files', metric: 'throughput', unit: 'MiB/s', dataset: ds.label, ratioOf: 'higher' as const };
  b.rows.push(row({ ...base, peer: 'rclone', peerFlags: rcloneFlags, datasyncFlags: flagsOf('b1'), target: '>= 1.2' }, ds1, out.get('rclone'), missing(b, 'rclone')));
  b.rows.push(row({ ...base, peer: 's5cmd', peerFlags: s5Flags, datasyncFlags: flagsOf('b1'), target: '>= 1.0' }, ds1, out.get('s5cmd'), missing(b, 's5cmd')));
  const tool = ceilingTool();
  const best = bestCeiling(out, ['rclone', 's5cmd', 'aws-cli'], tool.name);
  b.rows.push(row({ ...base, peer: 'MinIO ceiling', datasyncFlags: flagsOf('b1'), peerFlags: `best of: ${tool.label(8, `${sizeMiB} MiB`)} and the peers`, target: '>= 0.7' },
    ds1, best.outcome, best.note('MiB/s')));
  if (!b.quick) b.rows.push(row({ ...base, peer: 'aws-cli', peerFlags: tools.find((t) => t.name === 'aws-cli')?.flags ?? '', datasyncFlags: flagsOf('b1'), target: null }, ds1, out.get('aws-cli'), missing(b, 'aws')));
  await profileRun(b, 'B1', b.quick ? ds : largeFiles(b.dataRoot, 8, 64));
}

export async function b2(b: Bench): Promise<void> {
  const count = b.quick ? 5000 : 20000;
  const ds = smallFiles(b.dataRoot, count, 16);
  warmPageCache(ds.dir);
  b.log(`B2 small files: ${ds.label}`);
  const fps = (r: RunResult) => ds.files / (r.wallMs / 1000);
  const rcloneFlags = '--transfers 64 --checkers 64 --fast-list';
  const s5Flags = '--numworkers 256 cp';
  const tools: Tool[] = [
    datasyncTool(b, 'b2'),
    { name: 'rclone', flags: rcloneFlags, copy: (d, bucket) => rclone(b.ctx, ['copy', d.dir, `minio:${bucket}`, ...rcloneFlags.split(' ')]) },
    { name: 's5cmd', flags: s5Flags, copy: (d, bucket) => s5cmd(b.ctx, ['--numworkers', '256'], ['cp', `${d.dir}/*`, `s3://${bucket}/`]) },
  ];
  // aws-cli runs in B1 only: at a few hundred files/s it would spend a third of the 30-minute budget here.
  // The last round's buckets stay for B3, each tool facing the tree it wrote itself.
  // The server's ceiling for small objects: the same size, as many PUTs in flight as DataSync and rclone.
  const cpu: CpuSplit = new Map();
  const cs = [...contenders(b, blocked(b, tools), ds, fps, true, cpu), ceilingContender(b, count, 16 / 1024, 64, 'objectsPerSec', cpu, true)];
  const out = await alternate(cs, noisyRounds(b), b.log, b.pace);
  const ds2 = out.get('datasync') ?? blockedOutcome(b);
  const base = { scenario: 'B2 small files', metric: 'files per second', unit: 'files/s', dataset: ds.label, ratioOf: 'higher' as const };
  b.rows.push(row({ ...base, peer: 'rclone', peerFlags: rcloneFlags, datasyncFlags: flagsOf('b2'), target: '>= 1.5' }, ds2, out.get('rclone'), notes(driveNote(b), missing(b, 'rclone'))));
  b.rows.push(row({ ...base, peer: 's5cmd', peerFlags: s5Flags, datasyncFlags: flagsOf('b2'), target: '>= 1.0' }, ds2, out.get('s5cmd'), notes(driveNote(b), missing(b, 's5cmd'))));
  // No target of its own: it tells whether the rclone target is reachable on this server at all.
  const tool = ceilingTool();
  const best = bestCeiling(out, ['rclone', 's5cmd'], tool.name);
  const rcloneFps = out.get('rclone')?.samples.length ? median(out.get('rclone')!.samples) : null;
  const reach = best.value && rcloneFps ? `; 1.5 × rclone's median = ${(1.5 * rcloneFps).toFixed(0)} files/s = ${(1.5 * rcloneFps / best.value).toFixed(2)} × this ceiling` : '';
  b.rows.push(row({ ...base, peer: 'MinIO ceiling', datasyncFlags: flagsOf('b2'), peerFlags: `best of: ${tool.label(64, '16 KiB')} and the peers`, target: null },
    ds2, best.outcome, notes(best.note('files/s') + reach, driveNote(b))));
  b.rows.push(...cpuRows(b, cpu, base, ds2));
  await profileRun(b, 'B2', b.quick ? ds : smallFiles(b.dataRoot, 5000, 16));
  b3State.ds = ds;
}

/**
 * B2's CPU per file, DataSync's against each peer's, for the client and for MinIO. No target: they
 * tell whether a files/s ratio could move by DataSync's doing (its own CPU, or work it makes the
 * server do), or only by the server's, when client and server together fill the cores.
 */
function cpuRows(b: Bench, cpu: CpuSplit, base: { dataset: string }, files: Outcome<number>): ResultRow[] {
  const of = (name: string, side: 'client' | 'server'): Outcome<number> => ({ samples: cpu.get(name)?.[side] ?? [], errors: [] });
  const ds = cpu.get('datasync');
  const fps = files.samples.length ? median(files.samples) : null;
  // Two cores' worth of CPU time per file at DataSync's median rate, beside what client and server used.
  const used = ds?.client.length && ds.server.length && fps ? `; datasync's client + MinIO = ${(median(ds.client) + median(ds.server)).toFixed(2)} ms per file, of the ${(2 * 1000 / fps).toFixed(2)} ms two cores give per file at its median ${fps.toFixed(0)} files/s` : '';
  const ceil = cpu.get('ceiling')?.server.length ? `; MinIO under the raw SDK loop: ${median(cpu.get('ceiling')!.server).toFixed(2)} ms per file` : '';
  const rows: ResultRow[] = [];
  for (const peer of ['rclone', 's5cmd']) {
    const spec = { scenario: 'B2 CPU per file', unit: 'ms', dataset: base.dataset, ratioOf: 'lower' as const, peer, peerFlags: 'as in B2', datasyncFlags: flagsOf('b2'), target: null };
    rows.push(row({ ...spec, metric: 'client CPU per file' }, of('datasync', 'client'), of(peer, 'client'), `user + system time of each tool's process tree (GNU time)${missing(b, peer) ? `; ${missing(b, peer)}` : ''}`));
    rows.push(row({ ...spec, metric: 'MinIO CPU per file' }, of('datasync', 'server'), of(peer, 'server'), `MinIO's user + system time over each run (/proc), idle before it${used}${ceil}`));
  }
  return rows;
}

const b3State: { ds?: Dataset } = {};

export async function b3(b: Bench): Promise<void> {
  const ds = b3State.ds ?? smallFiles(b.dataRoot, b.quick ? 5000 : 20000, 16);
  b.log(`B3 nothing changed: ${ds.label} again`);
  const sec = (r: RunResult) => r.wallMs / 1000;
  // rclone's documented way to sync to S3 without a HEAD per object: --fast-list --checksum.
  const rcloneFlags = 'sync --checkers 64 --fast-list --checksum';
  const s5Flags = '--numworkers 256 sync (size and mtime)';
  const runners: Record<string, (bucket: string) => Promise<RunResult>> = {
    datasync: async (bucket) => (await datasync(b.ctx, 'run', writeManifest(b.ctx, 'b3', datasyncSpec(b, ds, bucket, 'b3', 'Sync')))).result,
    rclone: (bucket) => rclone(b.ctx, ['sync', ds.dir, `minio:${bucket}`, '--checkers', '64', '--fast-list', '--checksum']),
    s5cmd: (bucket) => s5cmd(b.ctx, ['--numworkers', '256'], ['sync', `${ds.dir}/`, `s3://${bucket}/`]),
  };
  const cs: Contender<number>[] = [];
  for (const [name, fn] of Object.entries(runners)) {
    const bucket = b.state.get(name);
    if (!bucket) continue; // that tool's B2 never completed; its row says so
    cs.push({
      name, run: async () => {
        const before = await countObjects(b.s3c, bucket);
        const r = await fn(bucket);
        const after = await countObjects(b.s3c, bucket);
        if (after.count !== before.count || after.count !== ds.files) throw new Error(`${name}: ${after.count} objects after a no-change sync, expected ${ds.files}`);
        return sec(r);
      },
    });
  }
  const out = await alternate(cs, noisyRounds(b), b.log, b.pace);
  const base = { scenario: 'B3 nothing changed', metric: 'time', unit: 's', dataset: ds.label, ratioOf: 'lower' as const };
  const ds3 = out.get('datasync') ?? blockedOutcome(b);
  const note = (n: string) => (b.state.get(n) ? missing(b, n) : `${n} has no B2 bucket to re-sync`);
  b.rows.push(row({ ...base, peer: 'rclone sync', peerFlags: rcloneFlags, datasyncFlags: `mode Sync, ${flagsOf('b3')}`, target: '<= 0.5' }, ds3, out.get('rclone'), notes(driveNote(b), note('rclone'))));
  b.rows.push(row({ ...base, peer: 's5cmd sync', peerFlags: s5Flags, datasyncFlags: `mode Sync, ${flagsOf('b3')}`, target: '<= 1.0' }, ds3, out.get('s5cmd'), notes(driveNote(b), note('s5cmd'))));
  for (const bucket of [...b.state.values(), ...dropAfterB3.splice(0)]) await dropBucket(b.s3c, bucket);
  b.state.clear();
}

function blockedOutcome(b: Bench): Outcome<number> {
  return { samples: [], errors: [b.datasyncBlocked ?? 'datasync did not run'] };
}

function notes(...parts: string[]): string {
  return parts.filter(Boolean).join('; ');
}

function missing(b: Bench, peer: string): string {
  const parts: string[] = [];
  if (b.datasyncBlocked) parts.push(`datasync not runnable: ${b.datasyncBlocked}`);
  if (peer !== 'datasync' && !peerAvailable(peer === 'aws-cli' ? 'aws' : (peer as 'rclone' | 's5cmd' | 'aws'))) parts.push(`${peer} not provisioned`);
  return parts.join('; ');
}
