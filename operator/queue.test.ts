import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from './queue.ts';

test('a key is queued once and never handed to two workers at once', async () => {
  const q = new WorkQueue();
  q.add('a'); q.add('a'); q.add('b');
  assert.equal(q.depth, 2);
  const k = await q.get();
  assert.equal(k, 'a');
  q.add('a'); // while processing: marked dirty, not queued
  assert.equal(q.depth, 1);
  assert.equal(await q.get(), 'b');
  q.done('a');
  assert.equal(await q.get(), 'a');
  q.done('a'); q.done('b');
  assert.equal(q.depth, 0);
});

test('failures back off exponentially per key and forget() resets', () => {
  const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 350 });
  assert.equal(q.addRateLimited('x'), 100);
  assert.equal(q.addRateLimited('x'), 200);
  assert.equal(q.addRateLimited('x'), 350);
  assert.equal(q.addRateLimited('y'), 100);
  q.forget('x');
  assert.equal(q.addRateLimited('x'), 100);
  q.shutdown();
});

test('addAfter keeps the earliest visit', async () => {
  const q = new WorkQueue();
  q.addAfter('k', 5000);
  q.addAfter('k', 20);
  const started = Date.now();
  assert.equal(await q.get(), 'k');
  assert.ok(Date.now() - started < 2000);
  q.shutdown();
  assert.equal(await q.get(), undefined);
});
