import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { mergeListings, readAhead } from './merge.ts';
import type { Entry } from '../backends/backend.ts';

const e = (path: string): Entry => ({ path, size: 1, mtimeMs: 0 });

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Items in runs of `size`. */
async function* runs<T>(xs: T[], size = 1): AsyncGenerator<T[]> { for (let i = 0; i < xs.length; i += size) yield xs.slice(i, i + size); }
const flat = async <T>(it: AsyncIterable<T[]>): Promise<T[]> => (await collect(it)).flat();

test('readAhead: same items in order, pulled ahead up to the limit, keep filters, no empty runs', async () => {
  let pulled = 0;
  async function* slowSource() {
    for (let i = 0; i < 50; i += 2) { pulled += 2; if (i % 7 === 0) await sleep(1); yield [i, i + 1]; }
  }
  const it = readAhead(slowSource(), 10)[Symbol.asyncIterator]();
  const first = await it.next();
  assert.deepEqual(first.value, [0, 1]);
  await sleep(30);
  // the run taken, then up to the limit buffered, plus the run that crossed it
  assert.ok(pulled > 2 && pulled <= 2 + 10 + 2, `pulled ahead, within the limit: ${pulled}`);
  const rest: number[][] = [];
  for (let n = await it.next(); !n.done; n = await it.next()) rest.push(n.value);
  assert.deepEqual([0, 1, ...rest.flat()], Array.from({ length: 50 }, (_, i) => i));

  const kept = await collect(readAhead(slowSource(), 10, (x) => x % 5 !== 0 && x !== 2 && x !== 3));
  assert.ok(kept.every((r) => r.length > 0), 'a run keep emptied (2, 3) is not yielded');
  assert.deepEqual(kept.flat(), Array.from({ length: 50 }, (_, i) => i).filter((x) => x % 5 !== 0 && x !== 2 && x !== 3));
});

test('readAhead: an error surfaces after the items before it; stopping early stops the source', async () => {
  async function* failing() { yield [1]; yield [2]; throw new Error('boom'); }
  const seen: number[] = [];
  await assert.rejects(async () => { for await (const x of readAhead(failing(), 100)) seen.push(...x); }, /boom/);
  assert.deepEqual(seen, [1, 2]);
  // keep throwing mid-run: the run's items before it still come out, then the error
  const kept: number[] = [];
  await assert.rejects(async () => { for await (const x of readAhead(runs([1, 2, 3, 4], 4), 100, (v) => { if (v === 3) throw new Error('bad 3'); return true; })) kept.push(...x); }, /bad 3/);
  assert.deepEqual(kept, [1, 2]);

  let closed = false;
  async function* endless() { try { for (let i = 0; ; i++) yield [i]; } finally { closed = true; } }
  for await (const x of readAhead(endless(), 4)) if (x[0] === 3) break;
  assert.ok(closed, 'the source was returned');
});

test('mergeListings: pairs come out in path order whatever the runs of either side', async () => {
  const src = ['a', 'b/1', 'b/2', 'c', 'e', 'f', 'g'].map(e);
  const dst = ['b/1', 'c', 'd', 'f', 'h', 'i'].map(e);
  const want = ['a:s', 'b/1:sd', 'b/2:s', 'c:sd', 'd:d', 'e:s', 'f:sd', 'g:s', 'h:d', 'i:d'];
  for (const [x, y] of [[1, 1], [1, 4], [3, 2], [10, 10], [2, 1]] as const) {
    const pairs = await flat(mergeListings(runs(src, x), runs(dst, y)));
    assert.deepEqual(pairs.map((p) => `${p.path}:${p.src ? 's' : ''}${p.dst ? 'd' : ''}`), want, `runs of ${x} and ${y}`);
  }
  assert.deepEqual((await flat(mergeListings(runs([], 1), runs(dst, 2)))).map((p) => p.path), dst.map((d) => d.path));
  assert.deepEqual((await flat(mergeListings(runs(src, 3), runs([], 1)))).map((p) => p.path), src.map((d) => d.path));
});

test('mergeListings: skips per side and refuses an unsorted side at the point it breaks', async () => {
  const pairs = await flat(mergeListings(runs([e('.datasync/x'), e('a'), e('c')]), runs([e('.datasync/y'), e('b'), e('c')]), {
    source: (x) => x.path.startsWith('.datasync/'), destination: (x) => x.path.startsWith('.datasync/'),
  }));
  assert.deepEqual(pairs.map((p) => `${p.path}:${p.src ? 's' : ''}${p.dst ? 'd' : ''}`), ['a:s', 'b:d', 'c:sd']);
  const seen: string[] = [];
  await assert.rejects(async () => { for await (const r of mergeListings(runs([e('a'), e('c'), e('b')], 3), runs([]))) seen.push(...r.map((p) => p.path)); }, /source listing is not in ascending UTF-8 order: 'c' then 'b'/);
  assert.deepEqual(seen, ['a', 'c']);
});

test('mergeListings: the destination listing starts before the source has its first entry', async () => {
  // The source's first entry waits until the destination was asked for its own: a merge that
  // awaits the source first never gets there (the race below fails it instead of hanging).
  let dstAsked!: () => void;
  const asked = new Promise<void>((r) => { dstAsked = r; });
  async function* src() { await asked; yield [e('a')]; }
  async function* dst() { dstAsked(); yield [e('b')]; }
  const timeout = sleep(2000).then(() => { throw new Error('the destination listing had not started while the source waited'); });
  const pairs = await Promise.race([flat(mergeListings(src(), dst())), timeout]);
  assert.deepEqual(pairs.map((p) => p.path), ['a', 'b']);
});

test('mergeListings: a failing source is the error reported, while the destination fails too', async () => {
  async function* src(): AsyncGenerator<Entry[]> { await sleep(1); throw new Error('source gone'); }
  async function* dst(): AsyncGenerator<Entry[]> { await sleep(5); throw new Error('destination gone'); }
  let unhandled: unknown;
  const onUnhandled = (err: unknown) => { unhandled = err; };
  process.on('unhandledRejection', onUnhandled);
  try {
    await assert.rejects(collect(mergeListings(src(), dst())), /source gone/);
    await sleep(20); // the destination's failure has happened by now
    assert.equal(unhandled, undefined, `unhandled rejection: ${String(unhandled)}`);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
