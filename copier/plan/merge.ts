// Walks two sorted listings side by side (rclone's march): each path comes out once, as present on
// the source only, the destination only, or both. Memory is one run of entries per side, plus
// what each side lists ahead (LIST_AHEAD).
import { comparePaths, type Entry } from '../backends/backend.ts';
import { DataSyncError } from '../errors.ts';

export type Pair =
  | { path: string; src: Entry; dst?: undefined }
  | { path: string; src?: undefined; dst: Entry }
  | { path: string; src: Entry; dst: Entry };

/**
 * Entries each side may list ahead of the merge. Without it the two listings take turns: while an
 * object store's next page is on its way, the filesystem walk waits, and the other way round.
 * Two object-store pages (S3 lists 1,000 per page), so the next page is requested as soon as the
 * merge starts on the current one.
 */
export const LIST_AHEAD = 2000;

/** Entries of either side that take no part in the merge (DataSync's own state). */
export interface MergeSkip { source?: (e: Entry) => boolean; destination?: (e: Entry) => boolean }

/**
 * The merge in runs: listings come in runs of entries (listInBatches) and pairs go out in runs, so
 * the per-entry work is plain loops and the promises are per run. A listing of 20,000 paths went
 * through a dozen async hops per path (listing, read-ahead, merge, decisions), a fifth of a
 * no-change sync's CPU.
 */
export async function* mergeListings(src: AsyncIterable<Entry[]>, dst: AsyncIterable<Entry[]>, skip: MergeSkip = {}): AsyncGenerator<Pair[]> {
  // Skipping and the order check run inside the read-ahead, not as generators of their own.
  const a = readAhead(src, LIST_AHEAD, orderedSide('source', skip.source))[Symbol.asyncIterator]();
  const b = readAhead(dst, LIST_AHEAD, orderedSide('destination', skip.destination))[Symbol.asyncIterator]();
  // Both listings start before either is awaited: the destination's first requests go out while
  // the source's first directory is read, not after its first entry.
  const first = [a.next(), b.next()] as const;
  first[1].catch(() => {}); // a failing source is the error to report; the destination's waits its turn
  const x = await first[0];
  const y = await first[1];
  let xs: Entry[] = x.done ? [] : x.value;
  let ys: Entry[] = y.done ? [] : y.value;
  let xDone = x.done === true;
  let yDone = y.done === true;
  let i = 0;
  let j = 0;
  for (;;) {
    const out: Pair[] = [];
    while (i < xs.length && j < ys.length) {
      const s = xs[i]!;
      const d = ys[j]!;
      const c = comparePaths(s.path, d.path);
      if (c < 0) { out.push({ path: s.path, src: s }); i++; }
      else if (c > 0) { out.push({ path: d.path, dst: d }); j++; }
      else { out.push({ path: s.path, src: s, dst: d }); i++; j++; }
    }
    // One side's run is used up: the other side's entries can go out only once that side is done.
    if (xDone) while (j < ys.length) { const d = ys[j++]!; out.push({ path: d.path, dst: d }); }
    if (yDone) while (i < xs.length) { const s = xs[i++]!; out.push({ path: s.path, src: s }); }
    if (out.length) yield out;
    if (xDone && yDone) return;
    // The source's next run first, as before: its failure is the one reported.
    if (i >= xs.length && !xDone) {
      const n = await a.next();
      if (n.done) { xDone = true; xs = []; } else xs = n.value;
      i = 0;
    }
    if (j >= ys.length && !yDone) {
      const n = await b.next();
      if (n.done) { yDone = true; ys = []; } else ys = n.value;
      j = 0;
    }
  }
}

/**
 * Keeps an entry unless `skip` says otherwise, and checks the order: the merge is only correct on
 * sorted input; a backend that breaks the order is a bug, not data.
 */
function orderedSide(side: 'source' | 'destination', skip?: (e: Entry) => boolean): (e: Entry) => boolean {
  let prev: string | undefined;
  return (e) => {
    if (prev !== undefined && comparePaths(prev, e.path) >= 0) {
      throw new DataSyncError(`${side} listing is not in ascending UTF-8 order: '${prev}' then '${e.path}'`, { code: 'Internal', side: 'internal' });
    }
    prev = e.path;
    return !skip?.(e);
  };
}

/**
 * Pulls runs from `it` in the background, keeping up to `max` items buffered, and yields them in
 * order (those `keep` accepts, when given; never an empty run). An error of the source (or of
 * `keep`) surfaces at the position it happened, after the items before it; stopping early stops
 * the source.
 */
export async function* readAhead<T>(it: AsyncIterable<T[]>, max: number, keep?: (item: T) => boolean): AsyncGenerator<T[]> {
  const source = it[Symbol.asyncIterator]();
  const runs: T[][] = [];
  let buffered = 0;
  let ended = false;
  let failure: { err: unknown } | undefined;
  let stopped = false;
  let wakeConsumer: (() => void) | undefined;
  let wakePump: (() => void) | undefined;
  const pump = (async () => {
    try {
      while (!stopped) {
        if (buffered >= max) {
          await new Promise<void>((r) => { wakePump = r; });
          continue;
        }
        const n = await source.next();
        if (n.done) break;
        let run = n.value;
        if (keep) {
          const kept: T[] = [];
          try {
            for (const item of run) if (keep(item)) kept.push(item);
          } finally {
            run = kept; // what came before a throwing keep still goes out, ahead of its error
            if (run.length) { runs.push(run); buffered += run.length; wakeConsumer?.(); }
          }
          continue;
        }
        if (!run.length) continue;
        runs.push(run);
        buffered += run.length;
        wakeConsumer?.();
      }
    } catch (err) {
      failure = { err };
    } finally {
      ended = true;
      wakeConsumer?.();
    }
  })();
  try {
    for (;;) {
      const run = runs.shift();
      if (run) {
        buffered -= run.length;
        wakePump?.();
        wakePump = undefined;
        yield run;
        continue;
      }
      if (ended) {
        if (failure) throw failure.err;
        return;
      }
      await new Promise<void>((r) => { wakeConsumer = r; });
      wakeConsumer = undefined;
    }
  } finally {
    stopped = true;
    wakePump?.();
    await pump;
    await source.return?.(undefined)?.catch(() => {}); // a no-op on a source that ended or threw
  }
}
