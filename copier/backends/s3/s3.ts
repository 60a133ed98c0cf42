// S3 and S3-compatible stores (MinIO, Ceph, R2). Objects up to one part are a single PutObject;
// larger ones are multipart uploads that become visible only on CompleteMultipartUpload. Every
// upload carries CRC32C: per part, and as a FULL_OBJECT checksum the server verifies on complete,
// so the stored checksum is a whole-object CRC32C comparable with any other backend's. Once enough
// single PUTs went out, the rest skip the SDK's per-request machinery (direct-put.ts), for
// small-file throughput. Where the endpoint and static credentials are known up front, the simple
// requests skip it from the first one (known-target.ts), and the SDK is loaded only when a request
// needs it.
import type { ListObjectsV2CommandInput, ListObjectsV2CommandOutput, S3Client, S3ClientConfig, StorageClass } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import type { BuildMiddleware, DeserializeMiddleware, MetadataBearer } from '@smithy/types'; // types only: the SDK's own middleware shape
import { comparePaths, type Backend, type Checksum, type Entry, type Features, type ListOptions, type PartReceipt, type PartUpload, type ReadOptions, type WriteOptions, type WriteResult } from '../backend.ts';
import type { S3Endpoint } from '../../../api/types.ts';
import { base64ToHex, combinePartChecksums, crc32cBase64, crc32cChecksum, crc32cOf } from '../../checksum.ts';
import { DataSyncError, type Side } from '../../errors.ts';
import { readSecret } from '../../runtime/secrets.ts';
import { translateS3Error } from './errors.ts';
import { ioBuffers } from '../support/buffer-pool.ts';
import { collect, fixedChunks } from '../support/streams.ts';
import { parseListObjectsV2, type ListedObject, type ListPage } from './list-xml.ts';
import { DirectPut, learnTarget, type DirectCredentials, type DirectTarget } from './direct-put.ts';
import { environmentCredentials, KnownTargetClient, KnownTargetMiss, knownTarget } from './known-target.ts';

type Sdk = typeof import('@aws-sdk/client-s3');
/** The SDK's module and this backend's client of it, made on first use. */
interface SdkClient { sdk: Sdk; client: S3Client }

export const MIN_PART_SIZE = 5 * 1024 * 1024;
interface PageQuery { prefix: string; delimiter?: string; token?: string; startAfter?: string }

/**
 * Prefixes listed at once by a listing that spans more than one page (list()). Measured on this
 * repository's benchmarks: a no-change sync of 20,000 objects (B3) took 0.99-1.22 s (medians of 5,
 * alternating) at 2 and 0.97-1.03 s at 4, while `datasync plan` over 1,000,000 objects (B4,
 * launcher flags) peaked at 187-215 MiB RSS at 2 and 205-239 MiB at 4 (concurrent responses
 * raise it; raw pages wait off the JavaScript heap). 4 stays well within B4's 300 MiB budget.
 */
const LIST_FANOUT = 4;
/** Levels a listing descends through single sub-prefixes looking for ones to list at once. */
const LIST_DESCENT = 3;
const MAX_PARTS = 10_000;
/** User metadata keys (sent as x-amz-meta-*). */
export const META_MTIME = 'datasync-mtime';
export const META_CRC32C = 'datasync-crc32c';

export interface S3BackendOptions {
  side: Side;
  partSize?: number;
  secretsRoot?: string;
  /** Attempts the SDK makes per request before our own per-file retry takes over. */
  maxAttempts?: number;
  /** Single PUTs go out through undici (direct-put.ts) once this many went out (default DIRECT_AFTER_PUTS); false never. */
  directPut?: boolean | { after: number };
  /** Simple requests go out without the SDK where everything they need is known up front (known-target.ts; default true). */
  knownTarget?: boolean;
}

/**
 * Single PUTs through the SDK before the rest go out directly. The first one shows where PUTs go;
 * waiting for more keeps a process that stores only a few objects (the run's state files, a
 * handful of large files) from loading the direct path's HTTP client for nothing.
 */
const DIRECT_AFTER_PUTS = 16;
const CONNECT_TIMEOUT_MS = 10_000;
const IDLE_TIMEOUT_MS = 120_000;
/** DeleteObjects takes at most 1,000 keys. */
const DELETE_BATCH = 1000;

export class S3Backend implements Backend {
  readonly kind = 's3';
  readonly location: string;
  readonly features: Features;
  readonly #config: S3ClientConfig;
  #sdkClient: Promise<SdkClient> | undefined;
  /** Simple requests go out without the SDK while this is set (known-target.ts); the first one it does not bring back unsets it. */
  #known: KnownTargetClient | undefined;
  #knownUsed: KnownTargetClient | undefined;
  /** Single PUTs sent by #known so far: past DIRECT_AFTER_PUTS they go to DirectPut (undici), as after the SDK's. */
  #knownPuts = 0;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #side: Side;
  readonly #partSize: number;
  readonly #storageClass: string | undefined;
  readonly #maxAttempts: number;
  /** Set once enough PutObjects went through the SDK, the first of which showed where PUTs go. */
  #direct: DirectPut | undefined;
  #learned: DirectTarget | undefined;
  #learnDirect: boolean;
  #sdkPutsBeforeDirect: number;

  constructor(ep: S3Endpoint, opts: S3BackendOptions) {
    this.#bucket = ep.bucket;
    this.#prefix = normalizePrefix(ep.prefix);
    this.#side = opts.side;
    this.#partSize = Math.max(opts.partSize ?? 16 * 1024 * 1024, MIN_PART_SIZE);
    this.#storageClass = ep.storageClass;
    this.#maxAttempts = opts.maxAttempts ?? 3;
    this.#learnDirect = opts.directPut !== false;
    this.#sdkPutsBeforeDirect = typeof opts.directPut === 'object' ? opts.directPut.after : DIRECT_AFTER_PUTS;
    this.location = `s3://${ep.bucket}/${this.#prefix}${ep.endpoint ? ` (${ep.endpoint})` : ''}`;
    const config: S3ClientConfig = {
      region: ep.region ?? process.env['AWS_REGION'] ?? 'us-east-1',
      forcePathStyle: ep.forcePathStyle ?? ep.endpoint !== undefined,
      maxAttempts: this.#maxAttempts,
      // A dead endpoint should fail in seconds, not hang a shard; an idle socket for minutes is dead too.
      requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, requestTimeout: IDLE_TIMEOUT_MS },
      // We send CRC32C ourselves, computed once while streaming; the SDK should not add its own.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // The SDK sends `Expect: 100-continue` on bodies of 2 MiB or more, and sends each such request
      // on a fresh agent with keep-alive off: every part of a multipart upload and every large PUT
      // paid a new TCP (and TLS) connection, and a wait for the server's 100 before its body. What
      // the header saves, a body sent to a server that rejects its headers, is at most one part.
      expectContinueHeader: false,
    };
    if (ep.endpoint !== undefined) config.endpoint = ep.endpoint;
    const accessKeyId = readSecret(opts.side, 'accessKeyId', opts.secretsRoot);
    const secretAccessKey = readSecret(opts.side, 'secretAccessKey', opts.secretsRoot);
    let staticCredentials: DirectCredentials | undefined;
    if (accessKeyId !== undefined && secretAccessKey !== undefined) {
      const sessionToken = readSecret(opts.side, 'sessionToken', opts.secretsRoot);
      config.credentials = staticCredentials = { accessKeyId, secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) };
    } else {
      staticCredentials = environmentCredentials();
    }
    this.#config = config;
    const target = knownTarget(ep, config.region as string, config.forcePathStyle === true);
    if (target && staticCredentials && opts.knownTarget !== false) this.#knownUsed = this.#known = new KnownTargetClient(target, staticCredentials, { timeoutMs: CONNECT_TIMEOUT_MS });
    this.features = {
      nativeChecksums: ['crc32c'],
      atomicWrite: true,
      listModTimeIsUploadTime: true,
      checksOnWrite: 'crc32c', // ChecksumCRC32C on every PUT and part; MinIO and S3 answer BadDigest on a mismatch
      maxSingleWrite: this.#partSize,
      partUpload: this.#partUpload(),
      deleteBatch: (paths) => this.#deleteBatch(paths),
    };
  }

  #key(rel: string): string {
    return this.#prefix + rel;
  }
  /**
   * A request #known did not bring back: the SDK sends it again (its retries, clock-skew
   * correction and errors, as always) and every request after it. An abort is the caller's.
   */
  #missed(err: unknown): void {
    if (!(err instanceof KnownTargetMiss)) throw err;
    this.#known = undefined;
  }

  /** The SDK and this backend's client, loaded and made on the first request that needs them. */
  #sdk(): Promise<SdkClient> {
    return this.#sdkClient ??= import('@aws-sdk/client-s3').then((sdk) => {
      const client = new sdk.S3Client(this.#config);
      client.middlewareStack.add(unsignedWhenChecksummed, { step: 'build', name: 'datasyncUnsignedWhenChecksummed' });
      return { sdk, client };
    });
  }
  #fail(err: unknown, op: string, rel?: string): DataSyncError {
    return translateS3Error(err, op, this.#side, this.location, rel);
  }

  /**
   * A listing's pages come one after another (each names the next), so one listing of 20,000
   * objects is 20 round trips in a row. The first page is read as before; a listing that does not
   * fit in it goes on by prefix (#after): requests with the '/' delimiter name the "directories"
   * after the first page, and up to LIST_FANOUT of them are listed at once, each a page ahead, their
   * entries still yielded in key order (the order of the keys is the order of the prefixes that
   * hold them).
   */
  async *list(opts: ListOptions = {}): AsyncGenerator<Entry> {
    for await (const batch of this.listBatches(opts)) yield* batch;
  }

  /** The listing works in batches of objects (a page, or a run of one): a generator layer per entry costs a few promises. */
  async *listBatches(opts: ListOptions = {}): AsyncGenerator<Entry[]> {
    const cut = this.#prefix.length;
    for await (const batch of this.#batches(opts)) {
      const entries: Entry[] = [];
      for (const o of batch) {
        if (!o.path || o.path.endsWith('/')) continue; // "directory" placeholders hold no data
        if (cut) o.path = o.path.slice(cut); // the key, relative to the endpoint's prefix
        entries.push(o);
      }
      if (entries.length) yield entries;
    }
  }

  async *#batches(opts: ListOptions): AsyncGenerator<ListedObject[]> {
    const root = this.#key(opts.prefix ?? '');
    // A listing of the whole endpoint (the planner's) asks for the top level's prefixes alongside
    // the first page, so a large one can fan out as soon as that page is in: one round trip less
    // on a sync with nothing to copy, for an extra small request when the first page is all there is.
    const top = opts.prefix === undefined ? this.#page({ prefix: root, delimiter: '/' }, opts) : undefined;
    top?.catch(() => {}); // surfaced only if used
    const first = await this.#page({ prefix: root }, opts);
    const last = first.objects.at(-1)?.path; // before list() cuts the prefix off the yielded objects
    yield first.objects;
    if (!first.truncated) return;
    if (last === undefined) {
      yield* this.#flatFrom(root, this.#page({ prefix: root, token: first.nextToken! }, opts), opts); // a page of "directory" placeholders only
      return;
    }
    yield* this.#after(root, last, opts, 0, top);
  }

  /**
   * Every key under `level` after key `after`. Servers differ on whether a delimited listing that
   * starts after a key inside prefix P still names P (MinIO does not), so the rest of P is listed
   * here explicitly (descending along `after`'s path), and the level then goes on after P.
   */
  async *#after(level: string, after: string, opts: ListOptions, depth: number, levelPage?: Promise<ListPage>): AsyncGenerator<ListedObject[]> {
    // levelPage: the level's delimited listing from its start, when already requested (#level
    // skips what lies at or before its startAfter, so it serves as well as one starting later).
    const slash = after.indexOf('/', level.length);
    if (slash < 0) {
      yield* this.#level(level, after, levelPage ?? this.#page({ prefix: level, delimiter: '/', startAfter: after }, opts), opts);
      return;
    }
    const p = after.slice(0, slash + 1);
    // The level goes on after p; it starts now (its listing and its first prefixes' first pages are
    // requested) while the rest of p is listed, and is yielded after it.
    const rest = this.#level(level, p, levelPage ?? this.#page({ prefix: level, delimiter: '/', startAfter: p }, opts), opts);
    const primed = rest.next();
    primed.catch(() => {}); // surfaced when its turn comes
    if (depth < LIST_DESCENT) yield* this.#after(p, after, opts, depth + 1);
    else yield* this.#flatFrom(p, this.#page({ prefix: p, startAfter: after }, opts), opts);
    const firstBatch = await primed;
    if (firstBatch.done) return;
    yield firstBatch.value;
    yield* rest;
  }

  /** One level's objects and prefixes after `startAfter`, each prefix listed whole, up to LIST_FANOUT at once. */
  async *#level(level: string, startAfter: string, firstPage: Promise<ListPage>, opts: ListOptions): AsyncGenerator<ListedObject[]> {
    // In key order: runs of the level's own objects, and listers of its prefixes (each with its
    // first page requested when queued).
    const queue: Array<ListedObject[] | AsyncGenerator<ListedObject[]>> = [];
    let listers = 0;
    let queuedObjects = 0;
    const self = this;
    const drain = async function* (all: boolean): AsyncGenerator<ListedObject[]> {
      while (queue.length && (all || listers >= LIST_FANOUT || queuedObjects > 1000)) {
        const u = queue.shift()!;
        if (Array.isArray(u)) { queuedObjects -= u.length; yield u; } else { listers--; yield* u; }
      }
    };
    for (let page: ListPage | undefined = await firstPage; page; page = page.truncated ? await this.#page({ prefix: level, delimiter: '/', token: page.nextToken! }, opts) : undefined) {
      // A server that names what lies at or before startAfter anyway must not list it twice.
      const objects = page.objects.filter((o) => comparePaths(o.path, startAfter) > 0);
      let i = 0;
      const objectsBefore = (limit: string | undefined) => {
        const j0 = i;
        while (i < objects.length && (limit === undefined || comparePaths(objects[i]!.path, limit) < 0)) i++;
        if (i > j0) { queue.push(objects.slice(j0, i)); queuedObjects += i - j0; }
      };
      for (const p of page.prefixes) {
        if (comparePaths(p, startAfter) <= 0) continue;
        // Objects and prefixes of a page are each sorted; together, in key order.
        objectsBefore(p);
        const q = { prefix: p };
        const fetched = this.#fetch(q, opts, true); // requested now, read when its turn comes
        fetched.catch(() => {}); // surfaced when its turn comes
        queue.push(self.#flatFrom(p, async () => this.#read(q, await fetched, opts), opts));
        listers++;
        yield* drain(false);
      }
      objectsBefore(undefined);
      yield* drain(false);
    }
    yield* drain(true);
  }

  async *#flatFrom(prefix: string, firstPage: Promise<ListPage> | (() => Promise<ListPage>), opts: ListOptions): AsyncGenerator<ListedObject[]> {
    for (let page: ListPage | undefined = await (typeof firstPage === 'function' ? firstPage() : firstPage); page; page = page.truncated ? await this.#page({ prefix, token: page.nextToken! }, opts) : undefined) {
      yield page.objects;
    }
  }

  /** One ListObjectsV2 page, read by the fast reader when it accepts the body, else by the SDK. */
  async #page(q: PageQuery, opts: ListOptions): Promise<ListPage> {
    return this.#read(q, await this.#fetch(q, opts, true), opts);
  }

  /**
   * A page as it came: the raw body when the fast reader is to read it (a few hundred KB off the
   * JavaScript heap while it waits its turn: parsed pages waiting behind a fan-out raised a plan's
   * peak RSS by ~90 MiB), else what the SDK made of it.
   */
  async #fetch(q: PageQuery, opts: ListOptions, fast: boolean): Promise<{ raw?: Buffer; out?: ListObjectsV2CommandOutput }> {
    const known = fast ? this.#known : undefined;
    if (known) {
      try {
        return { raw: await known.list(q, opts.signal) };
      } catch (err) {
        if (!(err instanceof KnownTargetMiss)) throw this.#fail(err, 'list', opts.prefix);
        this.#missed(err);
      }
    }
    const { sdk, client } = await this.#sdk();
    const command = new sdk.ListObjectsV2Command({
      Bucket: this.#bucket, Prefix: q.prefix,
      ...(q.delimiter ? { Delimiter: q.delimiter } : {}), ...(q.token ? { ContinuationToken: q.token } : {}), ...(q.startAfter ? { StartAfter: q.startAfter } : {}),
    });
    const into: { raw?: Buffer } = {};
    if (fast) command.middlewareStack.addRelativeTo(rawListing(into), { relation: 'after', toMiddleware: 'deserializerMiddleware', name: 'datasyncRawListing', override: true });
    try {
      const out = await client.send(command, opts.signal ? { abortSignal: opts.signal } : {});
      return into.raw ? { raw: into.raw, out } : { out };
    } catch (err) {
      throw this.#fail(err, 'list', opts.prefix);
    }
  }

  async #read(q: PageQuery, fetched: { raw?: Buffer; out?: ListObjectsV2CommandOutput }, opts: ListOptions): Promise<ListPage> {
    let out = fetched.out;
    if (fetched.raw) {
      const page = parseListObjectsV2(fetched.raw.toString('utf8'));
      if (page) return page;
      out = (await this.#fetch(q, opts, false)).out; // a body the fast reader does not take: the same request again, for the SDK
    }
    if (!out) throw new Error('internal: a listing page with neither a body nor the SDK\'s reading of it');
    const truncated = out.IsTruncated === true && out.NextContinuationToken !== undefined;
    return {
      objects: (out.Contents ?? []).map((o) => ({
        path: o.Key ?? '', size: o.Size ?? 0, mtimeMs: o.LastModified?.getTime() ?? 0,
        ...(o.ETag ? { version: o.ETag } : {}), ...(o.StorageClass ? { storageClass: o.StorageClass } : {}),
      })),
      prefixes: (out.CommonPrefixes ?? []).flatMap((p) => (p.Prefix ? [p.Prefix] : [])),
      truncated,
      ...(truncated ? { nextToken: out.NextContinuationToken! } : {}),
    };
  }

  async stat(rel: string): Promise<Entry> {
    try {
      const { sdk, client } = await this.#sdk();
      const h = await client.send(new sdk.HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(rel), ChecksumMode: 'ENABLED' }));
      const checksums: Checksum[] = [];
      // A COMPOSITE checksum ("...-N") is a checksum of part checksums, not of the object.
      if (h.ChecksumCRC32C && h.ChecksumType !== 'COMPOSITE' && !h.ChecksumCRC32C.includes('-')) {
        checksums.push({ algorithm: 'crc32c', value: base64ToHex(h.ChecksumCRC32C) });
      } else if (h.Metadata?.[META_CRC32C]) {
        checksums.push({ algorithm: 'crc32c', value: h.Metadata[META_CRC32C] });
      }
      const recorded = Number(h.Metadata?.[META_MTIME]);
      return {
        path: rel,
        size: h.ContentLength ?? 0,
        mtimeMs: Number.isFinite(recorded) && recorded > 0 ? recorded : (h.LastModified?.getTime() ?? 0),
        ...(checksums.length ? { checksums } : {}),
        ...(h.ETag ? { version: h.ETag } : {}),
        ...(h.StorageClass ? { storageClass: h.StorageClass } : {}),
      };
    } catch (err) {
      throw this.#fail(err, 'stat', rel);
    }
  }

  async read(rel: string, opts: ReadOptions = {}): Promise<Readable> {
    if (opts.length === 0) return Readable.from([]);
    const start = opts.offset ?? 0;
    const range = opts.offset !== undefined || opts.length !== undefined
      ? `bytes=${start}-${opts.length === undefined ? '' : start + opts.length - 1}`
      : undefined;
    try {
      if (this.#known) {
        try {
          return await this.#known.get(this.#key(rel), range, opts.signal);
        } catch (err) {
          this.#missed(err); // a 404 or an abort goes on to the catch below, as the SDK's would
        }
      }
      const { sdk, client } = await this.#sdk();
      const out = await client.send(
        new sdk.GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(rel), ...(range ? { Range: range } : {}) }),
        opts.signal ? { abortSignal: opts.signal } : {},
      );
      return out.Body as Readable;
    } catch (err) {
      throw this.#fail(err, 'read', rel);
    }
  }

  /** Part size for an object of this size: the configured one, grown to stay within 10,000 parts. */
  #partSizeFor(size: number | undefined): number {
    if (size === undefined || size <= this.#partSize * MAX_PARTS) return this.#partSize;
    const mib = 1024 * 1024;
    return Math.ceil(size / MAX_PARTS / mib) * mib;
  }

  async write(rel: string, body: Readable, opts: WriteOptions = {}): Promise<WriteResult> {
    const partSize = this.#partSizeFor(opts.size);
    // With the size declared, single PUT or multipart is known up front and parts go strictly one
    // at a time, so one reused part buffer per transfer suffices (held: 0). Without it, the first
    // part is held while the second is read to find out.
    const multipart = opts.size === undefined ? undefined : opts.size > partSize;
    // A single PUT of a declared size reads into a buffer of that size, not a whole part's: a
    // 16 MiB buffer for each 4 MiB file put a quarter of B7's copier CPU into garbage collection.
    const chunkSize = multipart === false ? Math.max(opts.size!, 1) : partSize;
    // Released once the upload succeeded; a failed one drops it (support/buffer-pool.ts).
    const lease = ioBuffers.lease();
    const chunks = fixedChunks(body, chunkSize, { atLeastOne: true, held: multipart === undefined ? 1 : 0, lease })[Symbol.asyncIterator]();
    const first = await chunks.next();
    const firstChunk = first.done ? Buffer.alloc(0) : first.value;
    let second: IteratorResult<Buffer, unknown> = { done: true, value: undefined };
    if (multipart !== true && firstChunk.length === chunkSize) {
      second = await chunks.next();
      // Longer than declared: the source changed. Refuse before anything is stored (and before the
      // reused buffer's first part, now overwritten, could be sent).
      if (multipart === false && !second.done) {
        throw new DataSyncError(`${rel}: the source has more than the ${opts.size} bytes planned (it changed during the copy)`, { code: 'ChecksumMismatch', side: 'source', path: rel, retryable: true });
      }
    }
    const metadata = this.#metadata(opts);
    const storageClass = (opts.storageClass ?? this.#storageClass) as StorageClass | undefined;
    if (multipart === false || (multipart === undefined && second.done)) {
      const crc = crc32cOf(firstChunk);
      try {
        let etag: string | undefined;
        if (this.#known && !this.#direct) {
          try {
            etag = await this.#known.put(this.#key(rel), firstChunk, this.#putHeaders(crc, metadata, storageClass, opts), opts.signal);
            if (++this.#knownPuts >= this.#sdkPutsBeforeDirect) this.#goDirect(this.#known.target, undefined);
            lease.release();
            return { size: firstChunk.length, checksums: [crc32cChecksum(crc)], ...(etag ? { version: etag } : {}) };
          } catch (err) {
            this.#missed(err);
          }
        }
        if (this.#direct) {
          etag = await this.#direct.put({ key: this.#key(rel), body: firstChunk, signal: opts.signal, headers: this.#putHeaders(crc, metadata, storageClass, opts) });
        } else {
          const { sdk, client } = await this.#sdk();
          const command = new sdk.PutObjectCommand({
            Bucket: this.#bucket, Key: this.#key(rel), Body: firstChunk, ContentLength: firstChunk.length,
            ChecksumCRC32C: crc32cBase64(crc), Metadata: metadata,
            ...(storageClass ? { StorageClass: storageClass } : {}),
            ...(opts.contentType ? { ContentType: opts.contentType } : {}),
            ...(opts.ifNotExists ? { IfNoneMatch: '*' } : {}),
          });
          if (this.#learnDirect && !this.#learned) {
            command.middlewareStack.addRelativeTo(learnTarget(this.#key(rel), (t) => { this.#learned ??= t; }), { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'datasyncLearnTarget', override: true });
          }
          etag = (await client.send(command, opts.signal ? { abortSignal: opts.signal } : {})).ETag;
          if (this.#learned && --this.#sdkPutsBeforeDirect <= 0) this.#goDirect(this.#learned, client);
        }
        lease.release();
        return { size: firstChunk.length, checksums: [crc32cChecksum(crc)], ...(etag ? { version: etag } : {}) };
      } catch (err) {
        throw this.#fail(err, 'write', rel);
      }
    }
    // Multipart: parts are uploaded as they are read, one part buffered at a time.
    const upload = this.features.partUpload!;
    const token = await upload.begin(rel, opts);
    const parts: PartReceipt[] = [];
    try {
      parts.push(await this.#uploadPart(token, rel, 1, firstChunk, opts.signal));
      if (!second.done) parts.push(await this.#uploadPart(token, rel, 2, second.value, opts.signal));
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
        parts.push(await this.#uploadPart(token, rel, parts.length + 1, next.value, opts.signal));
      }
      lease.release(); // every part is stored: no request reads the buffers now
      return await upload.complete(token, rel, parts, opts);
    } catch (err) {
      await upload.abort(token, rel).catch(() => {});
      throw this.#fail(err, 'write', rel);
    }
  }

  /** From now on single PUTs go out directly, to where the SDK's first PUT went (direct-put.ts). */
  #goDirect(target: DirectTarget, client: S3Client | undefined): void {
    if (this.#direct || !this.#learnDirect) return;
    this.#learnDirect = false;
    // With the SDK, its credentials provider and measured clock skew; with a known target (no SDK
    // loaded), the static credentials and a skew of our own.
    let skew = 0;
    const known = this.#known?.credentials;
    const config = client?.config;
    this.#direct = new DirectPut(target, {
      credentials: config ? () => config.credentials() : async () => known!,
      clockOffset: config ? () => config.systemClockOffset ?? 0 : () => skew,
      correctClock: (serverNowMs) => { if (config) config.systemClockOffset = serverNowMs - Date.now(); else skew = serverNowMs - Date.now(); },
      maxAttempts: this.#maxAttempts,
      connectTimeoutMs: CONNECT_TIMEOUT_MS,
      idleTimeoutMs: IDLE_TIMEOUT_MS,
    });
  }

  /** A single PUT's headers on the direct paths (lower-case; the SDK's PutObject sets the same). */
  #putHeaders(crc: number, metadata: Record<string, string>, storageClass: string | undefined, opts: WriteOptions): Record<string, string> {
    return {
      'x-amz-checksum-crc32c': crc32cBase64(crc),
      ...Object.fromEntries(Object.entries(metadata).map(([k, v]) => [`x-amz-meta-${k}`, v])),
      ...(storageClass ? { 'x-amz-storage-class': storageClass } : {}),
      ...(opts.contentType ? { 'content-type': opts.contentType } : {}),
      ...(opts.ifNotExists ? { 'if-none-match': '*' } : {}),
    };
  }

  #metadata(opts: WriteOptions): Record<string, string> {
    return opts.mtimeMs === undefined ? {} : { [META_MTIME]: String(Math.floor(opts.mtimeMs)) };
  }

  async #uploadPart(token: string, rel: string, partNumber: number, buf: Buffer, signal?: AbortSignal): Promise<PartReceipt> {
    const crc = crc32cOf(buf);
    try {
      const { sdk, client } = await this.#sdk();
      const out = await client.send(new sdk.UploadPartCommand({
        Bucket: this.#bucket, Key: this.#key(rel), UploadId: token, PartNumber: partNumber,
        Body: buf, ContentLength: buf.length, ChecksumCRC32C: crc32cBase64(crc),
      }), signal ? { abortSignal: signal } : {});
      return { partNumber, size: buf.length, id: out.ETag ?? '', checksum: crc32cChecksum(crc) };
    } catch (err) {
      throw this.#fail(err, `upload part ${partNumber} of`, rel);
    }
  }

  #partUpload(): PartUpload {
    return {
      begin: async (rel, opts) => {
        const storageClass = (opts.storageClass ?? this.#storageClass) as StorageClass | undefined;
        try {
          const { sdk, client } = await this.#sdk();
          const out = await client.send(new sdk.CreateMultipartUploadCommand({
            Bucket: this.#bucket, Key: this.#key(rel), Metadata: this.#metadata(opts),
            ChecksumAlgorithm: 'CRC32C', ChecksumType: 'FULL_OBJECT',
            ...(storageClass ? { StorageClass: storageClass } : {}),
            ...(opts.contentType ? { ContentType: opts.contentType } : {}),
          }));
          if (!out.UploadId) throw new Error('no UploadId in CreateMultipartUpload response');
          return out.UploadId;
        } catch (err) {
          throw this.#fail(err, 'begin upload of', rel);
        }
      },
      writePart: async (token, rel, partNumber, body, size, signal) => {
        let buf: Buffer = Buffer.alloc(0);
        let count = 0;
        const lease = ioBuffers.lease();
        for await (const c of fixedChunks(body, Math.max(size, 1), { atLeastOne: true, lease })) { buf = c; count++; }
        if (buf.length !== size || count > 1) {
          throw new DataSyncError(`part ${partNumber} of ${rel}: read ${buf.length} bytes, expected ${size}`, { code: 'ChecksumMismatch', side: 'source', path: rel, retryable: true });
        }
        const receipt = await this.#uploadPart(token, rel, partNumber, buf, signal);
        lease.release();
        return receipt;
      },
      complete: async (token, rel, parts, opts) => {
        const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
        const crc = combinePartChecksums(sorted);
        const size = sorted.reduce((s, p) => s + p.size, 0);
        try {
          const { sdk, client } = await this.#sdk();
          const out = await client.send(new sdk.CompleteMultipartUploadCommand({
            Bucket: this.#bucket, Key: this.#key(rel), UploadId: token,
            MultipartUpload: { Parts: sorted.map((p) => ({ PartNumber: p.partNumber, ETag: p.id, ...(p.checksum ? { ChecksumCRC32C: crc32cBase64(parseInt(p.checksum.value, 16)) } : {}) })) },
            ChecksumType: 'FULL_OBJECT',
            ...(crc === undefined ? {} : { ChecksumCRC32C: crc32cBase64(crc) }),
            ...(opts.ifNotExists ? { IfNoneMatch: '*' } : {}),
          }));
          const stored = out.ChecksumCRC32C && !out.ChecksumCRC32C.includes('-') ? base64ToHex(out.ChecksumCRC32C) : undefined;
          if (crc !== undefined && stored !== undefined && stored !== crc32cChecksum(crc).value) {
            throw new DataSyncError(`${rel}: server CRC32C ${stored} differs from streamed ${crc32cChecksum(crc).value}`, { code: 'ChecksumMismatch', side: this.#side, path: rel, retryable: true });
          }
          return { size, checksums: crc === undefined ? [] : [crc32cChecksum(crc)], ...(out.ETag ? { version: out.ETag } : {}) };
        } catch (err) {
          throw this.#fail(err, 'complete upload of', rel);
        }
      },
      abort: async (token, rel) => {
        try {
          const { sdk, client } = await this.#sdk();
          await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: this.#key(rel), UploadId: token }));
        } catch (err) {
          throw this.#fail(err, 'abort upload of', rel);
        }
      },
    };
  }

  /**
   * DeleteObjects, DELETE_BATCH keys per request and the requests one after another. A run's state
   * is a journal object per shard per second: a one-hour run of 10 shards leaves 36,000, which were
   * 4,500 rounds of 8 DELETEs and are now 36 requests. (On 127.0.0.1 it saves little: the 36 of
   * B7's 4-shard run took 92 ms as single DELETEs, 46 ms as one batch, which MinIO deletes key by key.)
   */
  async #deleteBatch(paths: string[]): Promise<void> {
    for (let at = 0; at < paths.length; at += DELETE_BATCH) {
      const batch = paths.slice(at, at + DELETE_BATCH);
      if (this.#known) {
        try {
          await this.#known.deleteObjects(batch.map((p) => this.#key(p)));
          continue;
        } catch (err) {
          this.#missed(err);
        }
      }
      let out;
      try {
        const { sdk, client } = await this.#sdk();
        out = await client.send(new sdk.DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: batch.map((p) => ({ Key: this.#key(p) })), Quiet: true } }));
      } catch (err) {
        throw this.#fail(err, 'delete', batch[0]);
      }
      // Per-key failures come in the body of a 200; an absent key is not one of them.
      const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length) {
        const e = failed[0]!;
        const rel = (e.Key ?? '').slice(this.#prefix.length);
        throw this.#fail(Object.assign(new Error(e.Message ?? e.Code ?? 'delete failed'), { name: e.Code ?? 'DeleteFailed' }), 'delete', rel);
      }
    }
  }

  async delete(rel: string): Promise<void> {
    try {
      const { sdk, client } = await this.#sdk();
      await client.send(new sdk.DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(rel) }));
    } catch (err) {
      const e = this.#fail(err, 'delete', rel);
      if (e.code !== 'NotFound') throw e;
    }
  }

  async close(): Promise<void> {
    await this.#direct?.close();
    this.#knownUsed?.close();
    if (this.#sdkClient) (await this.#sdkClient).client.destroy();
  }
}

/**
 * A body that carries x-amz-checksum-crc32c goes with UNSIGNED-PAYLOAD instead of a SHA-256 of the
 * payload in the signature (the SDK hashes every body sent over plain http: 4% of B1's CPU). The
 * server still rejects a body that does not match the CRC32C, and that header is itself signed, so
 * integrity is kept; it is what AWS's own clients do over https with flexible checksums.
 */
const unsignedWhenChecksummed: BuildMiddleware<object, MetadataBearer> = (next) => async (args) => {
  const request = args.request as { headers?: Record<string, string> };
  if (request.headers?.['x-amz-checksum-crc32c'] !== undefined) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  return next(args);
};

/**
 * Keeps a successful ListObjectsV2 body raw in `into.raw` (read later by parseListObjectsV2,
 * list-xml.ts) and hands the SDK's own deserializer, which runs next, an empty listing instead:
 * its generic XML and schema machinery cost ~60 µs of CPU per listed object. Errors (non-2xx, or
 * an error document) are the SDK's as always.
 */
function rawListing(into: { raw?: Buffer }): DeserializeMiddleware<ListObjectsV2CommandInput, ListObjectsV2CommandOutput> {
  return (next) => async (args) => {
    const result = await next(args);
    const response = result.response as { statusCode?: number; body?: unknown };
    if (response.statusCode !== 200 || response.body === undefined) return result;
    const body = response.body instanceof Uint8Array ? Buffer.from(response.body) : await collect(response.body as AsyncIterable<Uint8Array>);
    const listing = body.indexOf('<ListBucketResult') >= 0;
    if (listing) into.raw = body;
    response.body = listing ? EMPTY_LISTING : new Uint8Array(body.buffer, body.byteOffset, body.length);
    return result;
  };
}

const EMPTY_LISTING = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>');

function normalizePrefix(prefix: string | undefined): string {
  const p = (prefix ?? '').replace(/^\/+/, '').replace(/\/+$/, '');
  return p === '' ? '' : `${p}/`;
}

