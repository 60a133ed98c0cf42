import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { RunReport } from '../../api/types.ts';
import { resolvePartitionSpec } from './spec.ts';
import { commitPartitions, createPartitionPlanner, PARTITIONS_FILE } from './engine.ts';
import { memoryBackend, put, type MemoryBackend } from './testing/memory-backend.ts';

const spec = resolvePartitionSpec({ layout: '{yyyy}/{MM}/{dd}', lookback: '72h', readyMarker: '_SUCCESS', skip: ['2026/11/19'] });
const NOW = Date.UTC(2026, 10, 21, 2);

function report(failed: string[] = [], filesFailed = failed.length): RunReport {
  return {
    id: 'r', outcome: failed.length ? 'PartiallyFailed' : 'Succeeded', startTime: '', endTime: '', durationSeconds: 0, filesExpected: 0, filesCopied: 0,
    filesSkipped: 0, filesFailed, filesDeleted: 0, bytesExpected: 0, bytesCopied: 0, bytesSkipped: 0, bytesFailed: 0, bytesDeleted: 0,
    failedFiles: failed.map((path) => ({ path, error: 'x' })),
  };
}

/** Plans like the engine: every source entry through the planner, the summary saved as the run's state. */
async function plan(src: MemoryBackend, dst: MemoryBackend, runId: string, now = NOW) {
  const planner = createPartitionPlanner(spec, src, now);
  const included: string[] = [];
  for await (const e of src.list()) if ((await planner.source(e)).included) included.push(e.path);
  const body = Buffer.from(JSON.stringify(planner.summary()));
  await dst.write(`.datasync/runs/${runId}/${PARTITIONS_FILE}`, Readable.from([body]));
  return { planner, included };
}

function stateOf(dst: MemoryBackend, runId: string) {
  return {
    backend: dst,
    async getJson<T>(name: string): Promise<T | undefined> {
      const f = dst.files.get(`.datasync/runs/${runId}/${name}`);
      return f ? (JSON.parse(f.data.toString()) as T) : undefined;
    },
  };
}

test('plan and commit over two runs: only ready partitions publish, a late file rewrites the marker, the watermark advances', async () => {
  const src = memoryBackend();
  const dst = memoryBackend();
  put(src, '2026/11/17/old', 'x'); put(src, '2026/11/17/_SUCCESS', '');
  put(src, '2026/11/18/a', 'aa'); put(src, '2026/11/18/_SUCCESS', '');
  put(src, '2026/11/19/a', 'bad'); put(src, '2026/11/19/_SUCCESS', '');
  put(src, '2026/11/20/a', 'waiting');
  put(src, 'notes.txt', 'outside');

  const run1 = await plan(src, dst, 'r1');
  assert.deepEqual(run1.included, ['2026/11/18/a']);
  assert.deepEqual((await run1.planner.source({ path: '2026/11/20/a' })), { included: false, reason: 'partition 2026/11/20 is waiting for _SUCCESS' });
  put(dst, '2026/11/18/a', 'aa'); // what the copy phase did
  const c1 = await commitPartitions({ spec, runId: 'r1', destination: dst, state: stateOf(dst, 'r1'), statePrefix: '.datasync/', report: report(), nowMs: NOW });
  assert.deepEqual(c1, { partitions: { published: ['2026/11/18'], waiting: ['2026/11/20'], skipped: ['2026/11/19'] }, watermark: '2026/11/18' });
  assert.ok(dst.files.has('2026/11/18/_SUCCESS'));

  // Nothing changed: the marker is current, nothing is re-published, the watermark stays.
  await plan(src, dst, 'r1b');
  const again = await commitPartitions({ spec, runId: 'r1b', destination: dst, state: stateOf(dst, 'r1b'), statePrefix: '.datasync/', report: report(), nowMs: NOW });
  assert.deepEqual(again.partitions?.published, []);
  assert.equal(again.watermark, '2026/11/18');

  // Half a day later: 11-20 becomes ready, a late file lands in 11-18, one file of 11-20 fails.
  put(src, '2026/11/20/_SUCCESS', '');
  put(src, '2026/11/20/b', 'bb');
  put(src, '2026/11/18/late', 'late');
  const run2 = await plan(src, dst, 'r2', NOW + 43_200_000);
  assert.deepEqual(run2.included, ['2026/11/18/a', '2026/11/18/late', '2026/11/20/a', '2026/11/20/b']);
  put(dst, '2026/11/18/late', 'late', 5);
  put(dst, '2026/11/20/a', 'waiting');
  const c2 = await commitPartitions({ spec, runId: 'r2', destination: dst, state: stateOf(dst, 'r2'), statePrefix: '.datasync/', report: report(['2026/11/20/b']), nowMs: NOW + 43_200_000 });
  assert.deepEqual(c2.partitions?.published, ['2026/11/18'], 'the late file republished 11-18; 11-20 had a failure');
  assert.equal(dst.files.has('2026/11/20/_SUCCESS'), false, 'no marker over a partition with a failed file');
  assert.equal(c2.watermark, '2026/11/18');
  const marker = JSON.parse(dst.files.get('2026/11/18/_SUCCESS')!.data.toString());
  assert.equal(marker.runId, 'r2');
  assert.deepEqual(marker.files.map((f: { path: string }) => f.path), ['a', 'late']);

  // The retry succeeds: 11-20 publishes and the watermark passes the skipped 11-19.
  await plan(src, dst, 'r3', NOW + 43_200_000);
  put(dst, '2026/11/20/b', 'bb');
  const c3 = await commitPartitions({ spec, runId: 'r3', destination: dst, state: stateOf(dst, 'r3'), statePrefix: '.datasync/', report: report(), nowMs: NOW + 43_200_000 });
  assert.deepEqual(c3.partitions?.published, ['2026/11/20']);
  assert.equal(c3.watermark, '2026/11/20');
  assert.equal(JSON.parse(dst.files.get('.datasync/partitions/watermark.json')!.data.toString()).partition, '2026/11/20');
});

test('a truncated failure sample publishes nothing: any partition could hide a failure', async () => {
  const src = memoryBackend();
  const dst = memoryBackend();
  put(src, '2026/11/20/a', 'a'); put(src, '2026/11/20/_SUCCESS', '');
  await plan(src, dst, 'r');
  put(dst, '2026/11/20/a', 'a');
  const c = await commitPartitions({ spec, runId: 'r', destination: dst, state: stateOf(dst, 'r'), statePrefix: '.datasync/', report: report(['2026/11/99/x'], 5000), nowMs: NOW });
  assert.deepEqual(c.partitions?.published, []);
  assert.equal(c.watermark, undefined);
});

test('Sync may delete destination extras only inside ready partitions, never markers', async () => {
  const src = memoryBackend();
  put(src, '2026/11/20/a', 'a'); put(src, '2026/11/20/_SUCCESS', '');
  put(src, '2026/11/21/a', 'a'); // waiting
  const planner = createPartitionPlanner(spec, src, NOW + 43_200_000);
  assert.deepEqual(await planner.destinationOnly({ path: '2026/11/20/stale' }), { included: true });
  assert.equal((await planner.destinationOnly({ path: '2026/11/20/_SUCCESS' })).included, false);
  assert.equal((await planner.destinationOnly({ path: '2026/11/21/stale' })).included, false);
  assert.equal((await planner.destinationOnly({ path: '2026/10/01/old' })).included, false, 'expired');
  assert.equal((await planner.destinationOnly({ path: 'elsewhere/x' })).included, false, 'outside the layout');
  assert.deepEqual(planner.summary(), { ready: [], waiting: [], skipped: [] }, 'destination-only partitions are not reported');
});
