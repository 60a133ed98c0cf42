import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolvePartitionSpec } from './spec.ts';
import { classifyPartitions, createPartitionFilter, filterListing, isDestinationMarker, readyMarkerProbe } from './classify.ts';
import { memoryBackend, put } from './testing/memory-backend.ts';
import { hasCode } from '../errors.ts';

const H = 3_600_000;
const NOW = Date.UTC(2026, 10, 21, 6, 0); // 2026-11-21 06:00 UTC

const spec = resolvePartitionSpec({
  layout: '{yyyy}/{MM}/{dd}', lookback: '72h', readyMarker: '_SUCCESS', successMarker: '_SUCCESS', skip: ['2026/11/19'],
});

const listing = [
  { path: '2026/11/17/a', size: 1 }, { path: '2026/11/17/_SUCCESS', size: 0 }, // ended 11-18 00:00 < now-72h
  { path: '2026/11/18/_SUCCESS', size: 0 }, { path: '2026/11/18/a', size: 10 }, { path: '2026/11/18/b/c', size: 5 },
  { path: '2026/11/19/a', size: 7 }, { path: '2026/11/19/_SUCCESS', size: 0 },
  { path: '2026/11/20/a', size: 3 },
  { path: '2026/11/21/_SUCCESS', size: 0 }, { path: '2026/11/21/x/_SUCCESS', size: 4 },
  { path: 'README', size: 9 }, { path: '2026/11/bad/a', size: 1 },
];

test('classifies every partition: expired, ready, skipped, waiting; markers are not data', () => {
  const c = classifyPartitions(listing, spec, NOW);
  assert.deepEqual(c.partitions.map((p) => [p.key, p.state, p.files, p.bytes]), [
    ['2026/11/17', 'expired', 1, 1],
    ['2026/11/18', 'ready', 2, 15],
    ['2026/11/19', 'skipped', 1, 7],
    ['2026/11/20', 'waiting', 1, 3],
    ['2026/11/21', 'ready', 1, 4], // x/_SUCCESS is data: markers sit directly in the partition
  ]);
  assert.equal(c.outside, 2);
});

test('lookback keeps a partition while any part of it is inside the window', () => {
  const s = resolvePartitionSpec({ layout: '{yyyy}/{MM}/{dd}', lookback: '24h' });
  const at = (now: number) => classifyPartitions([{ path: '2026/11/20/a', size: 1 }], s, now).partitions[0]?.state;
  assert.equal(at(Date.UTC(2026, 10, 21, 23, 59)), 'ready');
  assert.equal(at(Date.UTC(2026, 10, 22, 0, 0)), 'expired', 'ended exactly lookback ago');
  const unlimited = resolvePartitionSpec({ layout: '{yyyy}/{MM}/{dd}' });
  assert.equal(classifyPartitions([{ path: '1999/01/01/a', size: 1 }], unlimited, NOW).partitions[0]?.state, 'ready');
});

test('without a readyMarker every partition in the window is ready; a skipped one stays skipped', () => {
  const s = resolvePartitionSpec({ layout: '{yyyy}/{MM}/{dd}', skip: ['/2026/11/20/'] });
  const c = classifyPartitions([{ path: '2026/11/20/a', size: 1 }, { path: '2026/11/21/a', size: 1 }], s, NOW);
  assert.deepEqual(c.partitions.map((p) => p.state), ['skipped', 'ready']);
});

test('a skip entry that does not fit the layout is a config error naming the expected form', () => {
  assert.throws(
    () => resolvePartitionSpec({ layout: 'dt={yyyy}-{MM}-{dd}', skip: ['2026/11/03'] }),
    (e) => hasCode(e, 'InvalidConfig') && /dt=2026-11-03/.test(String(e)),
  );
  assert.throws(() => resolvePartitionSpec({ layout: '{yyyy}', readyMarker: 'a/b' }), (e) => hasCode(e, 'InvalidConfig'));
  assert.throws(() => resolvePartitionSpec({ layout: '{yyyy}', lookback: 'soon' }), (e) => hasCode(e, 'InvalidConfig'));
});

test('the streaming filter gives the same verdicts and probes each candidate partition once', async () => {
  const probes: string[] = [];
  const present = new Set(['2026/11/18', '2026/11/21']);
  const filter = createPartitionFilter(spec, NOW, async (key) => { probes.push(key); return present.has(key); });
  const verdicts: Array<[string, string, string | undefined]> = [];
  for await (const { entry, verdict } of filterListing(listing, filter)) verdicts.push([entry.path, verdict.decision, verdict.partition?.key]);
  assert.deepEqual(verdicts, [
    ['2026/11/17/a', 'expired', '2026/11/17'], ['2026/11/17/_SUCCESS', 'marker', '2026/11/17'],
    ['2026/11/18/_SUCCESS', 'marker', '2026/11/18'], ['2026/11/18/a', 'copy', '2026/11/18'], ['2026/11/18/b/c', 'copy', '2026/11/18'],
    ['2026/11/19/a', 'skipped', '2026/11/19'], ['2026/11/19/_SUCCESS', 'marker', '2026/11/19'],
    ['2026/11/20/a', 'waiting', '2026/11/20'],
    ['2026/11/21/_SUCCESS', 'marker', '2026/11/21'], ['2026/11/21/x/_SUCCESS', 'copy', '2026/11/21'],
    ['README', 'outside', undefined], ['2026/11/bad/a', 'outside', undefined],
  ]);
  assert.deepEqual(probes, ['2026/11/18', '2026/11/20', '2026/11/21'], 'no probe for expired or skipped partitions, one per partition');
  const s = filter.summary();
  assert.deepEqual(s.ready.map((p) => p.key), ['2026/11/18', '2026/11/21']);
  assert.deepEqual(s.waiting.map((p) => p.key), ['2026/11/20']);
  assert.deepEqual(s.skipped.map((p) => p.key), ['2026/11/19']);
});

test('concurrent decisions for one partition share a single probe', async () => {
  let calls = 0;
  const filter = createPartitionFilter(spec, NOW, () => new Promise((r) => setTimeout(() => { calls++; r(true); }, 5)));
  const v = await Promise.all(['2026/11/20/a', '2026/11/20/b', '2026/11/20/c'].map((path) => filter.decide({ path })));
  assert.equal(calls, 1);
  assert.deepEqual(v.map((x) => x.decision), ['copy', 'copy', 'copy']);
});

test('readyMarkerProbe stats the marker at the source and passes real errors through', async () => {
  const src = memoryBackend();
  put(src, '2026/11/20/_SUCCESS', '');
  const probe = readyMarkerProbe(src, spec);
  assert.equal(await probe('2026/11/20'), true);
  assert.equal(await probe('2026/11/21'), false);
  const broken = { stat: async () => { throw new Error('connection reset'); } };
  await assert.rejects(async () => readyMarkerProbe(broken, spec)('2026/11/20'), /connection reset/);
});

test('destination success markers are recognised so Sync never deletes them as extras', () => {
  const s = resolvePartitionSpec({ layout: '{yyyy}/{MM}/{dd}', successMarker: '_PUBLISHED' });
  assert.equal(isDestinationMarker('2026/11/20/_PUBLISHED', s), true);
  assert.equal(isDestinationMarker('2026/11/20/x/_PUBLISHED', s), false);
  assert.equal(isDestinationMarker('2026/11/20/_SUCCESS', s), false);
});
