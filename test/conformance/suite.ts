// The backend conformance suite, after rclone's fstests: every backend runs these same tests
// against its real server, so they are all held to one standard. A backend's own test file only
// says how to build it (see gcs.test.ts). Tests of optional capabilities skip when a backend lacks
// them. Each test works under its own directory of a fresh root, so tests never see each other.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Crc32c } from '@aws-crypto/crc32c';
import { comparePaths, type Backend, type Checksum, type Entry } from '../../copier/backends/backend.ts';
import { asDataSyncError, type DataSyncError, type ErrorCode } from '../../copier/errors.ts';
import { deadAddress, startFaultProxy } from './fault-proxy.ts';

export interface BackendHandle {
  backend: Backend;
  /** Removes everything the handle created (bucket, container, directory). */
  cleanup: () => Promise<void>;
  /**
   * Creates an empty directory (HDFS) or a directory marker object ("dir/", as consoles make) at
   * dirPath, relative to the backend root, with the raw client. Enables the directory tests.
   */
  makeDirectory?: (dirPath: string) => Promise<void>;
}

export interface ConformanceOptions {
  /** The "large" write; should exceed the backend's single-request threshold. Default 12 MiB. */
  largeSize?: number;
  /** Part size for partUpload tests; at least the backend's minimum part size. Default 5 MiB. */
  partSize?: number;
  /** A non-default storage class the server accepts (and reports back in stat). */
  storageClass?: string;
  /** The backend built with credentials the server rejects, or as a user denied access to the root. */
  makeDeniedBackend?: () => Promise<BackendHandle>;
  /** Strings that must never appear in an error message (keys, tokens). */
  secrets?: string[];
  /**
   * The same backend, pointed at another base URL: a fault proxy in front of `upstream`, or a
   * dead port. It should make at most a couple of SDK-internal retries, so a fault surfaces.
   */
  via?: { upstream: string; makeBackendAt: (baseUrl: string) => Promise<BackendHandle> };
}

const MiB = 1024 * 1024;
const TEST_TIMEOUT = 120_000;

/** rclone's fstests fixture name, and friends: the names that break naive URL and path handling. */
export const HOSTILE_NAMES: readonly string[] = [
  `hello? sausage/êé/Hello, 世界/ " ' @ < > & ? + ≠/z.txt`,
  'q?x#y%20z+w&v.txt',
  'percent%2Fslash%41.txt',
  'plus+and space.txt',
  ' leading space.txt',
  'two  spaces.txt',
  'caf\u00e9.txt', // NFC
  'cafe\u0301.txt', // NFD: a different name with the same rendering
  `${'L'.repeat(196)}.txt`, // 200 characters
  'deep/er/still/deeper/file.txt',
];

export function runConformance(name: string, makeBackend: () => Promise<BackendHandle>, opts: ConformanceOptions = {}): void {
  const largeSize = opts.largeSize ?? 12 * MiB;
  const partSize = opts.partSize ?? 5 * MiB;

  describe(`conformance: ${name}`, { timeout: 15 * 60_000 }, () => {
    let handle: BackendHandle;
    let b: Backend;
    before(async () => {
      handle = await makeBackend();
      b = handle.backend;
    });
    after(async () => {
      await handle?.cleanup();
      await handle?.backend.close();
    });

    describe('listing', () => {
      it('paginates past 1,000 entries, each once, in order', { timeout: TEST_TIMEOUT }, async () => {
        const names = Array.from({ length: 1050 }, (_, i) => `page/f-${String(i).padStart(5, '0')}`);
        await mapLimit(names, 16, (p) => b.write(p, bodyOf(Buffer.from(p)), { size: Buffer.byteLength(p) }));
        const listed = await collect(b.list({ prefix: 'page/' }));
        assert.equal(listed.length, names.length);
        assert.deepEqual(listed.map((e) => e.path), names);
        const first = listed[0]!;
        assert.equal(first.size, Buffer.byteLength(first.path));
      });

      it('lists in UTF-8 byte order of the full path', { timeout: TEST_TIMEOUT }, async () => {
        // '/' sorts after ' ' and '-' but before '0'; astral characters (surrogate pairs in
        // UTF-16) sort after U+FFxx in UTF-8 but before it in JavaScript string order.
        const rel = ['a b', 'a-c', 'a/x', 'a/y/z', 'a0', 'B', 'b', 'é', 'e\u0301', '\uFF21', '\u{1F600}', '~'];
        const paths = rel.map((r) => `order/${r}`);
        for (const p of [...paths].reverse()) await b.write(p, bodyOf(Buffer.from('x')), { size: 1 });
        const listed = (await collect(b.list({ prefix: 'order/' }))).map((e) => e.path);
        assert.deepEqual(listed, [...paths].sort(comparePaths));
      });

      it('filters by prefix, as a directory and as a partial name', { timeout: TEST_TIMEOUT }, async () => {
        for (const p of ['pre/one/x', 'pre/one/y', 'pre/onex', 'pre/two/z']) await b.write(p, bodyOf(Buffer.from(p)));
        assert.deepEqual(await paths(b, 'pre/one/'), ['pre/one/x', 'pre/one/y']);
        assert.deepEqual(await paths(b, 'pre/one'), ['pre/one/x', 'pre/one/y', 'pre/onex']);
        assert.deepEqual(await paths(b, 'pre/'), ['pre/one/x', 'pre/one/y', 'pre/onex', 'pre/two/z']);
        assert.deepEqual(await paths(b, 'pre/nothing/'), []);
        assert.deepEqual(await paths(b, 'absent-root/'), []);
      });

      it('does not list empty directories or directory markers as files', { timeout: TEST_TIMEOUT }, async (t) => {
        if (!handle.makeDirectory) return t.skip('no way to make a directory or marker');
        await handle.makeDirectory('dirs/empty');
        await handle.makeDirectory('dirs/full');
        await b.write('dirs/full/f', bodyOf(Buffer.from('f')));
        assert.deepEqual(await paths(b, 'dirs/'), ['dirs/full/f']);
      });
    });

    describe('reading', () => {
      it('stats a file: size, mtime, path', { timeout: TEST_TIMEOUT }, async () => {
        const data = randomBytes(1234);
        const before = Date.now();
        await b.write('stat/file', bodyOf(data), { size: data.length });
        const e = await b.stat('stat/file');
        assert.equal(e.path, 'stat/file');
        assert.equal(e.size, 1234);
        assert.ok(Math.abs(e.mtimeMs - before) < 5 * 60_000, `mtime ${e.mtimeMs} is near now (${before})`);
      });

      it('reads whole files and byte ranges', { timeout: TEST_TIMEOUT }, async () => {
        const data = randomBytes(100 * 1024 + 7);
        await b.write('read/file', bodyOf(data), { size: data.length });
        assert.ok(data.equals(await readAll(await b.read('read/file'))));
        const n = data.length;
        const ranges: Array<[number, number | undefined]> = [
          [0, 1],
          [10, 100],
          [n - 10, undefined],
          [n - 1, 1],
          [n - 5, 100], // longer than what remains: reads to the end
          [4096, 65536],
          [5, 0],
        ];
        for (const [offset, length] of ranges) {
          const got = await readAll(await b.read('read/file', length === undefined ? { offset } : { offset, length }));
          const want = data.subarray(offset, length === undefined ? undefined : offset + length);
          assert.ok(got.equals(want), `range offset=${offset} length=${length}: got ${got.length} bytes, want ${want.length}`);
        }
      });
    });

    describe('writing', () => {
      it('writes a small file', { timeout: TEST_TIMEOUT }, async () => {
        const data = Buffer.from('hello world');
        const r = await b.write('write/small', bodyOf(data), { size: data.length });
        assert.equal(r.size, data.length);
        assert.ok(data.equals(await readAll(await b.read('write/small'))));
      });

      it('writes a 0-byte file', { timeout: TEST_TIMEOUT }, async () => {
        const r = await b.write('write/empty', bodyOf(Buffer.alloc(0)), { size: 0 });
        assert.equal(r.size, 0);
        assert.equal((await b.stat('write/empty')).size, 0);
        assert.equal((await readAll(await b.read('write/empty'))).length, 0);
        assert.deepEqual(await paths(b, 'write/empty'), ['write/empty']);
      });

      it(`writes a large file streamed in chunks, size unknown (${largeSize} bytes)`, { timeout: TEST_TIMEOUT }, async () => {
        const data = randomBytes(largeSize);
        const r = await b.write('write/large', chunked(data, 256 * 1024));
        assert.equal(r.size, data.length);
        assert.equal((await b.stat('write/large')).size, data.length);
        assert.equal(sha256(await readAll(await b.read('write/large'))), sha256(data));
      });

      it('joins parts written out of order, exactly at a part boundary', { timeout: TEST_TIMEOUT }, async (t) => {
        const pu = b.features.partUpload;
        if (!pu) return t.skip('no partUpload');
        for (const sizes of [[partSize, partSize], [partSize, partSize, 1]]) {
          const data = randomBytes(sizes.reduce((a, s) => a + s, 0));
          const path = `parts/joined-${sizes.length}`;
          // The same options go to begin and complete: S3 takes metadata at begin, others at complete.
          const mtimeMs = Date.UTC(2021, 2, 4, 5, 6, 7, 890);
          const token = await pu.begin(path, { mtimeMs });
          let offset = 0;
          const slices = sizes.map((size, i) => ({ partNumber: i + 1, slice: data.subarray(offset, (offset += size)) }));
          const receipts = await Promise.all(
            [...slices].reverse().map(({ partNumber, slice }) => pu.writePart(token, path, partNumber, bodyOf(slice), slice.length)),
          );
          receipts.sort((x, y) => x.partNumber - y.partNumber);
          await assert.rejects(b.stat(path), isCode('NotFound'), 'nothing visible before complete');
          const r = await pu.complete(token, path, receipts, { mtimeMs });
          assert.equal(r.size, data.length);
          assert.ok(Math.abs((await b.stat(path)).mtimeMs - mtimeMs) < 1000, 'complete keeps the modification time it is given');
          assert.equal(sha256(await readAll(await b.read(path))), sha256(data));
          assertChecksumsMatch(r.checksums, data);
        }
        assert.deepEqual(await paths(b, 'parts/'), ['parts/joined-2', 'parts/joined-3'], 'no part leftovers are listed');
      });

      it('aborting a part upload leaves nothing behind', { timeout: TEST_TIMEOUT }, async (t) => {
        const pu = b.features.partUpload;
        if (!pu) return t.skip('no partUpload');
        const token = await pu.begin('abort-parts/f', {});
        await pu.writePart(token, 'abort-parts/f', 1, bodyOf(randomBytes(1000)), 1000);
        await pu.abort(token, 'abort-parts/f');
        await assert.rejects(b.stat('abort-parts/f'), isCode('NotFound'));
        assert.deepEqual(await paths(b, 'abort-parts/'), []);
      });

      it('keeps the requested storage class', { timeout: TEST_TIMEOUT }, async (t) => {
        if (!opts.storageClass) return t.skip('no storage class to test');
        await b.write('class/f', bodyOf(Buffer.from('c')), { storageClass: opts.storageClass });
        assert.equal((await b.stat('class/f')).storageClass, opts.storageClass);
      });
    });

    describe('overwrite and delete', () => {
      it('overwrites, and refuses to when ifNotExists', { timeout: TEST_TIMEOUT }, async () => {
        await b.write('over/f', bodyOf(Buffer.from('first version, longer')));
        await b.write('over/f', bodyOf(Buffer.from('second')));
        assert.equal((await readAll(await b.read('over/f'))).toString(), 'second');
        assert.equal((await b.stat('over/f')).size, 6);
        await assert.rejects(b.write('over/f', bodyOf(Buffer.from('third')), { ifNotExists: true }), isCode('AlreadyExists', 'PreconditionFailed'));
        assert.equal((await readAll(await b.read('over/f'))).toString(), 'second');
        await b.write('over/new', bodyOf(Buffer.from('new')), { ifNotExists: true });
        assert.equal((await readAll(await b.read('over/new'))).toString(), 'new');
        assert.deepEqual(await paths(b, 'over/'), ['over/f', 'over/new']);
      });

      it('deletes, and deleting an absent path succeeds', { timeout: TEST_TIMEOUT }, async () => {
        await b.write('del/f', bodyOf(Buffer.from('x')));
        await b.delete('del/f');
        await assert.rejects(b.stat('del/f'), isCode('NotFound'));
        await b.delete('del/f');
        await b.delete('del/never-existed');
        assert.deepEqual(await paths(b, 'del/'), []);
      });

      it('deletes in batches: more paths than one request takes, absent ones included, others kept', { timeout: TEST_TIMEOUT }, async (t) => {
        const batch = b.features.deleteBatch;
        if (!batch) return t.skip('no deleteBatch');
        // 1,001 paths: past S3's 1,000 keys per DeleteObjects, so the last one is in a second request.
        const names = Array.from({ length: 1001 }, (_, i) => `delb/${String(i).padStart(4, '0')}`);
        const written = [names[0]!, names[500]!, names[1000]!];
        for (const p of [...written, 'delb/keep']) await b.write(p, bodyOf(Buffer.from(p)));
        await batch(names);
        assert.deepEqual(await paths(b, 'delb/'), ['delb/keep']);
        await batch(names); // all absent now: still fine
      });
    });

    describe('server-side copy', () => {
      it('copies within the backend without reading through the client', { timeout: TEST_TIMEOUT }, async (t) => {
        const copy = b.features.serverSideCopy;
        if (!copy) return t.skip('no serverSideCopy');
        const data = randomBytes(70 * 1024);
        await b.write('ssc/from', bodyOf(data), { size: data.length });
        const r = await copy('ssc/from', 'ssc/to/copy', {});
        assert.equal(r.size, data.length);
        assertChecksumsMatch(r.checksums, data);
        assert.ok(data.equals(await readAll(await b.read('ssc/to/copy'))));
        assert.ok(data.equals(await readAll(await b.read('ssc/from'))), 'the source is untouched');
        await assert.rejects(copy('ssc/from', 'ssc/to/copy', { ifNotExists: true }), isCode('AlreadyExists', 'PreconditionFailed'));
      });
    });

    describe('hostile names', () => {
      it('round-trips names with ? # % + & spaces, NFC/NFD and 200 characters', { timeout: TEST_TIMEOUT }, async () => {
        const all = HOSTILE_NAMES.map((n) => `hostile/${n}`);
        for (const p of all) await b.write(p, bodyOf(Buffer.from(p)));
        assert.deepEqual(await paths(b, 'hostile/'), [...all].sort(comparePaths));
        for (const p of all) {
          assert.equal((await b.stat(p)).size, Buffer.byteLength(p), p);
          assert.equal((await readAll(await b.read(p))).toString(), p, `content of ${p}`);
        }
        // NFC and NFD are distinct names: each kept its own content.
        assert.notEqual('hostile/caf\u00e9.txt', 'hostile/cafe\u0301.txt');
        await b.delete('hostile/caf\u00e9.txt');
        assert.equal((await readAll(await b.read('hostile/cafe\u0301.txt'))).toString(), 'hostile/cafe\u0301.txt');
        for (const p of all) await b.delete(p);
        assert.deepEqual(await paths(b, 'hostile/'), []);
      });
    });

    describe('metadata', () => {
      it('reports checksums that match locally computed ones', { timeout: TEST_TIMEOUT }, async () => {
        const data = randomBytes(300 * 1024 + 3);
        const r = await b.write('sum/f', bodyOf(data), { size: data.length });
        const e = await b.stat('sum/f');
        const reported = [...r.checksums, ...(e.checksums ?? [])];
        const cs = b.features.checksum;
        if (cs) {
          for (const alg of b.features.nativeChecksums) {
            const c = await cs('sum/f', alg);
            if (c) reported.push(c);
          }
        }
        if (b.features.nativeChecksums.length > 0) assert.ok(reported.length > 0, 'a backend with native checksums reports at least one');
        assertChecksumsMatch(reported, data);
        for (const c of reported) assert.ok(b.features.nativeChecksums.includes(c.algorithm), `${c.algorithm} is declared in features`);
      });

      it('keeps the modification time it is given', { timeout: TEST_TIMEOUT }, async () => {
        const mtimeMs = Date.UTC(2020, 8, 13, 12, 26, 40, 123);
        await b.write('mtime/f', bodyOf(Buffer.from('m')), { mtimeMs });
        const kept = (await b.stat('mtime/f')).mtimeMs;
        assert.ok(Math.abs(kept - mtimeMs) < 1000, `mtime kept: ${new Date(kept).toISOString()}`);
        // S3 listings carry no metadata; such backends say so and the planner stats instead.
        if (!b.features.listModTimeIsUploadTime) assert.equal((await collect(b.list({ prefix: 'mtime/' })))[0]?.mtimeMs, kept, 'list and stat agree');
      });

      it('sets the modification time after writing', { timeout: TEST_TIMEOUT }, async (t) => {
        const set = b.features.setModTime;
        if (!set) return t.skip('no setModTime');
        await b.write('mtime/g', bodyOf(Buffer.from('m')));
        const mtimeMs = Date.UTC(2019, 0, 2, 3, 4, 5, 678);
        await set('mtime/g', mtimeMs);
        assert.ok(Math.abs((await b.stat('mtime/g')).mtimeMs - mtimeMs) < 1000);
      });
    });

    describe('atomic promote', () => {
      it('renames a staged file over the final one', { timeout: TEST_TIMEOUT }, async (t) => {
        const rename = b.features.rename;
        if (!rename) return t.skip('no rename (writes are atomic by themselves)');
        await b.write('promote/final', bodyOf(Buffer.from('old')));
        await b.write('promote/staged', bodyOf(Buffer.from('new data')));
        await assert.rejects(rename('promote/staged', 'promote/final'), isCode('AlreadyExists', 'PreconditionFailed'));
        await rename('promote/staged', 'promote/final', { overwrite: true });
        assert.equal((await readAll(await b.read('promote/final'))).toString(), 'new data');
        await assert.rejects(b.stat('promote/staged'), isCode('NotFound'));
        await rename('promote/final', 'promote/sub/dir/moved');
        assert.deepEqual(await paths(b, 'promote/'), ['promote/sub/dir/moved']);
      });

      it('a write that fails midway leaves the previous version untouched', { timeout: TEST_TIMEOUT }, async () => {
        await b.write('atomic/f', bodyOf(Buffer.from('previous')));
        const failing = Readable.from(
          (async function* () {
            for (let i = 0; i < 4; i++) yield randomBytes(64 * 1024);
            throw new Error('source broke');
          })(),
        );
        await assert.rejects(b.write('atomic/f', failing));
        assert.equal((await readAll(await b.read('atomic/f'))).toString(), 'previous');
        assert.deepEqual(await paths(b, 'atomic/'), ['atomic/f']);
      });
    });

    describe('concurrency', () => {
      it('parallel writes and reads of distinct files', { timeout: TEST_TIMEOUT }, async () => {
        const files = Array.from({ length: 24 }, (_, i) => ({ path: `conc/f${i}`, data: randomBytes(32 * 1024 + i) }));
        await mapLimit(files, 12, (f) => b.write(f.path, bodyOf(f.data), { size: f.data.length }));
        await mapLimit(files, 12, async (f) => assert.ok(f.data.equals(await readAll(await b.read(f.path))), f.path));
        assert.equal((await paths(b, 'conc/')).length, files.length);
      });

      it('parallel overwrites of one path leave exactly one whole version', { timeout: TEST_TIMEOUT }, async () => {
        const versions = Array.from({ length: 6 }, () => randomBytes(128 * 1024));
        const results = await Promise.allSettled(versions.map((v) => b.write('race/f', bodyOf(v), { size: v.length })));
        assert.ok(results.some((r) => r.status === 'fulfilled'), 'at least one writer wins');
        const got = await readAll(await b.read('race/f'));
        assert.ok(versions.some((v) => v.equals(got)), 'the content is one whole version');
        assert.deepEqual(await paths(b, 'race/'), ['race/f']);
      });
    });

    describe('error typing', () => {
      it('NotFound on stat and read of an absent path, naming it', { timeout: TEST_TIMEOUT }, async () => {
        const e1 = await rejectsWith(b.stat('absent/thing.txt'), 'NotFound');
        assert.ok(e1.message.includes('absent/thing.txt'), e1.message);
        assert.equal(e1.retryable, false);
        await rejectsWith(
          b.read('absent/thing.txt').then((s) => readAll(s)),
          'NotFound',
        );
      });

      it('PermissionDenied or Unauthenticated when access is refused, never showing a secret', { timeout: TEST_TIMEOUT }, async (t) => {
        if (!opts.makeDeniedBackend) return t.skip('the test server enforces no access control');
        const denied = await opts.makeDeniedBackend();
        try {
          for (const attempt of [
            () => denied.backend.stat('any'),
            () => collect(denied.backend.list()),
            () => denied.backend.write('denied/f', bodyOf(Buffer.from('x'))),
            ...(denied.backend.features.deleteBatch ? [() => denied.backend.features.deleteBatch!(['denied/a', 'denied/b'])] : []),
          ]) {
            const err = await rejectsWith(attempt(), 'PermissionDenied', 'Unauthenticated');
            assert.equal(err.retryable, false);
            for (const secret of opts.secrets ?? []) assert.ok(!err.message.includes(secret), 'message shows no credential');
          }
        } finally {
          await denied.cleanup();
          await denied.backend.close();
        }
      });

      for (const status of [429, 503] as const) {
        it(`Throttled and retryable on HTTP ${status}`, { timeout: TEST_TIMEOUT }, async (t) => {
          if (!opts.via) return t.skip('the backend cannot be pointed at a proxy');
          const proxy = await startFaultProxy({ upstream: opts.via.upstream, fault: { kind: 'throttle', status }, failFirst: Infinity });
          const throttled = await opts.via.makeBackendAt(proxy.url);
          try {
            const err = await rejectsWith(throttled.backend.stat('stat-through-proxy'), 'Throttled');
            assert.equal(err.retryable, true);
            assert.ok(proxy.faulted() >= 1);
          } finally {
            await throttled.backend.close();
            await proxy.close();
          }
        });
      }

      it('Unreachable and retryable when nothing listens', { timeout: TEST_TIMEOUT }, async (t) => {
        if (!opts.via) return t.skip('the backend cannot be pointed at another address');
        const dead = await opts.via.makeBackendAt(await deadAddress());
        try {
          const err = await rejectsWith(dead.backend.stat('x'), 'Unreachable');
          assert.equal(err.retryable, true);
        } finally {
          await dead.backend.close();
        }
      });
    });

    describe('cancellation', () => {
      it('aborting a write mid-stream leaves nothing at the final path', { timeout: TEST_TIMEOUT }, async () => {
        const ac = new AbortController();
        let sent = 0;
        const endless = Readable.from(
          (async function* () {
            // Bounded, in case the backend ignores the signal: the test then fails, not hangs.
            while (sent < largeSize * 2) {
              const chunk = randomBytes(64 * 1024);
              sent += chunk.length;
              if (sent >= 512 * 1024) ac.abort();
              yield chunk;
              await new Promise((r) => setImmediate(r));
            }
          })(),
        );
        await rejectsWith(b.write('cancel/f', endless, { signal: ac.signal }), 'Aborted');
        assert.ok(sent < largeSize * 2, 'the write stopped reading its body');
        await assert.rejects(b.stat('cancel/f'), isCode('NotFound'));
        assert.deepEqual(await paths(b, 'cancel/'), []);
      });

      it('aborting a read stops the stream', { timeout: TEST_TIMEOUT }, async () => {
        const data = randomBytes(4 * MiB);
        await b.write('cancel/read', bodyOf(data), { size: data.length });
        const ac = new AbortController();
        const stream = await b.read('cancel/read', { signal: ac.signal });
        let got = 0;
        await assert.rejects(
          (async () => {
            for await (const chunk of stream) {
              got += (chunk as Buffer).length;
              ac.abort();
            }
          })(),
        );
        assert.ok(got < data.length, `read stopped early (${got} of ${data.length})`);
      });
    });
  });
}

// ---- helpers ----

function bodyOf(data: Buffer): Readable {
  return Readable.from([data]);
}

function chunked(data: Buffer, size: number): Readable {
  return Readable.from(
    (function* () {
      for (let o = 0; o < data.length; o += size) yield data.subarray(o, o + size);
    })(),
  );
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

async function collect(it: AsyncIterable<Entry>): Promise<Entry[]> {
  const out: Entry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

async function paths(b: Backend, prefix: string): Promise<string[]> {
  return (await collect(b.list({ prefix }))).map((e) => e.path);
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function localChecksum(algorithm: Checksum['algorithm'], data: Buffer): string {
  if (algorithm === 'crc32c') return (new Crc32c().update(data).digest() >>> 0).toString(16).padStart(8, '0');
  return createHash(algorithm).update(data).digest('hex');
}

function assertChecksumsMatch(reported: readonly Checksum[], data: Buffer): void {
  for (const c of reported) assert.equal(c.value, localChecksum(c.algorithm, data), `${c.algorithm} matches the local computation`);
}

function isCode(...codes: ErrorCode[]): (err: unknown) => boolean {
  return (err) => {
    const e = asDataSyncError(err);
    assert.ok(e, `expected a DataSyncError with code ${codes.join('|')}, got ${String(err)}`);
    assert.ok(codes.includes(e.code), `expected code ${codes.join('|')}, got ${e.code}: ${e.message}`);
    return true;
  };
}

async function rejectsWith(p: Promise<unknown>, ...codes: ErrorCode[]): Promise<DataSyncError> {
  try {
    await p;
  } catch (err) {
    isCode(...codes)(err);
    return asDataSyncError(err)!;
  }
  assert.fail(`expected a rejection with code ${codes.join('|')}`);
}
