// `datasync run` with spec.watch: passes every interval until stopped (SIGINT/SIGTERM finish the
// current pass, then exit) or until --passes N. Each pass is an ordinary local run with its own run
// id and trigger Watch; each pass's report is printed as one JSON line, so a supervisor (or a test)
// can follow along. Runs the real engine through the function it is given, so this file depends on
// no engine module.
import type { DataSyncSpec, RunReport } from '../../api/types.ts';
import { parseDurationMs } from '../partitions/duration.ts';
import { asDataSyncError } from '../errors.ts';
import { runWatch, type WatchPassSummary, type WatchResult } from './watch.ts';
import { systemClock, type Clock } from './clock.ts';

export interface WatchLocallyOptions {
  spec: DataSyncSpec;
  /** Runs one pass: plan → copy → commit with the given run id and "as of" time. */
  runPass: (pass: { runId: string; asOfMs: number; passNumber: number }) => Promise<RunReport>;
  newRunId: (at: Date) => string;
  maxPasses?: number;
  clock?: Clock;
  signal?: AbortSignal;
  /** Where each pass's line goes (stdout in the CLI). */
  emit?: (line: string) => void;
  /** Called after each pass (notifications). */
  afterPass?: (report: RunReport) => Promise<void>;
}

export interface WatchPassLine {
  pass: number;
  retries: WatchPassSummary['retries'];
  report?: RunReport;
  error?: string;
}

export async function watchLocally(opts: WatchLocallyOptions): Promise<WatchResult> {
  if (!opts.spec.watch) throw new Error('internal: watchLocally needs spec.watch');
  const intervalMs = parseDurationMs(opts.spec.watch.interval, 'watch.interval');
  const clock = opts.clock ?? systemClock;
  return runWatch({
    intervalMs,
    clock,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.maxPasses === undefined ? {} : { maxPasses: opts.maxPasses }),
    isFatal: (err) => asDataSyncError(err)?.side === 'config',
    pass: async ({ passNumber, nowMs }) => {
      const report = await opts.runPass({ runId: opts.newRunId(new Date(nowMs)), asOfMs: nowMs, passNumber });
      await opts.afterPass?.(report);
      return { report };
    },
    onPass: (s) => {
      const line: WatchPassLine = { pass: s.passNumber, retries: s.retries, ...(s.report ? { report: s.report } : {}), ...(s.error ? { error: s.error } : {}) };
      opts.emit?.(JSON.stringify(line));
    },
  });
}

/** An AbortSignal that fires on SIGINT/SIGTERM: the current pass finishes, then the loop stops. */
export function stopOnSignals(): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return { signal: ac.signal, dispose: () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); } };
}
