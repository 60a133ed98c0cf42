import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FilesystemBackend } from '../filesystem/filesystem.ts';
import { removeAll } from './remove-all.ts';

/** The files left under d/ (the filesystem backend removes a directory its last delete emptied). */
const left = (root: string) => (existsSync(path.join(root, 'd')) ? readdirSync(path.join(root, 'd')).map((n) => `d/${n}`) : []);

function tree(files: number): { root: string; fs: FilesystemBackend; items: Array<{ path: string }> } {
  const root = mkdtempSync(path.join(tmpdir(), 'remove-all-'));
  mkdirSync(path.join(root, 'd'));
  const items = Array.from({ length: files }, (_, i) => ({ path: `d/f${String(i).padStart(5, '0')}` }));
  for (const it of items) writeFileSync(path.join(root, it.path), 'x');
  return { root, fs: new FilesystemBackend(root, 'destination'), items };
}

test('without batches: every path deleted and reported, several deletes in flight', async () => {
  const { root, fs, items } = tree(60);
  let inFlight = 0, peak = 0;
  const del = fs.delete.bind(fs);
  fs.delete = async (p: string) => {
    peak = Math.max(peak, ++inFlight);
    try { await sleep(2); await del(p); } finally { inFlight--; }
  };
  const reported: string[] = [];
  await removeAll(fs, items, (it) => reported.push(it.path));
  assert.deepEqual(left(root), []);
  assert.deepEqual(reported.sort(), items.map((it) => it.path));
  assert.ok(peak > 1 && peak <= 16, `peak ${peak} deletes in flight`);
});

test('with batches: 1,000 paths a batch, from an async listing, every path deleted and reported', async () => {
  const { root, fs, items } = tree(2500);
  const groups: number[] = [];
  const batched = Object.create(fs) as FilesystemBackend;
  Object.defineProperty(batched, 'features', {
    value: { ...fs.features, deleteBatch: async (paths: string[]) => { groups.push(paths.length); for (const p of paths) await fs.delete(p); } },
  });
  const listing = async function* () { yield* items; };
  let reported = 0;
  await removeAll(batched, listing(), () => reported++);
  assert.deepEqual(groups.sort((a, b) => b - a), [1000, 1000, 500]);
  assert.equal(reported, 2500);
  assert.deepEqual(left(root), []);
});

test('the first failure stops the deletions and is thrown after those in flight, each of which is reported', async () => {
  const { root, fs, items } = tree(200);
  const del = fs.delete.bind(fs);
  fs.delete = async (p: string) => {
    if (p === 'd/f00010') throw new Error(`permission denied: ${p}`);
    await sleep(1);
    await del(p);
  };
  const reported = new Set<string>();
  await assert.rejects(removeAll(fs, items, (it) => reported.add(it.path)), /permission denied: d\/f00010/);
  const remaining = new Set(left(root));
  assert.ok(remaining.has('d/f00010'));
  // Pulling stopped at the failure: most of the 200 are still there. Nothing is deleted after the
  // throw, and every path that is gone was reported.
  assert.ok(remaining.size > 150, `${200 - remaining.size} deleted after a failure at the 11th`);
  for (const p of reported) assert.ok(!remaining.has(p), `${p} reported deleted but still there`);
  assert.equal(reported.size + remaining.size, 200);
  await sleep(50);
  assert.equal(left(root).length, remaining.size, 'deletes went on after the throw');
});
