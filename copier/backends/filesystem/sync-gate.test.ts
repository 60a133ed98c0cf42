import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyncWhileFast } from './sync-gate.ts';

/** A clock under the test's control: each call's duration is what `take` says. */
function clock() {
  let t = 0;
  let next = 0;
  return { now: () => (t += next), take: (ms: number) => { next = ms; } };
}

test('calls stay synchronous while a batch averages under meanMs, however long the run', () => {
  const c = clock();
  const gate = new SyncWhileFast({ batch: 4, meanMs: 1, maxMs: 10 }, c.now);
  c.take(0.9);
  for (let i = 0; i < 400; i++) assert.equal(gate.run(() => i), i);
  assert.equal(gate.fast, true);
});

test('a batch averaging over meanMs moves the calls to the thread pool for good; one slow call in a batch does not', () => {
  const c = clock();
  const gate = new SyncWhileFast({ batch: 4, meanMs: 1, maxMs: 10 }, c.now);
  // One call of 3.5 ms among three of 0.1: a mean of 0.95, under the limit.
  for (const ms of [0.1, 3.5, 0.1, 0.1]) { c.take(ms); gate.run(() => undefined); }
  assert.equal(gate.fast, true);
  c.take(1.2);
  for (let i = 0; i < 3; i++) gate.run(() => undefined);
  assert.equal(gate.fast, true, 'judged only when the batch is full');
  gate.run(() => undefined);
  assert.equal(gate.fast, false);
});

test('one call over maxMs moves the calls at once; a call that throws is timed too and its error passes through', () => {
  const c = clock();
  const gate = new SyncWhileFast({ batch: 64, meanMs: 1, maxMs: 10 }, c.now);
  c.take(11);
  assert.throws(() => gate.run(() => { throw new Error('EIO'); }), /EIO/);
  assert.equal(gate.fast, false);
});
