import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPodProgressReporter } from './pod-annotation.ts';

const p = (n: number) => ({ filesDone: n, filesTotal: 10, bytesDone: n * 100, bytesTotal: 1000, filesSkipped: 0, filesFailed: 0 });

test('reports are coalesced, rate-limited, and the last one is sent on close', async () => {
  const sent: Array<{ filesDone: number }> = [];
  const r = createPodProgressReporter({ podName: 'p', namespace: 'n', minIntervalMs: 200, patch: async (v) => { sent.push(JSON.parse(v) as { filesDone: number }); } });
  for (let i = 1; i <= 5; i++) r.report(p(i));
  await new Promise((res) => setTimeout(res, 50));
  assert.deepEqual(sent.map((s) => s.filesDone), [5]);
  r.report(p(6)); r.report(p(7));
  await new Promise((res) => setTimeout(res, 50));
  assert.equal(sent.length, 1, 'second report waits for the interval');
  await r.close();
  assert.deepEqual(sent.map((s) => s.filesDone), [5, 7]);
});

test('a failing patch does not throw into the copy', async () => {
  const errors: unknown[] = [];
  const r = createPodProgressReporter({ podName: 'p', namespace: 'n', minIntervalMs: 0, patch: async () => { throw new Error('forbidden'); }, onError: (e) => errors.push(e) });
  r.report(p(1));
  await r.close();
  assert.equal(errors.length, 1);
});

test('outside a pod it does nothing', async () => {
  const r = createPodProgressReporter({ podName: 'p', namespace: 'n' });
  r.report(p(1));
  await r.close();
});
