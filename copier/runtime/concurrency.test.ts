import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { forEachPulled, mapOrdered, mapOrderedRuns } from './concurrency.ts';

function gauge() {
  let now = 0;
  let peak = 0;
  return {
    get peak() { return peak; },
    async run<T>(ms: number, v: T): Promise<T> {
      peak = Math.max(peak, ++now);
      try { await sleep(ms); return v; } finally { now--; }
    },
  };
}

test('mapOrdered keeps input order while later calls finish first, and caps calls in flight', async () => {
  const g = gauge();
  const delays = [30, 5, 20, 1, 15, 2, 25, 3, 10, 4];
  const out: number[] = [];
  for await (const v of mapOrdered(delays.keys(), 4, (i) => g.run(delays[i]!, i))) out.push(v);
  assert.deepEqual(out, [...delays.keys()]);
  assert.equal(g.peak, 4);
});

test('mapOrdered surfaces a failure at its turn, after the results before it', async () => {
  const out: number[] = [];
  await assert.rejects(async () => {
    for await (const v of mapOrdered([1, 2, 3, 4], 3, async (i) => { if (i === 3) throw new Error('boom 3'); await sleep(5); return i; })) out.push(v);
  }, /boom 3/);
  assert.deepEqual(out, [1, 2]);
});

test('mapOrderedRuns: runs of immediate answers go out whole; with calls in flight, input order and the cap hold', async () => {
  async function* runs(...rs: number[][]) { yield* rs; }
  const immediate = [];
  for await (const r of mapOrderedRuns(runs([1, 2, 3], [4, 5]), 4, (i) => i * 10)) immediate.push(r);
  assert.deepEqual(immediate, [[10, 20, 30], [40, 50]]);

  const g = gauge();
  // odd items wait, even ones answer at once: the even ones still come out in their place
  const delays = [30, 0, 20, 0, 15, 0, 25, 3, 10, 0, 12, 0];
  const out: number[] = [];
  const fn = (i: number) => (delays[i] === 0 ? i : g.run(delays[i]!, i));
  for await (const r of mapOrderedRuns(runs([0, 1, 2, 3, 4], [5, 6, 7], [8, 9, 10, 11]), 3, fn)) out.push(...r);
  assert.deepEqual(out, [...delays.keys()]);
  assert.equal(g.peak, 3);

  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const r of mapOrderedRuns(runs([1, 2], [3, 4]), 3, async (i) => { if (i === 3) throw new Error('boom 3'); await sleep(5); return i; })) seen.push(...r);
  }, /boom 3/);
  assert.deepEqual(seen, [1, 2]);
});

test('forEachPulled runs every item of an async iterable with exactly `limit` in flight', async () => {
  const g = gauge();
  async function* items() { for (let i = 0; i < 40; i++) yield i; }
  const seen: number[] = [];
  await forEachPulled(items(), 6, async (i) => { await g.run(1 + (i * 7) % 5, i); seen.push(i); });
  assert.deepEqual(seen.sort((a, b) => a - b), [...Array(40).keys()]);
  assert.equal(g.peak, 6);
});

test('forEachPulled: the first failure stops the pulling, waits for the calls in flight, closes the iterator and is thrown', async () => {
  let pulled = 0;
  let closed = false;
  async function* items() {
    try { for (let i = 0; i < 1000; i++) { pulled++; yield i; } } finally { closed = true; }
  }
  let inFlight = 0;
  let settledAfterFailure = 0;
  let failed = false;
  await assert.rejects(forEachPulled(items(), 4, async (i) => {
    inFlight++;
    try {
      await sleep(i === 10 ? 1 : 5);
      if (i === 10) { failed = true; throw new Error('boom 10'); }
      if (failed) settledAfterFailure++;
    } finally { inFlight--; }
  }), /boom 10/);
  assert.equal(inFlight, 0, 'nothing still running when the error is thrown');
  assert.ok(settledAfterFailure > 0, 'the calls in flight were waited for');
  assert.ok(pulled < 20, `pulling stopped (${pulled} pulled)`);
  assert.equal(closed, true, 'the iterator was closed');
  // A failing iterator is a failure too.
  async function* broken() { yield 1; throw new Error('listing broke'); }
  await assert.rejects(forEachPulled(broken(), 3, async () => {}), /listing broke/);
});
