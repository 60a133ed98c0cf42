// The recorded-mtime index: what a run learned about destination objects whose listing carries the
// upload time instead of the source mtime (S3: `features.listModTimeIsUploadTime`), so the next
// plan needs no HEAD per object to read it back from object metadata.
//
// Each entry is a fact about one stored object version: "the object at `path` whose size is `size`
// and whose version (S3 ETag) is `version` carries recorded mtime `mtimeMs`". Facts come only from
// the store's own answers about that version: a HEAD (size, ETag and metadata in one response) or a
// write result (the ETag of the object we just wrote, with the mtime we wrote into its metadata). The
// planner uses an entry only when the listing shows the same path, size and version, so an object
// deleted, rewritten or overwritten out of band (new ETag) misses and is HEADed as before. A missing,
// stale, truncated or corrupt index therefore costs HEADs, never a different decision.
//
// Known limit of ETag identity: S3 ETags are content digests, so an out-of-band rewrite with
// byte-identical content but different metadata keeps the ETag; the index then answers with the
// mtime we recorded. The bytes at the destination are the source's bytes in that case.
//
// Format (JSON lines, path-ascending in UTF-8 byte order like every listing, one object written
// atomically through the Backend interface, streamed on read so memory stays bounded):
//   {"datasyncMtimeIndex":1,"location":"s3://bucket/prefix/ (endpoint)"}
//   ["path",size,"version",mtimeMs]            × up to BLOCK entries
//   {"crc32c":"<hex of the entry lines' bytes>","n":<entries>}
//   ... more blocks ...
// A block's entries are used only after its checksum line verifies; the first bad line, bad
// checksum or out-of-order path ends the index there (the entries after it are treated as absent).
import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { comparePaths, type Backend, type Entry } from '../backends/backend.ts';
import { crc32cHex, crc32cUpdate } from '../checksum.ts';
import { hasCode } from '../errors.ts';

export const INDEX_FORMAT = 1;
/** Entries per checksummed block: what a reader holds before it may use them. */
export const BLOCK = 1000;

export interface IndexEntry {
  path: string;
  size: number;
  version: string;
  mtimeMs: number;
}

/** Where the index of one endpoint lives in the state area: one file per endpoint location. */
export function indexPath(statePrefix: string, location: string): string {
  return `${statePrefix}index/mtimes-${createHash('sha256').update(location).digest('hex').slice(0, 16)}.jsonl`;
}

/** ETags arrive quoted from some calls and stores and bare from others; the quotes carry nothing. */
export function sameVersion(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  return a === b || a.replaceAll('"', '') === b.replaceAll('"', '');
}

/** Whether an index entry describes the listed object: same path, size and version. */
export function describes(known: IndexEntry | undefined, listed: Entry): boolean {
  return known !== undefined && known.path === listed.path && known.size === listed.size && sameVersion(known.version, listed.version);
}

/** The fact a HEAD (stat) established, when the store named the version it described. */
export function factFromStat(st: Entry): IndexEntry | undefined {
  return st.version ? { path: st.path, size: st.size, version: st.version, mtimeMs: st.mtimeMs } : undefined;
}

/**
 * The mtime a HEAD will report for an object written with `mtimeMs`: the S3 backend stores it as
 * whole milliseconds in metadata and reads a value <= 0 as absent (falling back to the upload
 * time), so no fact is recorded for those.
 */
export function recordedMtime(mtimeMs: number | undefined): number | undefined {
  if (mtimeMs === undefined || !Number.isFinite(mtimeMs)) return undefined;
  const whole = Math.floor(mtimeMs);
  return whole > 0 ? whole : undefined;
}

/** Streams entries into a local file in the index format; entries must come in ascending path order. */
export class IndexWriter {
  readonly file: string;
  bytes = 0;
  count = 0;
  readonly #out: WriteStream;
  // The current block's lines, written (with its checksum line) in one call when it is full.
  #block = '';
  #inBlock = 0;
  #last: string | undefined;

  constructor(file: string, location: string) {
    this.file = file;
    this.#out = createWriteStream(file);
    this.#put(Buffer.from(`${JSON.stringify({ datasyncMtimeIndex: INDEX_FORMAT, location })}\n`));
  }

  async add(e: IndexEntry): Promise<void> {
    if (this.#last !== undefined && comparePaths(this.#last, e.path) >= 0) throw new Error(`index entries out of order: '${this.#last}' then '${e.path}'`);
    this.#last = e.path;
    this.#block += `${JSON.stringify([e.path, e.size, e.version, e.mtimeMs])}\n`;
    this.#inBlock++;
    this.count++;
    if (this.#inBlock === BLOCK && !this.#seal()) await once(this.#out, 'drain');
  }

  async close(): Promise<void> {
    if (this.#inBlock > 0) this.#seal();
    this.#out.end();
    await once(this.#out, 'finish');
  }

  #seal(): boolean {
    const body = Buffer.from(this.#block);
    const seal = `${JSON.stringify({ crc32c: crc32cHex(crc32cUpdate(0, body)), n: this.#inBlock })}\n`;
    this.#block = '';
    this.#inBlock = 0;
    return this.#put(Buffer.concat([body, Buffer.from(seal)]));
  }

  #put(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    return this.#out.write(chunk);
  }
}

export type IndexStatus = 'absent' | 'reading' | 'complete' | 'invalid';

/**
 * Reads an index stream: yields verified entries in path order and never throws. `state.status`
 * ends 'complete' only when every line was read and verified; `state.problem` says why not.
 */
export async function* readIndex(body: Readable, location: string, state: { status: IndexStatus; problem?: string }): AsyncGenerator<IndexEntry> {
  for await (const block of readIndexBlocks(body, location, state)) yield* block;
}

/** readIndex by verified blocks (up to BLOCK entries each, never empty): the planner's cursor reads these. */
export async function* readIndexBlocks(body: Readable, location: string, state: { status: IndexStatus; problem?: string }): AsyncGenerator<IndexEntry[]> {
  state.status = 'reading';
  const bad = (why: string) => { state.status = 'invalid'; state.problem = why; };
  let block: IndexEntry[] = [];
  let text = ''; // the block's lines as written, for its checksum
  let last: string | undefined;
  let header = false;
  try {
    for await (const batch of lineBatches(body)) for (const line of batch) {
      if (!header) {
        const h = parseJson(line) as { datasyncMtimeIndex?: unknown; location?: unknown } | undefined;
        if (h?.datasyncMtimeIndex !== INDEX_FORMAT) return bad('not an index of this format');
        if (h.location !== location) return bad(`index of ${String(h.location)}, not of ${location}`);
        header = true;
        continue;
      }
      if (line.startsWith('[')) {
        const v = parseJson(line);
        if (!Array.isArray(v) || v.length !== 4) return bad(`malformed entry: ${line.slice(0, 100)}`);
        const [path, size, version, mtimeMs] = v as unknown[];
        if (typeof path !== 'string' || typeof version !== 'string' || version === '' || !Number.isSafeInteger(size) || (size as number) < 0 || typeof mtimeMs !== 'number' || !Number.isFinite(mtimeMs)) {
          return bad(`malformed entry: ${line.slice(0, 100)}`);
        }
        if (last !== undefined && comparePaths(last, path) >= 0) return bad(`out of order: '${last}' then '${path}'`);
        last = path;
        text += `${line}\n`;
        block.push({ path, size: size as number, version, mtimeMs });
        if (block.length > BLOCK) return bad('block without a checksum');
        continue;
      }
      const seal = parseJson(line) as { crc32c?: unknown; n?: unknown } | undefined;
      if (!seal || seal.n !== block.length || seal.crc32c !== crc32cHex(crc32cUpdate(0, Buffer.from(text)))) return bad('block checksum mismatch');
      if (block.length) yield block;
      block = [];
      text = '';
    }
  } catch (err) {
    return bad(`read failed: ${(err as Error).message}`);
  } finally {
    body.destroy();
  }
  if (!header) return bad('empty');
  if (block.length) return bad('truncated: last block has no checksum');
  state.status = 'complete';
}

/**
 * The stream's lines ('\n'-separated, UTF-8), a chunk's worth at a time: one await per chunk, not
 * per line (an index of 20,000 entries was otherwise 40,000 promise round trips).
 */
async function* lineBatches(body: Readable): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let partial = '';
  for await (const chunk of body) {
    const text = partial + decoder.write(chunk as Buffer);
    const parts = text.split('\n');
    partial = parts.pop()!;
    yield parts;
  }
  const tail = partial + decoder.end();
  if (tail) yield [tail];
}

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/**
 * Streams the index of `location` from the state backend; absent or unreadable means no entries.
 * The request goes out at once; the entries wait for it when first asked for, so a planner can
 * start its listings meanwhile.
 */
export function indexEntries(state: Backend, statePrefix: string, location: string, status: { status: IndexStatus; problem?: string }): AsyncGenerator<IndexEntry> {
  const blocks = indexBlocks(state, statePrefix, location, status); // the request goes out now
  return (async function* () {
    for await (const block of blocks) yield* block;
  })();
}

/** indexEntries by verified blocks. */
function indexBlocks(state: Backend, statePrefix: string, location: string, status: { status: IndexStatus; problem?: string }): AsyncGenerator<IndexEntry[]> {
  status.status = 'absent';
  const body = state.read(indexPath(statePrefix, location));
  body.catch(() => {}); // handled below, when the entries are first asked for
  return (async function* () {
    let stream: Readable;
    try {
      stream = await body;
    } catch (err) {
      if (!hasCode(err, 'NotFound')) { status.status = 'invalid'; status.problem = `read failed: ${(err as Error).message}`; }
      return;
    }
    yield* readIndexBlocks(stream, location, status);
  })();
}

/** The index of `location` as a cursor for the planner. */
export function openIndex(state: Backend, statePrefix: string, location: string, onDrop?: (e: IndexEntry) => Promise<void>): IndexCursor {
  const status: { status: IndexStatus; problem?: string } = { status: 'absent' };
  return new IndexCursor(indexBlocks(state, statePrefix, location, status), status, onDrop);
}

/**
 * Looks up listing paths in one pass over the index: `seek` must be called with ascending paths
 * (the listing's order). Entries it passes over (paths no longer listed), entries the caller
 * `drop`s (no longer describing the listed object) and entries left at the end (`finish`) go to
 * `onDrop`, in path order: with the entries carried over, they tell whether the index changed.
 */
export class IndexCursor {
  readonly source: { status: IndexStatus; problem?: string };
  /** Entries read from the index so far. */
  read = 0;
  dropped = 0;
  readonly #it: AsyncIterator<IndexEntry[]>;
  readonly #onDrop: ((e: IndexEntry) => Promise<void>) | undefined;
  /** The block being read, from #at on. */
  #block: IndexEntry[] = [];
  #at = 0;
  #done = false;

  /** `blocks`: the index's entries in path order, in runs (readIndexBlocks). */
  constructor(blocks: AsyncIterable<IndexEntry[]>, source: { status: IndexStatus; problem?: string } = { status: 'complete' }, onDrop?: (e: IndexEntry) => Promise<void>) {
    this.#it = blocks[Symbol.asyncIterator]();
    this.source = source;
    this.#onDrop = onDrop;
  }

  /**
   * The entry for exactly this path, if the index has one. Answers at once (not a promise) when the
   * block in hand settles it and nothing is passed over, which is every path of a sync where
   * nothing changed: a promise per listed path was a good part of such a plan's CPU.
   */
  seek(path: string): IndexEntry | undefined | Promise<IndexEntry | undefined> {
    if (this.#at < this.#block.length) {
      const head = this.#block[this.#at]!;
      const c = comparePaths(head.path, path);
      if (c > 0) return undefined;
      if (c === 0) { this.#at++; return head; }
    } else if (this.#done) return undefined;
    return this.#seekSlowly(path);
  }

  async #seekSlowly(path: string): Promise<IndexEntry | undefined> {
    for (;;) {
      if (this.#at >= this.#block.length) {
        if (this.#done || !(await this.#nextBlock())) return undefined;
      }
      const head = this.#block[this.#at]!;
      const c = comparePaths(head.path, path);
      if (c > 0) return undefined;
      this.#at++;
      if (c === 0) return head;
      await this.drop(head);
    }
  }

  async #nextBlock(): Promise<boolean> {
    const n = await this.#it.next();
    if (n.done) { this.#done = true; this.#block = []; this.#at = 0; return false; }
    this.#block = n.value;
    this.#at = 0;
    this.read += n.value.length;
    return true;
  }

  /** An entry the new index will not carry over. */
  async drop(e: IndexEntry): Promise<void> {
    this.dropped++;
    await this.#onDrop?.(e);
  }

  /** Reads to the end, dropping what is left; returns the number of entries the index held (as far as it verified). */
  async finish(): Promise<number> {
    for (;;) {
      while (this.#at < this.#block.length) await this.drop(this.#block[this.#at++]!);
      if (this.#done || !(await this.#nextBlock())) return this.read;
    }
  }
}

/** `entries` without those whose path is in `without` (both path-ascending). */
export async function* except(entries: AsyncIterable<IndexEntry>, without: AsyncIterable<IndexEntry>): AsyncGenerator<IndexEntry> {
  const w = without[Symbol.asyncIterator]();
  let next = await w.next();
  for await (const e of entries) {
    while (!next.done && comparePaths(next.value.path, e.path) < 0) next = await w.next();
    if (!next.done && next.value.path === e.path) continue;
    yield e;
  }
}

/**
 * Merges path-ascending entry streams into one; on equal paths the stream listed later wins (newer
 * facts come later). Memory is one entry per stream.
 */
export async function* mergeIndexes(streams: AsyncIterable<IndexEntry>[]): AsyncGenerator<IndexEntry> {
  const its = streams.map((s) => s[Symbol.asyncIterator]());
  // A small binary heap ordered by (path, stream index): the lowest path first, and for one path
  // the streams in order, so the last one popped for a path is the winner.
  const heap: Array<{ e: IndexEntry; i: number }> = [];
  const less = (a: { e: IndexEntry; i: number }, b: { e: IndexEntry; i: number }) => {
    const c = comparePaths(a.e.path, b.e.path);
    return c < 0 || (c === 0 && a.i < b.i);
  };
  const push = (x: { e: IndexEntry; i: number }) => {
    heap.push(x);
    for (let k = heap.length - 1; k > 0;) {
      const p = (k - 1) >> 1;
      if (!less(heap[k]!, heap[p]!)) break;
      [heap[k], heap[p]] = [heap[p]!, heap[k]!];
      k = p;
    }
  };
  const pop = () => {
    const top = heap[0]!;
    const end = heap.pop()!;
    if (heap.length) {
      heap[0] = end;
      for (let k = 0; ;) {
        const l = 2 * k + 1;
        const r = l + 1;
        let m = k;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === k) break;
        [heap[k], heap[m]] = [heap[m]!, heap[k]!];
        k = m;
      }
    }
    return top;
  };
  const advance = async (i: number) => {
    const n = await its[i]!.next();
    if (!n.done) push({ e: n.value, i });
  };
  for (let i = 0; i < its.length; i++) await advance(i);
  let pending: IndexEntry | undefined;
  while (heap.length) {
    const { e, i } = pop();
    await advance(i);
    if (pending && pending.path !== e.path) yield pending;
    pending = e;
  }
  if (pending) yield pending;
}
