// Walks two sorted listings side by side (rclone's march): each path comes out once, as present on
// the source only, the destination only, or both. Memory is one entry per side.
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

export async function* mergeListings(src: AsyncIterable<Entry>, dst: AsyncIterable<Entry>, skip: MergeSkip = {}): AsyncGenerator<Pair> {
  // Skipping and the order check run inside the read-ahead, not as generators of their own: every
  // generator layer costs a few promises per entry, and listings run to millions of entries.
  const a = readAhead(src, LIST_AHEAD, orderedSide('source', skip.source))[Symbol.asyncIterator]();
  const b = readAhead(dst, LIST_AHEAD, orderedSide('destination', skip.destination))[Symbol.asyncIterator]();
  // Both listings start before either is awaited: the destination's first requests go out while
  // the source's first directory is read, not after its first entry.
  const first = [a.next(), b.next()] as const;
  first[1].catch(() => {}); // a failing source is the error to report; the destination's waits its turn
  let x = await first[0];
  let y = await first[1];
  while (!x.done || !y.done) {
    const c = x.done ? 1 : y.done ? -1 : comparePaths(x.value.path, y.value.path);
    if (c < 0) {
      yield { path: x.value!.path, src: x.value! };
      x = await a.next();
    } else if (c > 0) {
      yield { path: y.value!.path, dst: y.value! };
      y = await b.next();
    } else {
      yield { path: x.value!.path, src: x.value!, dst: y.value! };
      x = await a.next();
      y = await b.next();
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
 * Pulls from `it` in the background, keeping up to `max` items buffered, and yields them in order
 * (those `keep` accepts, when given). An error of the source (or of `keep`) surfaces at the
 * position it happened; stopping early stops the source.
 */
export async function* readAhead<T>(it: AsyncIterable<T>, max: number, keep?: (item: T) => boolean): AsyncGenerator<T> {
  const source = it[Symbol.asyncIterator]();
  const buffer: T[] = [];
  let head = 0; // buffer[head..] are unread: consumed items are dropped in chunks, not shifted one by one
  let ended = false;
  let failure: { err: unknown } | undefined;
  let stopped = false;
  let wakeConsumer: (() => void) | undefined;
  let wakePump: (() => void) | undefined;
  const pump = (async () => {
    try {
      while (!stopped) {
        if (buffer.length - head >= max) {
          await new Promise<void>((r) => { wakePump = r; });
          continue;
        }
        const n = await source.next();
        if (n.done) break;
        if (keep && !keep(n.value)) continue; // may throw: surfaced at this position
        buffer.push(n.value);
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
      if (head < buffer.length) {
        const v = buffer[head]!;
        buffer[head++] = undefined as T; // let it be collected
        if (head >= 1024 && head * 2 >= buffer.length) { buffer.splice(0, head); head = 0; }
        wakePump?.();
        wakePump = undefined;
        yield v;
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
