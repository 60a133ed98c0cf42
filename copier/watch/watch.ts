// Watch mode: repeated plan → copy → commit passes every `spec.watch.interval`. Each pass is an
// ordinary run (its own run id, report and notification); the loop adds the timing, the retry
// accounting across passes, and a clean stop. A pass that throws is reported and the loop goes
// on: a landing directory must keep draining even after a bad pass.
import type { RunReport } from '../../api/types.ts';
import { systemClock, type Clock } from './clock.ts';
import { createRetryLedger, type RetryCounts } from './retry-ledger.ts';
import { nextPassStart } from './schedule.ts';

export interface PassContext {
  passNumber: number;
  /** The (possibly simulated) time the pass starts; the planner's minAge is measured against it. */
  nowMs: number;
  signal: AbortSignal;
}

export interface PassOutcome {
  report: RunReport;
  /**
   * Whether a path was planned in this pass (for retry accounting). Defaults to true: each pass
   * lists the source afresh, so a file that failed before is planned again while it is there.
   */
  attempted?: (path: string) => boolean;
}

export interface WatchPassSummary {
  passNumber: number;
  startMs: number;
  endMs: number;
  report?: RunReport;
  /** Set when the pass itself threw (listing failed, config error, ...). */
  error?: string;
  retries: RetryCounts;
}

export interface WatchOptions {
  intervalMs: number;
  pass: (ctx: PassContext) => Promise<PassOutcome>;
  clock?: Clock;
  signal?: AbortSignal;
  /** Stop after this many passes (tests, `--passes N`); undefined runs until the signal aborts. */
  maxPasses?: number;
  /** Stop early when a pass's error is of a kind retrying cannot fix (config errors). */
  isFatal?: (err: unknown) => boolean;
  onPass?: (summary: WatchPassSummary) => void | Promise<void>;
}

export interface WatchResult {
  passes: number;
  stoppedBy: 'signal' | 'maxPasses' | 'fatal';
  fatalError?: string;
  totals: { filesCopied: number; bytesCopied: number; filesDeleted: number; filesFailedLastPass: number; totalRetried: number; totalRecovered: number };
}

export async function runWatch(opts: WatchOptions): Promise<WatchResult> {
  const clock = opts.clock ?? systemClock;
  const signal = opts.signal ?? new AbortController().signal;
  const ledger = createRetryLedger();
  const totals = { filesCopied: 0, bytesCopied: 0, filesDeleted: 0, filesFailedLastPass: 0, totalRetried: 0, totalRecovered: 0 };
  const firstStart = clock.now();
  let passes = 0;
  while (!signal.aborted && (opts.maxPasses === undefined || passes < opts.maxPasses)) {
    passes++;
    const startMs = clock.now();
    let summary: WatchPassSummary;
    try {
      const outcome = await opts.pass({ passNumber: passes, nowMs: startMs, signal });
      const failed = outcome.report.failedFiles;
      // Every pass re-lists the source, so by default each earlier failure was planned again.
      const retries = ledger.recordPass(failed, outcome.attempted ?? (() => true));
      totals.filesCopied += outcome.report.filesCopied;
      totals.bytesCopied += outcome.report.bytesCopied;
      totals.filesDeleted += outcome.report.filesDeleted;
      totals.filesFailedLastPass = outcome.report.filesFailed;
      summary = { passNumber: passes, startMs, endMs: clock.now(), report: outcome.report, retries };
    } catch (err) {
      // Nothing was attempted, so earlier failures stay pending for the next pass.
      const retries = ledger.snapshot();
      summary = { passNumber: passes, startMs, endMs: clock.now(), error: (err as Error)?.message ?? String(err), retries };
      if (opts.isFatal?.(err)) {
        await opts.onPass?.(summary);
        return { passes, stoppedBy: 'fatal', fatalError: summary.error ?? '', totals: { ...totals, totalRetried: retries.totalRetried, totalRecovered: retries.totalRecovered } };
      }
    }
    totals.totalRetried = summary.retries.totalRetried;
    totals.totalRecovered = summary.retries.totalRecovered;
    await opts.onPass?.(summary);
    if (opts.maxPasses !== undefined && passes >= opts.maxPasses) break;
    const wakeAt = nextPassStart(firstStart, opts.intervalMs, startMs, clock.now());
    await clock.sleep(wakeAt - clock.now(), signal);
  }
  return { passes, stoppedBy: signal.aborted ? 'signal' : 'maxPasses', totals };
}
