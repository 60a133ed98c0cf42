// A local directory or mounted volume. Writes go to a temporary name in the target directory and
// are renamed into place, so a reader never sees a partial file; the listing walks one directory
// at a time, so memory is bounded by the widest directory, not the tree.
import fs, { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, open, readdir, rename, rm, rmdir, stat, unlink, utimes } from 'node:fs/promises';
import { statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Backend, Entry, Features, ListOptions, PartReceipt, PartUpload, ReadOptions, WriteOptions, WriteResult } from '../backend.ts';
import { comparePaths } from '../backend.ts';
import { ChecksumStream, crc32cChecksum } from '../../checksum.ts';
import { DataSyncError, type Side } from '../../errors.ts';
import { translateFsError } from './errors.ts';
import { bufferReader, withByob } from '../support/byob.ts';
import { SyncWhileFast } from './sync-gate.ts';

/** Stats in flight ahead of the entry being listed (the thread pool runs 4 at a time by default). */
const STAT_AHEAD = 32;
/**
 * When listing stats and small-file reads stop running synchronously (sync-gate.ts): a batch of 64
 * with a median over 0.5 ms (or a mean over 2 ms), or one call over 50 ms, means a slow (network)
 * filesystem. Measured here: a stat takes about 5 µs; a 16 KiB read 8 µs from the page cache and
 * 130 µs from the disk, but 30-200 µs from the page cache inside a copier sharing two busy cores
 * (the timings are wall time, and the call waits for the CPU too).
 */
const SYNC_LIMITS = { batch: 64, medianMs: 0.5, maxMs: 50 };
/** Entries #walk hands on at a time. */
const WALK_BATCH = 256;

/** Staging names: hidden from listings, unique per write, short enough for any parent name. */
export const TEMP_PREFIX = '.datasync-tmp-';

/** Files up to this size (as planned) are read with one call into one buffer. */
const WHOLE_READ_MAX = 1024 * 1024;
/**
 * ...and up to this size synchronously while such reads are fast (a cached 256 KiB read takes a
 * median 30 µs of the event loop); bigger ones always go to the thread pool.
 */
const SYNC_READ_MAX = 256 * 1024;
/** Larger files stream in 1 MiB reads: at 64 KiB, per-read overhead was 10% of B1's copier CPU. */
const READ_CHUNK = 1024 * 1024;

/**
 * A small file in one buffer: open, one read, close. For 16 KiB files the stream machinery (64 KiB
 * reads, a final empty read) and FileHandle promises cost more CPU than the read itself, so this
 * uses the callback API. One byte more than expected is asked for: a file that grew since planning
 * returns undefined and is streamed whole instead, so the caller still sees its real size.
 */
function readSmallFile(file: string, expected: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    fs.open(file, 'r', (err, fd) => {
      if (err) return reject(err);
      const want = expected + 1;
      const buf = Buffer.allocUnsafe(want);
      const finish = (readErr: Error | null, got: number) => fs.close(fd, (closeErr) => {
        if (readErr ?? closeErr) return reject(readErr ?? closeErr);
        resolve(got < want ? buf.subarray(0, got) : undefined);
      });
      // A read returning exactly the expected size is the whole file (no second read to see EOF);
      // a short one continues until EOF.
      const readFrom = (got: number): void => fs.read(fd, buf, got, want - got, got, (readErr, n) => {
        if (readErr) return finish(readErr, got);
        if (n === 0 || got + n >= expected) return finish(null, got + n);
        readFrom(got + n);
      });
      readFrom(0);
    });
  });
}

/** readSmallFile with synchronous calls: the same reads, and the same answer for a file that grew. */
function readSmallFileSync(file: string, expected: number): Buffer | undefined {
  const fd = fs.openSync(file, 'r');
  try {
    const want = expected + 1;
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, got, want - got, got);
      got += n;
      if (n === 0 || got >= expected) break;
    }
    return got < want ? buf.subarray(0, got) : undefined;
  } finally {
    fs.closeSync(fd);
  }
}

export class FilesystemBackend implements Backend {
  readonly kind = 'filesystem';
  readonly location: string;
  readonly features: Features;
  readonly #root: string;
  readonly #side: Side;
  /** Listing stats (#walk) and small-file reads run synchronously while these say so. */
  readonly #statGate: SyncWhileFast;
  readonly #readGate: SyncWhileFast;

  /** `now` times the synchronous calls; tests pass a slow clock to stand in for a slow filesystem. */
  constructor(root: string, side: Side, opts: { now?: () => number } = {}) {
    this.#root = path.resolve(root);
    this.#side = side;
    this.#statGate = new SyncWhileFast(SYNC_LIMITS, opts.now);
    this.#readGate = new SyncWhileFast(SYNC_LIMITS, opts.now);
    this.location = `file://${this.#root}`;
    this.features = {
      // CRC32C of what a write stored, computed while writing (never for files it did not write).
      nativeChecksums: ['crc32c'],
      atomicWrite: true,
      rename: (from, to, o) => this.#rename(from, to, o?.overwrite ?? false),
      setModTime: (p, mtimeMs) => this.#setModTime(p, mtimeMs),
      removeEmptyDir: (p) => this.#removeEmptyDir(p),
      partUpload: this.#partUpload(),
    };
  }

  #full(rel: string): string {
    if (rel.startsWith('/') || rel.split('/').includes('..')) {
      throw new DataSyncError(`refusing path outside ${this.location}: ${rel}`, { code: 'InvalidConfig', side: this.#side, endpoint: this.location, path: rel });
    }
    return path.join(this.#root, rel);
  }
  #fail(err: unknown, op: string, rel?: string): DataSyncError {
    return translateFsError(err, op, this.#side, this.location, rel);
  }

  async *list(opts: ListOptions = {}): AsyncGenerator<Entry> {
    for await (const batch of this.listBatches(opts)) yield* batch;
  }

  async *listBatches(opts: ListOptions = {}): AsyncGenerator<Entry[]> {
    const prefix = opts.prefix ?? '';
    // Start at the deepest directory the prefix names, then filter by the rest of it.
    const startDir = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';
    try {
      const st = await stat(this.#full(startDir || '.'));
      if (!st.isDirectory()) throw Object.assign(new Error(`${this.#full(startDir)} is not a directory`), { code: 'ENOTDIR' });
    } catch (err) {
      // An absent sub-prefix, or a destination not created yet, lists nothing; an absent source is an error.
      if ((err as { code?: string }).code === 'ENOENT' && (startDir !== '' || this.#side !== 'source')) return;
      if ((err as { code?: string }).code === 'ENOENT') {
        throw new DataSyncError(`${this.#side} directory ${this.#root} does not exist; check the path (and that its volume is mounted)`, { code: 'InvalidConfig', side: this.#side, endpoint: this.location, cause: err });
      }
      if ((err as { code?: string }).code === 'ENOTDIR') {
        // The directory itself, or a file where one of the directories on its path should be (a
        // stray file named .datasync in a destination, say).
        throw new DataSyncError(`${this.#side} path ${this.#full(startDir || '.')} is not a directory, or a file stands where one of its directories should be`, { code: 'InvalidConfig', side: this.#side, endpoint: this.location, cause: err });
      }
      throw this.#fail(err, 'list', startDir || undefined);
    }
    // #walk works in batches (runs of files of one directory): a generator layer per entry costs a
    // few promises.
    for await (const batch of this.#walk(startDir, opts.signal)) {
      yield prefix === startDir ? batch : batch.filter((entry) => entry.path.startsWith(prefix));
    }
  }

  /**
   * Yields files under relDir in UTF-8 byte order of their full paths. A directory sorts as its
   * name plus '/', which is exactly where its children fall in full-path order ('a.txt' < 'a/b').
   */
  async *#walk(relDir: string, signal?: AbortSignal): AsyncGenerator<Entry[]> {
    const dirPath = this.#full(relDir || '.');
    let dirents;
    try {
      dirents = await readdir(dirPath, { withFileTypes: true });
    } catch (err) {
      throw this.#fail(err, 'list', relDir || undefined);
    }
    // A child's path is the directory's plus its name: path.join's normalizing cost a sixth of the
    // walk's CPU (203 against 169 ms for 20,000 files), for names readdir gives without separators
    // and a directory path #full already normalized.
    const childPath = dirPath.endsWith('/') ? (name: string) => dirPath + name : (name: string) => `${dirPath}/${name}`;
    const children: Array<{ key: string; name: string; dir: boolean }> = [];
    for (const d of dirents) {
      if (d.name.startsWith(TEMP_PREFIX)) continue;
      let dir = d.isDirectory();
      if (d.isSymbolicLink()) {
        const st = await stat(childPath(d.name)).catch(() => undefined);
        if (!st) continue; // dangling link: nothing to copy
        dir = st.isDirectory();
      } else if (!dir && !d.isFile()) continue; // sockets, fifos, devices
      children.push({ key: dir ? `${d.name}/` : d.name, name: d.name, dir });
    }
    children.sort((a, b) => comparePaths(a.key, b.key));
    // Stats run synchronously while the gate says they are fast (a fifth of the CPU of a
    // thread-pool round trip per file). Once they are not, they go to the thread pool, up to
    // STAT_AHEAD children ahead of the one being yielded. Entries come out in order either way.
    const stats = new Map<number, Promise<Stats | { err: unknown }>>();
    let started = 0;
    let batch: Entry[] = [];
    for (let i = 0; i < children.length; i++) {
      signal?.throwIfAborted();
      const child = children[i]!;
      const rel = relDir + child.name;
      if (child.dir || batch.length >= WALK_BATCH) {
        if (batch.length) yield batch;
        batch = [];
      }
      if (child.dir) {
        yield* this.#walk(`${rel}/`, signal);
        continue;
      }
      const ahead = stats.get(i);
      let st: Stats | { err: unknown } | undefined = ahead ? await ahead : undefined;
      stats.delete(i);
      if (!st && this.#statGate.fast) {
        try {
          st = this.#statGate.run(() => statSync(childPath(child.name)));
        } catch (err) {
          st = { err };
        }
      }
      if (!st) {
        for (started = Math.max(started, i); started < children.length && started <= i + STAT_AHEAD; started++) {
          const c = children[started]!;
          if (!c.dir && !stats.has(started)) stats.set(started, stat(childPath(c.name)).catch((err: unknown) => ({ err })));
        }
        st = await stats.get(i)!;
        stats.delete(i);
      }
      if ('err' in st) {
        if ((st.err as { code?: string }).code === 'ENOENT') continue; // vanished while listing
        throw this.#fail(st.err, 'stat', rel);
      }
      batch.push({ path: rel, size: st.size, mtimeMs: Math.floor(st.mtimeMs) });
    }
    if (batch.length) yield batch;
  }

  async stat(rel: string): Promise<Entry> {
    try {
      const st = await stat(this.#full(rel));
      if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOENT' });
      return { path: rel, size: st.size, mtimeMs: Math.floor(st.mtimeMs) };
    } catch (err) {
      throw this.#fail(err, 'stat', rel);
    }
  }

  async read(rel: string, opts: ReadOptions = {}): Promise<Readable> {
    const start = opts.offset ?? 0;
    if (opts.length === 0) return Readable.from([]);
    try {
      if (opts.offset === undefined && opts.length === undefined && opts.expectedSize !== undefined && opts.expectedSize <= WHOLE_READ_MAX) {
        const file = this.#full(rel);
        const whole = opts.expectedSize <= SYNC_READ_MAX && this.#readGate.fast
          ? this.#readGate.run(() => readSmallFileSync(file, opts.expectedSize!))
          : await readSmallFile(file, opts.expectedSize);
        if (whole) return withByob(Readable.from([whole], { objectMode: false }), bufferReader(whole));
      }
      // Opening first surfaces permission errors here rather than later on the stream.
      const handle = await open(this.#full(rel), 'r');
      const stream = handle.createReadStream({
        highWaterMark: READ_CHUNK,
        start,
        ...(opts.length === undefined ? {} : { end: start + opts.length - 1 }),
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      });
      // A part uploader may read straight into its part buffers instead (support/byob.ts); the
      // stream, destroyed by that consumer when done, still owns and closes the handle.
      let position = start;
      const end = opts.length === undefined ? Infinity : start + opts.length;
      return withByob(stream, {
        readInto: async (target, offset, length) => {
          opts.signal?.throwIfAborted();
          const want = Math.min(length, end - position);
          if (want <= 0) return 0;
          try {
            const { bytesRead } = await handle.read(target, offset, want, position);
            position += bytesRead;
            return bytesRead;
          } catch (err) {
            throw this.#fail(err, 'read', rel);
          }
        },
      });
    } catch (err) {
      throw this.#fail(err, 'read', rel);
    }
  }

  /** Writes in flight per final path: the staging name is per target, so same-path writes queue. */
  readonly #writing = new Map<string, Promise<unknown>>();

  async write(rel: string, body: Readable, opts: WriteOptions = {}): Promise<WriteResult> {
    const final = this.#full(rel);
    const before = this.#writing.get(final) ?? Promise.resolve();
    const mine = before.catch(() => {}).then(() => this.#writeNow(rel, final, body, opts));
    this.#writing.set(final, mine);
    try {
      return await mine;
    } finally {
      if (this.#writing.get(final) === mine) this.#writing.delete(final);
    }
  }

  async #writeNow(rel: string, final: string, body: Readable, opts: WriteOptions): Promise<WriteResult> {
    // One staging name per target: a write retried after a crash (kill -9) reuses and replaces
    // the dead attempt's leftover instead of leaving it behind.
    const tmp = path.join(path.dirname(final), TEMP_PREFIX + createHash('sha256').update(path.basename(final)).digest('hex').slice(0, 20));
    const sum = new ChecksumStream();
    try {
      await mkdir(path.dirname(final), { recursive: true });
      await pipeline(body, sum, createWriteStream(tmp, { flags: 'w', flush: true }), ...(opts.signal ? [{ signal: opts.signal }] : []));
      if (opts.size !== undefined && sum.bytes !== opts.size) {
        throw new DataSyncError(`wrote ${sum.bytes} bytes to ${rel}, expected ${opts.size}`, { code: 'ChecksumMismatch', side: 'source', path: rel, retryable: true });
      }
      if (opts.mtimeMs !== undefined) await utimes(tmp, new Date(), new Date(opts.mtimeMs));
      if (opts.ifNotExists && (await exists(final))) {
        throw new DataSyncError(`${rel} already exists in ${this.location}`, { code: 'PreconditionFailed', side: this.#side, path: rel });
      }
      await rename(tmp, final);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      throw this.#fail(err, 'write', rel);
    }
    return { size: sum.bytes, checksums: [crc32cChecksum(sum.crc32c)] };
  }

  async delete(rel: string): Promise<void> {
    try {
      await unlink(this.#full(rel));
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw this.#fail(err, 'delete', rel);
    }
    await this.#pruneEmptyParents(rel);
  }

  /** Removing a file's last sibling removes its directory, as an object store would "remove" it. */
  async #pruneEmptyParents(rel: string): Promise<void> {
    let dir = path.posix.dirname(rel);
    while (dir !== '.' && dir !== '') {
      if (!(await this.#removeEmptyDir(dir).then(() => true, () => false))) return;
      dir = path.posix.dirname(dir);
    }
  }
  async #removeEmptyDir(rel: string): Promise<void> {
    await rmdir(this.#full(rel));
  }
  async #rename(from: string, to: string, overwrite: boolean): Promise<void> {
    try {
      await mkdir(path.dirname(this.#full(to)), { recursive: true });
      if (overwrite) {
        await rename(this.#full(from), this.#full(to));
      } else {
        // link() refuses an existing target atomically, where rename() would replace it.
        await link(this.#full(from), this.#full(to));
        await unlink(this.#full(from));
      }
    } catch (err) {
      throw this.#fail(err, 'rename', from);
    }
    await this.#pruneEmptyParents(from);
  }
  async #setModTime(rel: string, mtimeMs: number): Promise<void> {
    try {
      await utimes(this.#full(rel), new Date(), new Date(mtimeMs));
    } catch (err) {
      throw this.#fail(err, 'set mtime of', rel);
    }
  }

  /** Parts are files in a hidden staging directory beside the target, concatenated on complete. */
  #partUpload(): PartUpload {
    const stagingDir = (rel: string, token: string) => path.join(path.dirname(this.#full(rel)), `${TEMP_PREFIX}${token}.parts`);
    return {
      begin: async (rel) => {
        const token = randomBytes(8).toString('hex');
        await mkdir(stagingDir(rel, token), { recursive: true }).catch((err) => { throw this.#fail(err, 'begin upload of', rel); });
        return token;
      },
      writePart: async (token, rel, partNumber, body, size, signal) => {
        const dir = stagingDir(rel, token);
        const target = path.join(dir, String(partNumber).padStart(6, '0'));
        const tmp = `${target}.tmp`;
        const sum = new ChecksumStream();
        try {
          await pipeline(body, sum, createWriteStream(tmp, { flush: true }), ...(signal ? [{ signal }] : []));
          if (sum.bytes !== size) throw new DataSyncError(`part ${partNumber} of ${rel}: got ${sum.bytes} bytes, expected ${size}`, { code: 'ChecksumMismatch', side: 'source', path: rel, retryable: true });
          await rename(tmp, target);
        } catch (err) {
          await rm(tmp, { force: true }).catch(() => {});
          throw this.#fail(err, 'write part of', rel);
        }
        return { partNumber, size, id: target, checksum: crc32cChecksum(sum.crc32c) };
      },
      complete: async (token, rel, parts, opts) => {
        const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
        const result = await this.write(rel, Readable.from(concatParts(sorted)), opts);
        await rm(stagingDir(rel, token), { recursive: true, force: true });
        return result;
      },
      abort: async (token, rel) => {
        await rm(stagingDir(rel, token), { recursive: true, force: true });
      },
    };
  }

  async close(): Promise<void> {}
}

async function* concatParts(parts: PartReceipt[]): AsyncGenerator<Buffer> {
  for (const part of parts) {
    for await (const chunk of createReadStream(part.id)) yield chunk as Buffer;
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}
