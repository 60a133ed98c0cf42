// Which partitions a run considers and what happens to each file, in one place. Two forms of the
// same rules: `classifyPartitions` over a listing held in memory (pure), and `createPartitionFilter`
// for the streaming planner, which sees one entry at a time and asks the source once per partition
// whether its ready marker exists (a sorted listing may show the marker before or after the data).
import type { Backend } from '../backends/backend.ts';
import { hasCode } from '../errors.ts';
import type { PartitionMatch, PartitionRef } from './layout.ts';
import type { PartitionSpec } from './spec.ts';

/** ready: copy it; waiting: no ready marker yet; skipped: in `skip`; expired: older than the lookback. */
export type PartitionState = 'ready' | 'waiting' | 'skipped' | 'expired';

/**
 * What the planner does with one source file:
 * - copy: a file of a ready partition; the usual compare decides copy or skip;
 * - waiting / skipped / expired: the partition's state; the file is not planned;
 * - marker: the ready or success marker itself; never copied, the committer writes the
 *   destination marker last, so a marker at the destination always means "published";
 * - outside: the path is not inside any partition of the layout; not planned in a partitioned run.
 */
export type EntryDecision = 'copy' | Exclude<PartitionState, 'ready'> | 'marker' | 'outside';

export interface EntryVerdict {
  partition?: PartitionRef;
  decision: EntryDecision;
}

export interface ClassifiedPartition extends PartitionRef {
  state: PartitionState;
  /** Data files (markers excluded) seen in the listing. */
  files: number;
  bytes: number;
}

export interface PartitionClassification {
  /** Every partition seen, oldest first. */
  partitions: ClassifiedPartition[];
  /** Files outside the layout, which a partitioned run does not copy. */
  outside: number;
}

/** The state of a partition, given whether its ready marker exists. Skip wins over everything. */
export function partitionState(ref: PartitionRef, spec: PartitionSpec, nowMs: number, hasReadyMarker: boolean): PartitionState {
  if (spec.lookbackMs !== undefined && ref.endMs <= nowMs - spec.lookbackMs) return 'expired';
  if (spec.skip.has(ref.key)) return 'skipped';
  if (spec.readyMarker !== undefined && !hasReadyMarker) return 'waiting';
  return 'ready';
}

/** Markers sit directly in the partition directory; a `_SUCCESS` deeper down is ordinary data. */
export function isMarkerFile(match: PartitionMatch, spec: PartitionSpec): boolean {
  return match.rest === spec.readyMarker || match.rest === spec.successMarker;
}

/** True for the destination's success marker: the planner must never count it as an extra to delete. */
export function isDestinationMarker(path: string, spec: PartitionSpec): boolean {
  const m = spec.layout.match(path);
  return m !== undefined && m.rest === spec.successMarker;
}

export function classifyPartitions(
  listing: Iterable<{ path: string; size: number }>,
  spec: PartitionSpec,
  nowMs: number,
): PartitionClassification {
  const seen = new Map<string, { ref: PartitionRef; files: number; bytes: number; marker: boolean }>();
  let outside = 0;
  for (const entry of listing) {
    const m = spec.layout.match(entry.path);
    if (!m) { outside++; continue; }
    let p = seen.get(m.key);
    if (!p) {
      p = { ref: { key: m.key, startMs: m.startMs, endMs: m.endMs }, files: 0, bytes: 0, marker: false };
      seen.set(m.key, p);
    }
    if (m.rest === spec.readyMarker) p.marker = true;
    if (isMarkerFile(m, spec)) continue;
    p.files++;
    p.bytes += entry.size;
  }
  const partitions = [...seen.values()]
    .map(({ ref, files, bytes, marker }) => ({ ...ref, state: partitionState(ref, spec, nowMs, marker), files, bytes }))
    .sort(byStartThenKey);
  return { partitions, outside };
}

export function byStartThenKey(a: PartitionRef, b: PartitionRef): number {
  return a.startMs - b.startMs || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

export interface PartitionFilter {
  /** The verdict for one source entry. Memoized per partition: one readiness probe each. */
  decide(entry: { path: string }): Promise<EntryVerdict>;
  /** Partitions seen so far, by state, oldest first (for the report and status). */
  summary(): { ready: PartitionRef[]; waiting: PartitionRef[]; skipped: PartitionRef[] };
}

/** Resolves whether a partition's ready marker exists. */
export type ReadinessProbe = (partitionKey: string) => boolean | Promise<boolean>;

export function createPartitionFilter(spec: PartitionSpec, nowMs: number, isReady: ReadinessProbe): PartitionFilter {
  const states = new Map<string, { ref: PartitionRef; state: Promise<PartitionState> }>();
  const settled = new Map<string, { ref: PartitionRef; state: PartitionState }>();
  const stateOf = (m: PartitionMatch): Promise<PartitionState> => {
    let known = states.get(m.key);
    if (!known) {
      const ref: PartitionRef = { key: m.key, startMs: m.startMs, endMs: m.endMs };
      // Probe only partitions that could be copied: expired and skipped ones never need the marker.
      const cheap = partitionState(ref, spec, nowMs, true);
      const state = cheap !== 'ready' || spec.readyMarker === undefined
        ? Promise.resolve(cheap)
        : Promise.resolve(isReady(m.key)).then((ready) => partitionState(ref, spec, nowMs, ready));
      known = { ref, state: state.then((s) => { settled.set(m.key, { ref, state: s }); return s; }) };
      states.set(m.key, known);
    }
    return known.state;
  };
  return {
    async decide(entry) {
      const m = spec.layout.match(entry.path);
      if (!m) return { decision: 'outside' };
      const state = await stateOf(m);
      const partition: PartitionRef = { key: m.key, startMs: m.startMs, endMs: m.endMs };
      if (isMarkerFile(m, spec)) return { partition, decision: 'marker' };
      return { partition, decision: state === 'ready' ? 'copy' : state };
    },
    summary() {
      const all = [...settled.values()].sort((a, b) => byStartThenKey(a.ref, b.ref));
      const pick = (s: PartitionState) => all.filter((p) => p.state === s).map((p) => p.ref);
      return { ready: pick('ready'), waiting: pick('waiting'), skipped: pick('skipped') };
    },
  };
}

/** The usual readiness probe: stat `<partition>/<readyMarker>` at the source. */
export function readyMarkerProbe(source: Pick<Backend, 'stat'>, spec: PartitionSpec): ReadinessProbe {
  return async (key) => {
    if (spec.readyMarker === undefined) return true;
    try {
      await source.stat(`${key}/${spec.readyMarker}`);
      return true;
    } catch (err) {
      if (hasCode(err, 'NotFound')) return false;
      throw err;
    }
  };
}

/** Streams a listing through the filter, keeping order; the planner consumes what it needs. */
export async function* filterListing<E extends { path: string }>(
  listing: AsyncIterable<E> | Iterable<E>,
  filter: PartitionFilter,
): AsyncGenerator<{ entry: E; verdict: EntryVerdict }> {
  for await (const entry of listing) yield { entry, verdict: await filter.decide(entry) };
}
