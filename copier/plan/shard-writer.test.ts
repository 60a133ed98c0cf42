import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ShardWriter } from './shard-writer.ts';

test('greedy assignment balances shards by bytes and writes every item once', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'shards-'));
  const w = new ShardWriter(dir, 3);
  const sizes = [900, 10, 10, 10, 500, 500, 300, 200, 100, 50, 40, 30].map((k) => k * 1024 * 1024);
  for (const [i, size] of sizes.entries()) await w.add({ path: `f${i}`, size, mtimeMs: 0, reason: 'new' });
  await w.close();
  const bytes = w.shards.map((s) => s.bytes);
  const total = sizes.reduce((a, b) => a + b, 0);
  assert.equal(bytes.reduce((a, b) => a + b, 0), total);
  assert.ok(Math.max(...bytes) - Math.min(...bytes) <= 900 * 1024 * 1024, `balanced: ${bytes}`);
  const lines = w.shards.flatMap((s) => readFileSync(s.file.file, 'utf8').trim().split('\n'));
  assert.equal(lines.length, sizes.length);
});

test('the shards with work are always 0..used-1: k items fill min(k, count) shards', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'shards-'));
  for (const [count, items] of [[4, 0], [4, 1], [4, 3], [4, 4], [4, 9], [1, 5]] as const) {
    const w = new ShardWriter(dir, count);
    // Sizes that would tempt a careless balance: a huge first item, then zero-byte ones.
    for (let i = 0; i < items; i++) await w.add({ path: `f${i}`, size: i === 0 ? 10 * 2 ** 30 : 0, mtimeMs: 0, reason: 'new' });
    await w.close();
    const used = Math.min(items, count);
    assert.equal(w.used, used, `${items} items over ${count} shards`);
    assert.deepEqual(w.shards.map((s) => s.files > 0), Array.from({ length: count }, (_, i) => i < used), `${items} items over ${count} shards`);
  }
});
