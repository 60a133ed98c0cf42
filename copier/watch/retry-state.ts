// Retry accounting that survives between runs, for runs that are separate processes or Jobs (the
// operator's watch passes): the failing paths are kept in a small JSON file at the state location,
// and each commit reports how many earlier failures it retried and how many recovered. The CLI's
// in-process watch loop keeps the same counts in memory (retry-ledger.ts).
import { Readable } from 'node:stream';
import type { Backend } from '../backends/backend.ts';
import type { RunReport } from '../../api/types.ts';
import { readJson } from '../backends/support/read-small.ts';

export const RETRY_STATE_FILE = 'retries.json';
/** Bounded like the report's failedFiles: beyond this, counts are still right but paths are dropped. */
const MAX_TRACKED = 10_000;

export interface RetryState { failing: Record<string, number>; totalRetried: number; totalRecovered: number }

/** Counts for the report: earlier failures this run planned again, and how many now succeeded. */
export interface RunRetries { filesRetried: number; filesRecovered: number; filesStillFailing: number; totalRetried: number; totalRecovered: number }

/** Pure: the next state and this run's counts. Every earlier failure is planned again (fresh listing). */
export function nextRetryState(prev: RetryState, failedPaths: readonly string[]): { state: RetryState; counts: RunRetries } {
  const now = new Set(failedPaths);
  const earlier = Object.keys(prev.failing);
  const recovered = earlier.filter((p) => !now.has(p)).length;
  const failing: Record<string, number> = {};
  let n = 0;
  for (const p of now) {
    if (n++ >= MAX_TRACKED) break;
    failing[p] = (prev.failing[p] ?? 0) + 1;
  }
  const state = { failing, totalRetried: prev.totalRetried + earlier.length, totalRecovered: prev.totalRecovered + recovered };
  return { state, counts: { filesRetried: earlier.length, filesRecovered: recovered, filesStillFailing: now.size, totalRetried: state.totalRetried, totalRecovered: state.totalRecovered } };
}

/** The counts so far: none when the file is absent or unreadable as JSON. */
export async function readRetryState(state: Backend, statePrefix: string): Promise<RetryState> {
  try {
    const stored = await readJson<RetryState>(state, `${statePrefix}${RETRY_STATE_FILE}`);
    if (stored) return stored;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
  }
  return { failing: {}, totalRetried: 0, totalRecovered: 0 };
}

/**
 * Folds this run's failures into the stored counts. `before` is readRetryState's answer when the
 * caller asked for it earlier (the commit asks at its start, so the read is not one more round
 * trip at its end); the counts are written only by the commit, one run at a time.
 */
export async function recordRunRetries(state: Backend, statePrefix: string, report: Pick<RunReport, 'failedFiles'>, before?: Promise<RetryState>): Promise<RunRetries> {
  const file = `${statePrefix}${RETRY_STATE_FILE}`;
  const prev = await (before ?? readRetryState(state, statePrefix));
  const { state: next, counts } = nextRetryState(prev, report.failedFiles.map((f) => f.path));
  // Nothing failed before or now: leave the file alone (no write per idle pass).
  if (Object.keys(prev.failing).length || Object.keys(next.failing).length) {
    const body = Buffer.from(JSON.stringify(next));
    await state.write(file, Readable.from([body]), { size: body.length, contentType: 'application/json' });
  }
  return counts;
}
