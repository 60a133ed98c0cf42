// What every scenario gets from the harness, and the helpers that turn medians into rows.
import type { S3Client } from '@aws-sdk/client-s3';
import type { Ctx } from '../lib/tools.ts';
import { median, type Outcome, type Pace } from '../lib/stats.ts';
import { judge, type ResultRow } from '../lib/report.ts';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export interface Bench {
  ctx: Ctx;
  s3c: S3Client;
  /** Where datasets live (gitignored bench/data by default). */
  dataRoot: string;
  quick: boolean;
  rounds: number;
  log: (s: string) => void;
  rows: ResultRow[];
  /** Directory for .cpuprofile files of the profiling runs. */
  profileDir: string;
  /** Why datasync cannot run (CLI missing or failing its --help), or null when it can. */
  datasyncBlocked: string | null;
  /** What every comparison's rounds keep to: MinIO idle before each run, and the bench's time budget. */
  pace: Pace;
  /** MinIO's user plus system CPU time so far, in ms (the process `pace` settles); undefined where /proc cannot tell. */
  serverCpuMs: () => number | undefined;
  /** Where this scenario's MinIO keeps its objects (run.ts: B2 and B3 in memory where there is room). */
  drive: 'disk' | 'memory';
  /** Shared between B2 and B3: the bucket each tool filled last in B2. */
  state: Map<string, string>;
}

/**
 * Rounds for the scenarios whose spread between full runs was widest on this shared 2-core machine
 * (B1's medians moved by up to 0.3× of rclone's, B7's by 0.1×, B3's between 0.39× and 0.60× of
 * rclone's time, its single runs from 0.73 s to 1.2 s; B2's between 1.16× and 1.52× of rclone's
 * files/s on one machine, its single runs from 627 to 1,088 files/s): at least 5, so one disturbed
 * round cannot be the median. A B3 round is a few seconds, so two more cost little; two more B2
 * rounds cost about 4 minutes. Quick runs keep the requested count. On a slow day the bench's
 * time budget can cut them back to 3 (Pace.deadlineMs in ../lib/stats.ts).
 */
export function noisyRounds(b: Bench): number {
  return b.quick ? b.rounds : Math.max(b.rounds, 5);
}

export interface RowSpec {
  scenario: string;
  metric: string;
  unit: string;
  peer: string;
  peerFlags: string;
  datasyncFlags?: string;
  dataset: string;
  target: string | null;
  /** 'higher': ratio = datasync/peer, more is better. 'lower': ratio = datasync/peer, less is better. */
  ratioOf: 'higher' | 'lower';
  /** 'datasync': the target bounds datasync's own value (B4's 300 MiB), not the ratio. */
  targetOn?: 'ratio' | 'datasync';
}

export function row(spec: RowSpec, ds: Outcome<number> | undefined, peer: Outcome<number> | undefined, extraNotes = ''): ResultRow {
  const d = ds && ds.samples.length ? median(ds.samples) : null;
  const p = peer && peer.samples.length ? median(peer.samples) : null;
  const ratio = d !== null && p !== null && p !== 0 ? d / p : null;
  const notes = [
    extraNotes,
    ds && ds.samples.length < (ds.samples.length + ds.errors.length) ? `datasync failed ${ds.errors.length}×: ${ds.errors[0]?.slice(0, 200)}` : '',
    peer && peer.errors.length ? `${spec.peer} failed ${peer.errors.length}×: ${peer.errors[0]?.slice(0, 200)}` : '',
  ].filter(Boolean).join('; ');
  return {
    scenario: spec.scenario, metric: spec.metric, unit: spec.unit, datasync: d, peer: spec.peer, peerValue: p, ratio,
    target: spec.target, met: judge(spec.targetOn === 'datasync' ? d : ratio, spec.target), peerFlags: spec.peerFlags,
    ...(spec.datasyncFlags ? { datasyncFlags: spec.datasyncFlags } : {}), dataset: spec.dataset,
    runs: { datasync: ds?.samples ?? [], peer: peer?.samples ?? [] }, notes,
  };
}

/** Reads every file once so the first timed tool does not pay for a cold page cache alone. */
export function warmPageCache(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) readFileSync(path.join(e.parentPath, e.name));
  }
}

export function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n += statSync(path.join(e.parentPath, e.name)).size;
  return n;
}
