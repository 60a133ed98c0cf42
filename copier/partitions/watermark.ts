// The watermark is the newest partition up to which everything the run is responsible for is
// published: it never passes a partition that is still waiting for its ready marker or that had a
// failed file, so "watermark = P" lets a consumer process everything up to P. Skipped partitions
// do not hold it back (they are excluded on purpose), and it never moves backwards.
import type { PartitionLayout, PartitionRef } from './layout.ts';
import { byStartThenKey } from './classify.ts';

export type PartitionOutcome = 'published' | 'waiting' | 'failed' | 'skipped';

export function computeWatermark(
  partitions: ReadonlyArray<PartitionRef & { outcome: PartitionOutcome }>,
  previous: string | undefined,
  layout: PartitionLayout,
): string | undefined {
  let candidate: PartitionRef | undefined;
  for (const p of [...partitions].sort(byStartThenKey)) {
    if (p.outcome === 'skipped') continue;
    if (p.outcome !== 'published') break;
    candidate = p;
  }
  const prev = previous === undefined ? undefined : layout.parseKey(previous);
  if (!candidate) return prev?.key ?? previous;
  if (prev && byStartThenKey(prev, candidate) > 0) return prev.key;
  return candidate.key;
}
