import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readdirSync, statSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { FilesystemBackend } from './filesystem.ts';
import { hasCode } from '../../errors.ts';

function tree(files: string[]): string {
  const root = mkdtempSync(path.join(tmpdir(), 'fsb-'));
  for (const f of files) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), f);
  }
  return root;
}

test('lists recursively in UTF-8 byte order of full paths ("a.txt" < "a/b" < "a0")', async () => {
  const root = tree(['a/b', 'a.txt', 'a0', 'B', 'é/x', 'e\u0301', 'z/y/x']);
  const b = new FilesystemBackend(root, 'source');
  const paths: string[] = [];
  for await (const e of b.list()) paths.push(e.path);
  assert.deepEqual(paths, ['B', 'a.txt', 'a/b', 'a0', 'e\u0301', 'z/y/x', 'é/x']);
  const sub: string[] = [];
  for await (const e of b.list({ prefix: 'z/' })) sub.push(e.path);
  assert.deepEqual(sub, ['z/y/x']);
});

test('write is atomic: a failed stream leaves nothing at the path and no staging file', async () => {
  const root = tree([]);
  const b = new FilesystemBackend(root, 'destination');
  const failing = new Readable({ read() { this.push(Buffer.alloc(1000)); this.destroy(new Error('source broke')); } });
  await assert.rejects(b.write('d/x.bin', failing), /source broke/);
  assert.deepEqual(readdirSync(path.join(root, 'd')), []);
  const r = await b.write('d/x.bin', Readable.from([Buffer.from('hello')]), { mtimeMs: 1_600_000_000_000 });
  assert.equal(r.size, 5);
  assert.equal(r.checksums[0]!.value, (await import('../../checksum.ts')).crc32cHex((await import('../../checksum.ts')).crc32cOf(Buffer.from('hello'))));
  assert.equal(statSync(path.join(root, 'd/x.bin')).mtimeMs, 1_600_000_000_000);
  assert.equal(readFileSync(path.join(root, 'd/x.bin'), 'utf8'), 'hello');
});

test('stat of a missing file is NotFound; delete is idempotent and prunes empty directories', async () => {
  const root = tree(['p/q/r.txt']);
  const b = new FilesystemBackend(root, 'destination');
  await assert.rejects(b.stat('nope'), (e) => hasCode(e, 'NotFound'));
  await b.delete('p/q/r.txt');
  await b.delete('p/q/r.txt');
  assert.deepEqual(readdirSync(root), []);
});

test('ranged read', async () => {
  const root = tree(['f']);
  writeFileSync(path.join(root, 'f'), '0123456789');
  const b = new FilesystemBackend(root, 'source');
  const chunks: Buffer[] = [];
  for await (const c of await b.read('f', { offset: 3, length: 4 })) chunks.push(c as Buffer);
  assert.equal(Buffer.concat(chunks).toString(), '3456');
});

test('a missing source root is a configuration error; a missing destination root lists empty', async () => {
  const missing = path.join(tmpdir(), `absent-${process.pid}-${Date.now()}`);
  const list = async (side: 'source' | 'destination') => { const out = []; for await (const e of new FilesystemBackend(missing, side).list()) out.push(e); return out; };
  await assert.rejects(list('source'), (e) => hasCode(e, 'InvalidConfig') && (e as Error).message.includes(missing));
  assert.deepEqual(await list('destination'), []);
});

test('a whole-file read with the planned size returns the file as it is now: same, grown, shrunk, or large', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'fsb-'));
  const b = new FilesystemBackend(root, 'source');
  const readAll = async (rel: string, expectedSize: number) => Buffer.concat(await (await b.read(rel, { expectedSize })).toArray() as Buffer[]);
  const data = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
  writeFileSync(path.join(root, 'f'), data);
  assert.deepEqual(await readAll('f', 3000), data);
  assert.deepEqual(await readAll('f', 2000), data, 'grown since planning: every byte, so the caller sees the new size');
  assert.deepEqual(await readAll('f', 5000), data, 'shrunk since planning: what is there');
  writeFileSync(path.join(root, 'empty'), '');
  assert.equal((await readAll('empty', 0)).length, 0);
  const big = Buffer.alloc(3 * 1024 * 1024 + 7, 9);
  writeFileSync(path.join(root, 'big'), big);
  assert.deepEqual(await readAll('big', big.length), big, 'above the one-call limit: streamed');
});

test('a streamed read can also be read into the caller\'s buffers (BYOB): whole file and ranges, byte for byte, handle closed on destroy', async () => {
  const { byobOf } = await import('../support/byob.ts');
  const { randomBytes } = await import('node:crypto');
  const root = mkdtempSync(path.join(tmpdir(), 'fsb-'));
  const b = new FilesystemBackend(root, 'source');
  const data = randomBytes(3 * 1024 * 1024 + 11);
  writeFileSync(path.join(root, 'big'), data);
  const readAllInto = async (opts: { offset?: number; length?: number; expectedSize?: number }, step: number) => {
    const stream = await b.read('big', opts);
    const reader = byobOf(stream);
    assert.ok(reader, 'a large file read offers a BYOB reader');
    const out = Buffer.alloc(data.length + 100, 0xee);
    let have = 0;
    for (let n; (n = await reader.readInto(out, have, Math.min(step, out.length - have))) > 0;) have += n;
    const closed = new Promise((resolve) => stream.once('close', resolve));
    stream.destroy();
    await closed;
    return out.subarray(0, have);
  };
  assert.deepEqual(await readAllInto({ expectedSize: data.length }, 1024 * 1024), data);
  // A small file is read whole and handed over as it is.
  writeFileSync(path.join(root, 'small'), data.subarray(0, 16_384));
  const small = await b.read('small', { expectedSize: 16_384 });
  assert.deepEqual(await byobOf(small)?.takeRest?.(), data.subarray(0, 16_384));
  small.destroy();
  assert.deepEqual(await readAllInto({ offset: 1000, length: 2 * 1024 * 1024 }, 777_777), data.subarray(1000, 1000 + 2 * 1024 * 1024), 'a range stops at its end');
  assert.deepEqual(await readAllInto({ offset: data.length - 5 }, 64), data.subarray(data.length - 5), 'an open range stops at the end of the file');
  // Every handle was closed: the directory can be removed and no descriptor points into it.
  const fds = readdirSync('/proc/self/fd').map((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`); } catch { return ''; } });
  assert.equal(fds.filter((f) => f.startsWith(root)).length, 0, 'no descriptor left open on the source');
});

test('small whole-file reads and listing stats on a slow filesystem move to the thread pool, with the same bytes and errors', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'fsb-'));
  const files = Array.from({ length: 80 }, (_, i) => `f${String(i).padStart(3, '0')}`);
  for (const [i, f] of files.entries()) writeFileSync(path.join(root, f), Buffer.alloc(1000 + i, i));
  // Every timed call looks like 1 ms, so the gates trip after one batch of 64.
  let timed = 0;
  let t = 0;
  const b = new FilesystemBackend(root, 'source', { now: () => { timed++; return (t += 1); } });
  const listed = [];
  for await (const e of b.list()) listed.push(e);
  assert.deepEqual(listed.map((e) => [e.path, e.size]), files.map((f, i) => [f, 1000 + i]));
  assert.equal(timed, 2 * 64, 'stats after the first 64 are not timed: they went to the thread pool');
  for (const [i, f] of files.entries()) {
    const got = Buffer.concat(await (await b.read(f, { expectedSize: 1000 + i })).toArray() as Buffer[]);
    assert.deepEqual(got, Buffer.alloc(1000 + i, i), f);
  }
  assert.equal(timed, 4 * 64, 'reads after the first 64 are not timed either');
  // The same error on both paths: a fast backend reads synchronously, the slow one through the pool.
  for (const backend of [new FilesystemBackend(root, 'source'), b]) {
    await assert.rejects(backend.read('missing', { expectedSize: 10 }), (err) => hasCode(err, 'NotFound'));
  }
});
