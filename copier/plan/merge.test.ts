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

test('readAhead: same items in order, pulled ahead up to the limit, keep filters', async () => {
  let pulled = 0;
  async function* slowSource() {
    for (let i = 0; i < 50; i++) { pulled++; if (i % 7 === 0) await sleep(1); yield i; }
  }
  const it = readAhead(slowSource(), 10, (x) => x % 5 !== 0)[Symbol.asyncIterator]();
  const first = await it.next();
  assert.equal(first.value, 1);
  await sleep(30);
  assert.ok(pulled > 2 && pulled <= 2 + 10 + 5, `pulled ahead, within the limit: ${pulled}`);
  const rest: number[] = [];
  for (let n = await it.next(); !n.done; n = await it.next()) rest.push(n.value);
  assert.deepEqual([1, ...rest], Array.from({ length: 50 }, (_, i) => i).filter((x) => x % 5 !== 0));
});

test('readAhead: an error surfaces after the items before it; stopping early stops the source', async () => {
  async function* failing() { yield 1; yield 2; throw new Error('boom'); }
  const seen: number[] = [];
  await assert.rejects(async () => { for await (const x of readAhead(failing(), 100)) seen.push(x); }, /boom/);
  assert.deepEqual(seen, [1, 2]);

  let closed = false;
  async function* endless() { try { for (let i = 0; ; i++) yield i; } finally { closed = true; } }
  for await (const x of readAhead(endless(), 4)) if (x === 3) break;
  assert.ok(closed, 'the source was returned');
});

test('mergeListings: skips per side and refuses an unsorted side at the point it breaks', async () => {
  async function* from(xs: Entry[]) { yield* xs; }
  const pairs = await collect(mergeListings(from([e('.datasync/x'), e('a'), e('c')]), from([e('.datasync/y'), e('b'), e('c')]), {
    source: (x) => x.path.startsWith('.datasync/'), destination: (x) => x.path.startsWith('.datasync/'),
  }));
  assert.deepEqual(pairs.map((p) => `${p.path}:${p.src ? 's' : ''}${p.dst ? 'd' : ''}`), ['a:s', 'b:d', 'c:sd']);
  const seen: string[] = [];
  await assert.rejects(async () => { for await (const p of mergeListings(from([e('a'), e('c'), e('b')]), from([]))) seen.push(p.path); }, /source listing is not in ascending UTF-8 order: 'c' then 'b'/);
  assert.deepEqual(seen, ['a', 'c']);
});

test('mergeListings: the destination listing starts before the source has its first entry', async () => {
  // The source's first entry waits until the destination was asked for its own: a merge that
  // awaits the source first never gets there (the race below fails it instead of hanging).
  let dstAsked!: () => void;
  const asked = new Promise<void>((r) => { dstAsked = r; });
  async function* src() { await asked; yield e('a'); }
  async function* dst() { dstAsked(); yield e('b'); }
  const timeout = sleep(2000).then(() => { throw new Error('the destination listing had not started while the source waited'); });
  const pairs = await Promise.race([collect(mergeListings(src(), dst())), timeout]);
  assert.deepEqual(pairs.map((p) => p.path), ['a', 'b']);
});

test('mergeListings: a failing source is the error reported, while the destination fails too', async () => {
  async function* src(): AsyncGenerator<Entry> { await sleep(1); throw new Error('source gone'); }
  async function* dst(): AsyncGenerator<Entry> { await sleep(5); throw new Error('destination gone'); }
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
