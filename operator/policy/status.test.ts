import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setCondition, jsonEqual, statusMergePatch, redact, appendHistory, summary, phaseOf, humanBytes } from './status.ts';
import type { RunReport } from '../../api/types.ts';

test('setCondition keeps lastTransitionTime while status is unchanged', () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const t1 = new Date('2026-01-01T00:01:00Z');
  const a = setCondition([], { type: 'Ready', status: 'False', reason: 'x', message: 'm', observedGeneration: 1 }, t0);
  const b = setCondition(a, { type: 'Ready', status: 'False', reason: 'y', message: 'n', observedGeneration: 2 }, t1);
  assert.equal(b[0]?.lastTransitionTime, t0.toISOString());
  assert.equal(b[0]?.reason, 'y');
  const c = setCondition(b, { type: 'Ready', status: 'True', reason: 'z', message: '', observedGeneration: 2 }, t1);
  assert.equal(c[0]?.lastTransitionTime, t1.toISOString());
  const d = setCondition(c, { type: 'Degraded', status: 'False', reason: 'z', message: '' }, t1);
  assert.deepEqual(d.map((x) => x.type), ['Ready', 'Degraded']);
});

test('jsonEqual ignores key order and undefined members', () => {
  assert.ok(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1, d: undefined }));
  assert.ok(!jsonEqual({ a: 1 }, { a: 2 }));
  assert.ok(!jsonEqual([1, 2], [2, 1]));
});

test('statusMergePatch nulls removed fields', () => {
  assert.deepEqual(statusMergePatch({ phase: 'Copying', currentRun: { id: 'x', trigger: 'Manual', startTime: '' } }, { phase: 'Succeeded' }), { phase: 'Succeeded', currentRun: null });
});

test('redact removes credentials from URLs and key=value text', () => {
  const text = 'GET http://AKIA123:s3cr3t@minio:9000/b?X-Amz-Signature=abcdef&x=1 failed; secretAccessKey=wJalr; {"token": "eyJhbGci"}; AccountKey=Eby8vd==;';
  const out = redact(text);
  for (const secret of ['s3cr3t', 'abcdef', 'wJalr', 'eyJhbGci', 'Eby8vd']) assert.ok(!out.includes(secret), out);
  assert.ok(out.includes('minio:9000'));
  const prose = 'SignatureDoesNotMatch: The request signature we calculated does not match';
  assert.equal(redact(prose), prose);
});

test('history is newest first, bounded, and has no duplicate run IDs', () => {
  const r = (id: string) => ({ id }) as RunReport;
  assert.deepEqual(appendHistory([r('b'), r('a')], r('c'), 2).map((x) => x.id), ['c', 'b']);
  assert.deepEqual(appendHistory([r('c'), r('a')], r('c'), 5).map((x) => x.id), ['c', 'a']);
  assert.deepEqual(appendHistory([r('a')], r('c'), 0), []);
});

test('summary and phase for printer columns', () => {
  assert.equal(humanBytes(1536), '1.5Ki');
  const s = summary({ id: 'x', trigger: 'Manual', startTime: '', planned: { files: 10, bytes: 2048, shards: 2 }, progress: { filesCopied: 4, bytesCopied: 1024, filesSkipped: 1, filesFailed: 0, percent: 50, bytesPerSecond: 1 } }, undefined);
  assert.deepEqual(s, { progress: '50%', files: '5/10', bytes: '1.0Ki/2.0Ki' });
  assert.equal(phaseOf({ suspended: true }), 'Suspended');
  assert.equal(phaseOf({ activeStage: 'Copying', suspended: true }), 'Copying');
  assert.equal(phaseOf({ suspended: false, lastRun: { outcome: 'PartiallyFailed' } as RunReport }), 'Failed');
});
