// Waits for a server process to go idle before the next timed run. MinIO removes a dropped bucket's
// objects in the background (it renames the bucket into .minio.sys/tmp/.trash and deletes from
// there): for B2's 20,000 objects that took 2 CPU-seconds over about 4 s on this 2-core machine. Each
// run drops its bucket when it ends, so without this wait the next tool, whichever it is, shared the
// cores with that clean-up for the first seconds of its timed run.
import { readFileSync } from 'node:fs';

export interface SettleOptions {
  /** How often the process's CPU time is sampled. */
  intervalMs: number;
  /** CPU time (ms) per interval at or below which the interval counts as idle. */
  idleCpuMs: number;
  /** Idle intervals in a row that count as settled. */
  quietIntervals: number;
  /** Give up (and say so) after this long: a server that never idles must not stall the bench. */
  maxMs: number;
}

// Idle is at most 8% of a core for half a second: a bucket's clean-up ran at 50-60% of one without
// pause, so half a second below that means it is over, and the ~70 measured runs of the full bench
// pay half a second each, not more. 15 s covers the largest drop the bench makes (B2's 20,000
// objects took 4-8 s).
export const SETTLE_DEFAULTS: SettleOptions = { intervalMs: 250, idleCpuMs: 20, quietIntervals: 2, maxMs: 15_000 };

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on every Linux this runs on). */
const TICKS_PER_SECOND = 100;

/** User plus system CPU time of a process in ms, from /proc/<pid>/stat; undefined where there is no /proc or no such process. */
export function cpuMsOf(pid: number): number | undefined {
  let stat: string;
  try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return undefined; }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]); // field 14
  const stime = Number(fields[12]); // field 15
  return Number.isFinite(utime) && Number.isFinite(stime) ? ((utime + stime) * 1000) / TICKS_PER_SECOND : undefined;
}

export interface Settled {
  /** False when maxMs ran out first, or the process's CPU time cannot be read. */
  idle: boolean;
  waitedMs: number;
  /** CPU the process used while we waited. */
  cpuMs: number;
}

/** Resolves once `pid` has used at most idleCpuMs per interval for quietIntervals intervals in a row. */
export async function untilIdle(pid: number, opts: Partial<SettleOptions> = {}): Promise<Settled> {
  const o = { ...SETTLE_DEFAULTS, ...opts };
  const t0 = Date.now();
  const first = cpuMsOf(pid);
  if (first === undefined) return { idle: false, waitedMs: 0, cpuMs: 0 };
  let last = first;
  let quiet = 0;
  while (Date.now() - t0 < o.maxMs) {
    await new Promise((r) => setTimeout(r, o.intervalMs));
    const now = cpuMsOf(pid);
    if (now === undefined) return { idle: false, waitedMs: Date.now() - t0, cpuMs: last - first };
    quiet = now - last <= o.idleCpuMs ? quiet + 1 : 0;
    last = now;
    if (quiet >= o.quietIntervals) return { idle: true, waitedMs: Date.now() - t0, cpuMs: last - first };
  }
  return { idle: false, waitedMs: Date.now() - t0, cpuMs: last - first };
}
