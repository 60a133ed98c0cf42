import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyncWhileFast } from './sync-gate.ts';

/** A clock under the test's control: each timed call takes what `take` last said. */
function clock() {
  let t = 0;
  let next = 0;
  return { now: () => (t += next), take: (ms: number) => { next = ms; } };
}

function runAll(gate: SyncWhileFast, c: ReturnType<typeof clock>, durations: number[]): void {
  for (const ms of durations) { c.take(ms); gate.run(() => undefined); }
}

test('calls stay synchronous while batches have a median under medianMs, however long the run', () => {
  const c = clock();
  const gate = new SyncWhileFast({ batch: 4, medianMs: 1, maxMs: 10 }, c.now);
  c.take(0.9);
  for (let i = 0; i < 400; i++) assert.equal(gate.run(() => i), i);
  assert.equal(gate.fast, true);
});

test('a batch with a median over medianMs moves the calls to the thread pool for good; a few slow calls in a batch do not', () => {
  const c = clock();
  const gate = new SyncWhileFast({ batch: 5, medianMs: 1, maxMs: 10 }, c.now);
  runAll(gate, c, [0.1, 3.5, 0.1, 3, 0.1]); // the first calls compiling, or losing the CPU
  assert.equal(gate.fast, true);
  runAll(gate, c, [1.2, 1.2, 1.2, 1.2]);
  assert.equal(gate.fast, true, 'judged only when the batch is full');
  runAll(gate, c, [1.2]);
  assert.equal(gate.fast, false);
  runAll(gate, c, [0.1, 0.1, 0.1, 0.1, 0.1]);
  assert.equal(gate.fast, false, 'never moves back');
});

test('a batch whose mean is over 4 × medianMs moves the calls even with a fast median', () => {
  const c = clock();
  const gate = new SyncWhileFast({ batch: 5, medianMs: 1, maxMs: 20 }, c.now);
  runAll(gate, c, [0.1, 0.1, 0.1, 9, 9]); // mean 3.66
  assert.equal(gate.fast, true);
  runAll(gate, c, [0.1, 0.1, 0.1, 15, 15]); // mean 6.06
  assert.equal(gate.fast, false);
});

test('one call over maxMs moves the calls at once; a call that throws is timed too and its error passes through', () => {
  const c = clock();
  const gate = new SyncWhileFast({ batch: 64, medianMs: 1, maxMs: 10 }, c.now);
  c.take(11);
  assert.throws(() => gate.run(() => { throw new Error('EIO'); }), /EIO/);
  assert.equal(gate.fast, false);
});
