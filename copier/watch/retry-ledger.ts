// Failed uploads are not retried inside a pass beyond the per-file attempts: the next pass plans
// them again because they are still at the source and not (verified) at the destination. The
// ledger remembers what failed, so each pass can report how many files were retries, how many of
// those succeeded, and how many are still failing, and how often each one has failed.
import type { FailedFile } from '../../api/types.ts';

export interface RetryCounts {
  /** Files that had failed in an earlier pass and were attempted again in this pass. */
  filesRetried: number;
  /** Of those, the ones that succeeded now. */
  filesRecovered: number;
  /** Files failing after this pass (new failures included). */
  filesStillFailing: number;
  /** Over the whole watch: retries attempted and recovered. */
  totalRetried: number;
  totalRecovered: number;
}

export interface RetryLedger {
  /**
   * Records one pass. `failed` are the files that failed in it; `attempted` says whether a path was
   * part of this pass (planned), so a file that vanished from the source is dropped, not counted.
   */
  recordPass(failed: readonly FailedFile[], attempted: (path: string) => boolean): RetryCounts;
  /** Counts without recording a pass (for a pass that threw before copying anything). */
  snapshot(): RetryCounts;
  failures(path: string): number;
  pending(): string[];
}

export function createRetryLedger(): RetryLedger {
  const failing = new Map<string, number>();
  let totalRetried = 0;
  let totalRecovered = 0;
  return {
    recordPass(failed, attempted) {
      const nowFailing = new Set(failed.map((f) => f.path));
      let retried = 0;
      let recovered = 0;
      for (const [path] of failing) {
        if (!attempted(path) && !nowFailing.has(path)) { failing.delete(path); continue; }
        retried++;
        if (!nowFailing.has(path)) { recovered++; failing.delete(path); }
      }
      for (const path of nowFailing) failing.set(path, (failing.get(path) ?? 0) + 1);
      totalRetried += retried;
      totalRecovered += recovered;
      return { filesRetried: retried, filesRecovered: recovered, filesStillFailing: failing.size, totalRetried, totalRecovered };
    },
    snapshot: () => ({ filesRetried: 0, filesRecovered: 0, filesStillFailing: failing.size, totalRetried, totalRecovered }),
    failures: (path) => failing.get(path) ?? 0,
    pending: () => [...failing.keys()].sort(),
  };
}
