import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Backend, Entry } from '../backends/backend.ts';
import { DataSyncError } from '../errors.ts';
import { buildOptions } from '../options.ts';
import { BLOCK, IndexCursor, IndexWriter, describes, except, mergeIndexes, readIndex, type IndexEntry, type IndexStatus } from './mtime-index.ts';
import { planDecisions } from './planner.ts';

const LOC = 's3://bucket/prefix/ (http://127.0.0.1:9000)';
const dir = mkdtempSync(path.join(tmpdir(), 'mtime-index-'));
const entry = (i: number): IndexEntry => ({ path: `d/f${String(i).padStart(6, '0')}`, size: i, version: `"etag-${i}"`, mtimeMs: 1_700_000_000_000 + i });

async function write(name: string, entries: IndexEntry[], location = LOC): Promise<string> {
  const w = new IndexWriter(path.join(dir, name), location);
  for (const e of entries) await w.add(e);
  await w.close();
  return w.file;
}

async function read(file: string, location = LOC): Promise<{ entries: IndexEntry[]; status: IndexStatus; problem?: string }> {
  const st: { status: IndexStatus; problem?: string } = { status: 'absent' };
  const entries: IndexEntry[] = [];
  for await (const e of readIndex(createReadStream(file), location, st)) entries.push(e);
  return { entries, ...st };
}

test('index round trip over several checksummed blocks', async () => {
  const all = Array.from({ length: 2 * BLOCK + 17 }, (_, i) => entry(i));
  const r = await read(await write('round.jsonl', all));
  assert.equal(r.status, 'complete');
  assert.deepEqual(r.entries, all);
  // Empty index: a header only, complete and empty.
  const e = await read(await write('empty.jsonl', []));
  assert.equal(e.status, 'complete');
  assert.equal(e.entries.length, 0);
});

test('a corrupt, truncated, foreign or unordered index yields only verified blocks and says why', async () => {
  const all = Array.from({ length: 2 * BLOCK + 5 }, (_, i) => entry(i));
  const good = readFileSync(await write('good.jsonl', all), 'utf8');
  const lines = good.split('\n');

  // An mtime changed inside the second block: still valid JSON, caught by that block's checksum.
  const target = 1 + BLOCK + 1 + 3; // header, block 1 + its seal, then the 4th entry of block 2
  const tampered = [...lines];
  tampered[target] = tampered[target]!.replace(/,(\d+)\]$/, (_m, d: string) => `,${Number(d) + 5000}]`);
  assert.notEqual(tampered[target], lines[target]);
  writeFileSync(path.join(dir, 'tampered.jsonl'), tampered.join('\n'));
  const t = await read(path.join(dir, 'tampered.jsonl'));
  assert.equal(t.status, 'invalid');
  assert.match(t.problem!, /checksum/);
  assert.deepEqual(t.entries, all.slice(0, BLOCK), 'only the first, verified block');

  // Cut in the middle of the last block: the earlier blocks stay usable.
  writeFileSync(path.join(dir, 'cut.jsonl'), good.slice(0, good.length - 40));
  const c = await read(path.join(dir, 'cut.jsonl'));
  assert.equal(c.status, 'invalid');
  assert.deepEqual(c.entries, all.slice(0, 2 * BLOCK));

  // Garbage, an index of another endpoint, nothing at all.
  writeFileSync(path.join(dir, 'garbage.jsonl'), 'not json\n["a",1,"e",1]\n');
  assert.deepEqual((await read(path.join(dir, 'garbage.jsonl'))).entries, []);
  const foreign = await read(await write('foreign.jsonl', all.slice(0, 3), 's3://other/'));
  assert.equal(foreign.status, 'invalid');
  assert.deepEqual(foreign.entries, []);
  writeFileSync(path.join(dir, 'zero.jsonl'), '');
  assert.equal((await read(path.join(dir, 'zero.jsonl'))).status, 'invalid');

  // Out of order (checksums recomputed would not help: order is checked on its own).
  const swapped = [...lines];
  [swapped[1], swapped[2]] = [swapped[2]!, swapped[1]!];
  writeFileSync(path.join(dir, 'swapped.jsonl'), swapped.join('\n'));
  const s = await read(path.join(dir, 'swapped.jsonl'));
  assert.equal(s.status, 'invalid');
  assert.deepEqual(s.entries, []);

  // A failing stream ends the index; it does not throw into the planner.
  const failing = new Readable({ read() { this.destroy(new Error('connection reset')); } });
  const st: { status: IndexStatus; problem?: string } = { status: 'absent' };
  for await (const _ of readIndex(failing, LOC, st)) void _;
  assert.equal(st.status, 'invalid');

  await assert.rejects(write('unordered.jsonl', [entry(2), entry(1)]), /out of order/);
});

async function* from<T>(xs: T[]): AsyncGenerator<T> { yield* xs; }
/** Entries in blocks of `size`, as readIndexBlocks gives them. */
async function* blocks<T>(xs: T[], size = 2): AsyncGenerator<T[]> { for (let i = 0; i < xs.length; i += size) yield xs.slice(i, i + size); }

test('cursor: ascending seeks find exact paths; what they pass over, drop or leave is dropped in order', async () => {
  const dropped: string[] = [];
  const c = new IndexCursor(blocks([entry(1), entry(3), entry(5), entry(7), entry(8)]), { status: 'complete' }, async (e) => { dropped.push(e.path); });
  assert.equal((await c.seek(entry(0).path)), undefined);
  assert.deepEqual(await c.seek(entry(3).path), entry(3)); // entry 1 passed over
  assert.equal(await c.seek(entry(4).path), undefined);
  const five = c.seek(entry(5).path);
  assert.ok(!(five instanceof Promise), 'a hit in the block in hand is answered at once');
  assert.deepEqual(five, entry(5));
  await c.drop(five as IndexEntry); // no longer describes the listed object
  assert.equal(await c.finish(), 5);
  assert.equal(await c.seek(entry(9).path), undefined);
  assert.deepEqual(dropped, [1, 5, 7, 8].map((i) => entry(i).path));
  assert.equal(c.dropped, 4);
});

test('except: entries without the dropped paths', async () => {
  const out: string[] = [];
  for await (const e of except(from([1, 2, 3, 4, 5].map(entry)), from([0, 2, 5, 9].map(entry)))) out.push(e.path);
  assert.deepEqual(out, [1, 3, 4].map((i) => entry(i).path));
});

test('describes: same path, size and version (quotes aside); anything else is a miss', () => {
  const e = entry(7);
  const listed: Entry = { path: e.path, size: e.size, mtimeMs: 1, version: e.version };
  assert.ok(describes(e, listed));
  assert.ok(describes(e, { ...listed, version: 'etag-7' }));
  assert.ok(!describes(e, { ...listed, version: '"etag-8"' }), 'overwritten: new ETag');
  assert.ok(!describes(e, { ...listed, size: 8 }));
  assert.ok(!describes(e, { path: e.path, size: e.size, mtimeMs: 1 }), 'no version listed');
  assert.ok(!describes(undefined, listed));
});

test('mergeIndexes: one path-ordered stream, later streams win on equal paths', async () => {
  const old = [entry(1), entry(2), entry(4), entry(6)];
  const shardA = [{ ...entry(2), version: '"new-2"' }, entry(3)];
  const shardB = [entry(5), { ...entry(6), mtimeMs: 42 }, entry(8)];
  const out: IndexEntry[] = [];
  for await (const e of mergeIndexes([from(old), from(shardA), from(shardB), from([])])) out.push(e);
  assert.deepEqual(out.map((e) => e.path), [1, 2, 3, 4, 5, 6, 8].map((i) => entry(i).path));
  assert.equal(out[1]!.version, '"new-2"');
  assert.equal(out[5]!.mtimeMs, 42);
});

/** An S3-like backend in memory: listing carries the upload time, stat the recorded mtime. */
function objectStore(objects: Array<Entry & { recorded: number }>): Backend & { heads: string[] } {
  const heads: string[] = [];
  return {
    kind: 's3', location: LOC, heads,
    features: { nativeChecksums: [], atomicWrite: true, listModTimeIsUploadTime: true },
    async *list() { for (const o of objects) yield { path: o.path, size: o.size, mtimeMs: 9_999_999_999_999, ...(o.version ? { version: o.version } : {}) }; },
    async stat(p) {
      heads.push(p);
      const o = objects.find((x) => x.path === p);
      if (!o) throw new DataSyncError(`${p} not found`, { code: 'NotFound', side: 'destination' });
      return { path: o.path, size: o.size, mtimeMs: o.recorded, ...(o.version ? { version: o.version } : {}) };
    },
    read: () => Promise.reject(new Error('no reads')), write: () => Promise.reject(new Error('no writes')),
    delete: () => Promise.resolve(), close: () => Promise.resolve(),
  };
}

function fileSource(files: Entry[]): Backend {
  return {
    kind: 'filesystem', location: '/src', features: { nativeChecksums: [], atomicWrite: false },
    async *list() { yield* files; },
    stat: () => Promise.reject(new Error('no stat')), read: () => Promise.reject(new Error('no reads')),
    write: () => Promise.reject(new Error('no writes')), delete: () => Promise.resolve(), close: () => Promise.resolve(),
  };
}

test('planner: index hits replace HEADs; misses, new ETags and new sizes fall back to HEAD with the same decisions', async () => {
  const opts = buildOptions({ source: { filesystem: { path: '/src' } }, destination: { s3: { bucket: 'b' } }, mode: 'Sync' });
  const t = 1_700_000_000_000;
  const src = fileSource([
    { path: 'a', size: 10, mtimeMs: t }, // unchanged, in the index
    { path: 'b', size: 10, mtimeMs: t + 60_000 }, // same size, new mtime: copy
    { path: 'c', size: 10, mtimeMs: t }, // overwritten out of band (new ETag, other recorded mtime): HEAD, copy
    { path: 'd', size: 10, mtimeMs: t }, // not in the index: HEAD, skip
    { path: 'e', size: 11, mtimeMs: t }, // size differs: copy, no HEAD
  ]);
  const dst = objectStore([
    { path: 'a', size: 10, mtimeMs: 0, version: '"A"', recorded: t },
    { path: 'b', size: 10, mtimeMs: 0, version: '"B"', recorded: t },
    { path: 'c', size: 10, mtimeMs: 0, version: '"C2"', recorded: t - 86_400_000 },
    { path: 'd', size: 10, mtimeMs: 0, version: '"D"', recorded: t },
    { path: 'e', size: 10, mtimeMs: 0, version: '"E"', recorded: t },
    { path: 'z', size: 1, mtimeMs: 0, version: '"Z"', recorded: t }, // only in destination: delete
  ]);
  const index = [
    { path: 'a', size: 10, version: '"A"', mtimeMs: t },
    { path: 'b', size: 10, version: '"B"', mtimeMs: t },
    { path: 'c', size: 10, version: '"C1"', mtimeMs: t }, // stale: the object was replaced
    { path: 'e', size: 10, version: '"E"', mtimeMs: t },
    { path: 'y', size: 1, version: '"Y"', mtimeMs: t }, // deleted since
  ];
  const run = async (idx?: IndexCursor) => {
    dst.heads.length = 0;
    const out: Array<{ path: string; action: string; recorded?: { entry: IndexEntry; carried: boolean } | undefined }> = [];
    for await (const p of planDecisions(opts, src, dst, t, undefined, idx)) out.push({ path: p.path, action: p.decision.action, recorded: p.recorded });
    return { out, heads: [...dst.heads] };
  };
  const withIndex = await run(new IndexCursor(blocks(index)));
  const without = await run();
  const corrupt = await run(new IndexCursor(blocks([])));
  const actions = (r: typeof without) => r.out.map((x) => `${x.path}:${x.action}`);
  assert.deepEqual(actions(withIndex), ['a:skip', 'b:copy', 'c:copy', 'd:skip', 'e:copy', 'z:delete']);
  assert.deepEqual(actions(without), actions(withIndex), 'same decisions without the index');
  assert.deepEqual(actions(corrupt), actions(withIndex), 'same decisions with an empty index');
  assert.deepEqual(withIndex.heads, ['c', 'd'], 'HEAD only where the index does not describe the object');
  assert.deepEqual(without.heads, ['a', 'b', 'c', 'd']);
  // What the next index holds: carried entries, and facts from this plan's HEADs.
  const rec = Object.fromEntries(withIndex.out.map((x) => [x.path, x.recorded]));
  assert.deepEqual(rec['a'], { entry: index[0], carried: true });
  assert.deepEqual(rec['b'], { entry: index[1], carried: true });
  assert.deepEqual(rec['c'], { entry: { path: 'c', size: 10, version: '"C2"', mtimeMs: t - 86_400_000 }, carried: false });
  assert.deepEqual(rec['d'], { entry: { path: 'd', size: 10, version: '"D"', mtimeMs: t }, carried: false });
  assert.deepEqual(rec['e'], { entry: index[3], carried: true });
  assert.equal(rec['z'], undefined);
});
