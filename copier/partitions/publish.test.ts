import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolvePartitionSpec } from './spec.ts';
import { publishPartition, stagingPathFor, stagesPartitions, type SuccessMarkerBody } from './publish.ts';
import { memoryBackend, put } from './testing/memory-backend.ts';

const spec = resolvePartitionSpec({ layout: '{yyyy}/{MM}/{dd}', publish: 'Atomic', readyMarker: '_SUCCESS' });
const partition = spec.layout.parseKey('2026/11/20')!;
const NOW = Date.UTC(2026, 10, 21, 2, 15);

test('on a renaming backend, files are staged under the run state prefix and promoted before the marker', async () => {
  const dst = memoryBackend({ rename: true });
  const finals = ['2026/11/20/a.gz', '2026/11/20/b/c.gz'];
  const staged = finals.map((finalPath) => ({ stagedPath: stagingPathFor(finalPath, 'run1', spec, dst.features), finalPath }));
  assert.equal(staged[0]?.stagedPath, '.datasync/runs/run1/staging/2026/11/20/a.gz');
  for (const s of staged) put(dst, s.stagedPath, `data of ${s.finalPath}`);
  const r = await publishPartition(dst, partition, staged, spec, { runId: 'run1', nowMs: NOW });
  assert.equal(r.promoted, 2);
  assert.deepEqual(dst.ops, [
    'rename .datasync/runs/run1/staging/2026/11/20/a.gz -> 2026/11/20/a.gz',
    'rename .datasync/runs/run1/staging/2026/11/20/b/c.gz -> 2026/11/20/b/c.gz',
    'write 2026/11/20/_SUCCESS',
  ]);
  assert.equal(dst.files.get('2026/11/20/a.gz')?.data.toString(), 'data of 2026/11/20/a.gz');
  const marker = JSON.parse(dst.files.get('2026/11/20/_SUCCESS')!.data.toString()) as SuccessMarkerBody;
  assert.deepEqual(marker, {
    partition: '2026/11/20', runId: 'run1', publishedAt: '2026-11-21T02:15:00.000Z', fileCount: 2,
    bytes: Buffer.byteLength('data of 2026/11/20/a.gz') + Buffer.byteLength('data of 2026/11/20/b/c.gz'),
    files: [{ path: 'a.gz', size: 23, mtimeMs: 0 }, { path: 'b/c.gz', size: 25, mtimeMs: 0 }],
  });
});

test('on an object store nothing is staged and the marker written last is the commit point', async () => {
  const dst = memoryBackend();
  assert.equal(stagesPartitions(spec, dst.features), false);
  assert.equal(stagingPathFor('2026/11/20/a', 'run1', spec, dst.features), '2026/11/20/a');
  put(dst, '2026/11/20/a', 'x');
  await publishPartition(dst, partition, [{ stagedPath: '2026/11/20/a', finalPath: '2026/11/20/a' }], spec, { runId: 'r', nowMs: NOW });
  assert.deepEqual(dst.ops, ['write 2026/11/20/_SUCCESS']);
});

test('PerFile publish writes in place even where rename exists', () => {
  const perFile = resolvePartitionSpec({ layout: '{yyyy}/{MM}/{dd}', publish: 'PerFile' });
  assert.equal(stagingPathFor('2026/11/20/a', 'r', perFile, memoryBackend({ rename: true }).features), '2026/11/20/a');
});

test('a late file re-publishes the partition and rewrites the marker with the new file list', async () => {
  const dst = memoryBackend({ rename: true });
  put(dst, '2026/11/20/a', 'aa');
  put(dst, '2026/11/20/_SUCCESS', '{"old":true}');
  put(dst, '.datasync/runs/run2/staging/2026/11/20/late', 'late!');
  await publishPartition(dst, partition, [{ stagedPath: '.datasync/runs/run2/staging/2026/11/20/late', finalPath: '2026/11/20/late' }], spec, { runId: 'run2', nowMs: NOW });
  const marker = JSON.parse(dst.files.get('2026/11/20/_SUCCESS')!.data.toString()) as SuccessMarkerBody;
  assert.equal(marker.runId, 'run2');
  assert.deepEqual(marker.files.map((f) => [f.path, f.size]), [['a', 2], ['late', 5]]);
  assert.deepEqual(dst.ops.at(-1), 'write 2026/11/20/_SUCCESS');
});

test('publishing again after a crash between rename and marker is safe', async () => {
  const dst = memoryBackend({ rename: true });
  put(dst, '2026/11/20/a', 'already promoted'); // the staged copy is gone: an earlier attempt renamed it
  const r = await publishPartition(dst, partition, [{ stagedPath: '.datasync/runs/r/staging/2026/11/20/a', finalPath: '2026/11/20/a' }], spec, { runId: 'r', nowMs: NOW });
  assert.equal(r.marker.fileCount, 1);
  assert.ok(dst.files.has('2026/11/20/_SUCCESS'));
});

test('a staged file that is lost (neither staged nor final) fails the publish and writes no marker', async () => {
  const dst = memoryBackend({ rename: true });
  await assert.rejects(publishPartition(dst, partition, [{ stagedPath: '.datasync/runs/r/staging/2026/11/20/a', finalPath: '2026/11/20/a' }], spec, { runId: 'r', nowMs: NOW }), (e) => /not found/.test(String(e)));
  assert.equal(dst.files.has('2026/11/20/_SUCCESS'), false);
});
