import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from './decide.ts';
import { mergeListings } from './merge.ts';
import type { Entry } from '../backends/backend.ts';

const e = (path: string, size = 1, mtimeMs = 1000): Entry => ({ path, size, mtimeMs });

test('decide by compare mode', () => {
  const base = { mode: 'Copy' as const };
  assert.equal(decide({ ...base, compare: 'SizeAndModTime', src: e('a'), dst: e('a') }).action, 'skip');
  assert.equal(decide({ ...base, compare: 'SizeAndModTime', src: e('a', 1, 5000), dst: e('a') }).action, 'copy');
  assert.equal(decide({ ...base, compare: 'SizeOnly', src: e('a', 1, 5000), dst: e('a') }).action, 'skip');
  assert.equal(decide({ ...base, compare: 'SizeOnly', src: e('a', 2), dst: e('a') }).action, 'copy');
  assert.equal(decide({ ...base, compare: 'Always', src: e('a'), dst: e('a') }).action, 'copy');
  const c = (value: string) => ({ algorithm: 'crc32c' as const, value });
  assert.equal(decide({ ...base, compare: 'Checksum', src: e('a'), dst: e('a'), srcChecksum: c('1'), dstChecksum: c('1') }).action, 'skip');
  assert.equal(decide({ ...base, compare: 'Checksum', src: e('a'), dst: e('a'), srcChecksum: c('1'), dstChecksum: c('2') }).action, 'copy');
  assert.equal(decide({ ...base, compare: 'Checksum', src: e('a'), dst: e('a') }).action, 'copy');
  assert.equal(decide({ ...base, compare: 'SizeOnly', src: e('a') }).reason, 'new');
  assert.equal(decide({ mode: 'Sync', compare: 'SizeOnly', dst: e('a') }).action, 'delete');
  assert.equal(decide({ mode: 'Copy', compare: 'SizeOnly', dst: e('a') }).action, 'keep');
});

/** A listing in runs of one entry, so the merge crosses a run's end at every step. */
async function* from(entries: Entry[]) { for (const x of entries) yield [x]; }

test('merge pairs sorted listings and rejects unsorted input', async () => {
  const out: string[] = [];
  for await (const run of mergeListings(from([e('a.txt'), e('a/b'), e('c')]), from([e('a/b'), e('b'), e('d')]))) for (const p of run) {
    out.push(`${p.path}:${p.src ? 's' : ''}${p.dst ? 'd' : ''}`);
  }
  assert.deepEqual(out, ['a.txt:s', 'a/b:sd', 'b:d', 'c:s', 'd:d']);
  await assert.rejects(async () => { for await (const _ of mergeListings(from([e('b'), e('a')]), from([]))) void _; }, /not in ascending UTF-8 order/);
});
