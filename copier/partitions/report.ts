// The partition part of the run report and status: which partitions this run published, which wait
// for their ready marker, which were skipped, and the resulting watermark.
import type { RunReport } from '../../api/types.ts';
import type { PartitionRef } from './layout.ts';
import type { PartitionSpec } from './spec.ts';
import { computeWatermark } from './watermark.ts';

export interface PartitionRunFacts {
  /** Partitions in the window that were ready at the source (from the filter summary). */
  ready: readonly PartitionRef[];
  waiting: readonly PartitionRef[];
  skipped: readonly PartitionRef[];
  /** Ready partitions with at least one file that failed (not published this run). */
  failed: ReadonlySet<string>;
  /** Partitions whose success marker this run wrote (new, late files, or a missing marker). */
  published: readonly string[];
  previousWatermark?: string | undefined;
}

export function partitionReport(facts: PartitionRunFacts, spec: PartitionSpec): Pick<RunReport, 'partitions'> & { watermark?: string } {
  const outcomes = [
    ...facts.ready.map((p) => ({ ...p, outcome: facts.failed.has(p.key) ? 'failed' as const : 'published' as const })),
    ...facts.waiting.map((p) => ({ ...p, outcome: 'waiting' as const })),
    ...facts.skipped.map((p) => ({ ...p, outcome: 'skipped' as const })),
  ];
  const watermark = computeWatermark(outcomes, facts.previousWatermark, spec.layout);
  return {
    partitions: {
      published: [...facts.published],
      waiting: facts.waiting.map((p) => p.key),
      skipped: facts.skipped.map((p) => p.key),
    },
    ...(watermark === undefined ? {} : { watermark }),
  };
}
