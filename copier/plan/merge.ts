// Walks two sorted listings side by side (rclone's march): each path comes out once, as present on
// the source only, the destination only, or both. Memory is one entry per side.
import { comparePaths, type Entry } from '../backends/backend.ts';
import { DataSyncError } from '../errors.ts';

export type Pair =
  | { path: string; src: Entry; dst?: undefined }
  | { path: string; src?: undefined; dst: Entry }
  | { path: string; src: Entry; dst: Entry };

export async function* mergeListings(src: AsyncIterable<Entry>, dst: AsyncIterable<Entry>): AsyncGenerator<Pair> {
  const a = ordered(src, 'source')[Symbol.asyncIterator]();
  const b = ordered(dst, 'destination')[Symbol.asyncIterator]();
  let x = await a.next();
  let y = await b.next();
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

/** The merge is only correct on sorted input; a backend that breaks the order is a bug, not data. */
async function* ordered(it: AsyncIterable<Entry>, side: 'source' | 'destination'): AsyncGenerator<Entry> {
  let prev: string | undefined;
  for await (const e of it) {
    if (prev !== undefined && comparePaths(prev, e.path) >= 0) {
      throw new DataSyncError(`${side} listing is not in ascending UTF-8 order: '${prev}' then '${e.path}'`, { code: 'Internal', side: 'internal' });
    }
    prev = e.path;
    yield e;
  }
}
