import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileLayout } from './layout.ts';
import { computeWatermark, type PartitionOutcome } from './watermark.ts';

const layout = compileLayout('{yyyy}/{MM}/{dd}');
const ps = (...pairs: Array<[string, PartitionOutcome]>) =>
  pairs.map(([key, outcome]) => ({ ...layout.parseKey(key)!, outcome }));

test('the newest published partition with nothing unfinished before it', () => {
  assert.equal(computeWatermark(ps(['2026/11/18', 'published'], ['2026/11/19', 'published']), undefined, layout), '2026/11/19');
  assert.equal(computeWatermark(ps(['2026/11/19', 'published'], ['2026/11/18', 'published']), undefined, layout), '2026/11/19', 'order-independent');
});

test('a waiting or failed partition holds it back; a skipped one does not', () => {
  assert.equal(computeWatermark(ps(['2026/11/18', 'published'], ['2026/11/19', 'waiting'], ['2026/11/20', 'published']), undefined, layout), '2026/11/18');
  assert.equal(computeWatermark(ps(['2026/11/18', 'published'], ['2026/11/19', 'failed'], ['2026/11/20', 'published']), undefined, layout), '2026/11/18');
  assert.equal(computeWatermark(ps(['2026/11/18', 'published'], ['2026/11/19', 'skipped'], ['2026/11/20', 'published']), undefined, layout), '2026/11/20');
  assert.equal(computeWatermark(ps(['2026/11/18', 'waiting']), undefined, layout), undefined);
});

test('never moves backwards and keeps the previous value when nothing new is published', () => {
  assert.equal(computeWatermark(ps(['2026/11/18', 'waiting']), '2026/11/17', layout), '2026/11/17');
  assert.equal(computeWatermark(ps(['2026/11/15', 'published']), '2026/11/17', layout), '2026/11/17');
  assert.equal(computeWatermark(ps(['2026/11/18', 'published']), '2026/11/17', layout), '2026/11/18');
  assert.equal(computeWatermark([], '2026/11/17', layout), '2026/11/17');
});

test('partitionReport: ready-but-failed partitions hold the watermark, lists come out in time order', async () => {
  const { partitionReport } = await import('./report.ts');
  const { resolvePartitionSpec } = await import('./spec.ts');
  const spec = resolvePartitionSpec({ layout: '{yyyy}/{MM}/{dd}' });
  const ref = (k: string) => spec.layout.parseKey(k)!;
  const r = partitionReport({
    ready: [ref('2026/11/18'), ref('2026/11/19'), ref('2026/11/21')],
    waiting: [ref('2026/11/22')],
    skipped: [ref('2026/11/20')],
    failed: new Set(['2026/11/21']),
    published: ['2026/11/19'],
    previousWatermark: '2026/11/18',
  }, spec);
  assert.deepEqual(r, { partitions: { published: ['2026/11/19'], waiting: ['2026/11/22'], skipped: ['2026/11/20'] }, watermark: '2026/11/19' });
});
