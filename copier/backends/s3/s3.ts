// S3 and S3-compatible stores (MinIO, Ceph, R2). Objects up to one part are a single PutObject;
// larger ones are multipart uploads that become visible only on CompleteMultipartUpload. Every
// upload carries CRC32C: per part, and as a FULL_OBJECT checksum the server verifies on complete,
// so the stored checksum is a whole-object CRC32C comparable with any other backend's.
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand,
  type S3ClientConfig, type StorageClass,
} from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import type { Backend, Checksum, Entry, Features, ListOptions, PartReceipt, PartUpload, ReadOptions, WriteOptions, WriteResult } from '../backend.ts';
import type { S3Endpoint } from '../../../api/types.ts';
import { base64ToHex, combinePartChecksums, crc32cBase64, crc32cChecksum, crc32cOf } from '../../checksum.ts';
import { DataSyncError, type Side } from '../../errors.ts';
import { readSecret } from '../../runtime/secrets.ts';
import { translateS3Error } from './errors.ts';

export const MIN_PART_SIZE = 5 * 1024 * 1024;
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
}

export class S3Backend implements Backend {
  readonly kind = 's3';
  readonly location: string;
  readonly features: Features;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #side: Side;
  readonly #partSize: number;
  readonly #storageClass: string | undefined;

  constructor(ep: S3Endpoint, opts: S3BackendOptions) {
    this.#bucket = ep.bucket;
    this.#prefix = normalizePrefix(ep.prefix);
    this.#side = opts.side;
    this.#partSize = Math.max(opts.partSize ?? 16 * 1024 * 1024, MIN_PART_SIZE);
    this.#storageClass = ep.storageClass;
    this.location = `s3://${ep.bucket}/${this.#prefix}${ep.endpoint ? ` (${ep.endpoint})` : ''}`;
    const config: S3ClientConfig = {
      region: ep.region ?? process.env['AWS_REGION'] ?? 'us-east-1',
      forcePathStyle: ep.forcePathStyle ?? ep.endpoint !== undefined,
      maxAttempts: opts.maxAttempts ?? 3,
      // A dead endpoint should fail in seconds, not hang a shard; an idle socket for minutes is dead too.
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
      // We send CRC32C ourselves, computed once while streaming; the SDK should not add its own.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    if (ep.endpoint !== undefined) config.endpoint = ep.endpoint;
    const accessKeyId = readSecret(opts.side, 'accessKeyId', opts.secretsRoot);
    const secretAccessKey = readSecret(opts.side, 'secretAccessKey', opts.secretsRoot);
    if (accessKeyId !== undefined && secretAccessKey !== undefined) {
      const sessionToken = readSecret(opts.side, 'sessionToken', opts.secretsRoot);
      config.credentials = { accessKeyId, secretAccessKey, ...(sessionToken === undefined ? {} : { sessionToken }) };
    }
    this.#client = new S3Client(config);
    this.features = {
      nativeChecksums: ['crc32c'],
      atomicWrite: true,
      listModTimeIsUploadTime: true,
      maxSingleWrite: this.#partSize,
      partUpload: this.#partUpload(),
    };
  }

  #key(rel: string): string {
    return this.#prefix + rel;
  }
  #fail(err: unknown, op: string, rel?: string): DataSyncError {
    return translateS3Error(err, op, this.#side, this.location, rel);
  }

  async *list(opts: ListOptions = {}): AsyncGenerator<Entry> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(
          new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: this.#key(opts.prefix ?? ''), ...(token ? { ContinuationToken: token } : {}) }),
          opts.signal ? { abortSignal: opts.signal } : {},
        );
      } catch (err) {
        throw this.#fail(err, 'list', opts.prefix);
      }
      for (const o of page.Contents ?? []) {
        if (!o.Key || o.Key.endsWith('/')) continue; // "directory" placeholders hold no data
        yield {
          path: o.Key.slice(this.#prefix.length),
          size: o.Size ?? 0,
          mtimeMs: o.LastModified?.getTime() ?? 0,
          ...(o.ETag ? { version: o.ETag } : {}),
          ...(o.StorageClass ? { storageClass: o.StorageClass } : {}),
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async stat(rel: string): Promise<Entry> {
    try {
      const h = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(rel), ChecksumMode: 'ENABLED' }));
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
      const out = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(rel), ...(range ? { Range: range } : {}) }),
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
    const chunks = chunksOf(body, partSize)[Symbol.asyncIterator]();
    const first = await chunks.next();
    const firstChunk = first.done ? Buffer.alloc(0) : first.value;
    const second = firstChunk.length === partSize ? await chunks.next() : { done: true as const, value: undefined };
    const metadata = this.#metadata(opts);
    const storageClass = (opts.storageClass ?? this.#storageClass) as StorageClass | undefined;
    if (second.done) {
      const crc = crc32cOf(firstChunk);
      try {
        const out = await this.#client.send(new PutObjectCommand({
          Bucket: this.#bucket, Key: this.#key(rel), Body: firstChunk, ContentLength: firstChunk.length,
          ChecksumCRC32C: crc32cBase64(crc), Metadata: metadata,
          ...(storageClass ? { StorageClass: storageClass } : {}),
          ...(opts.contentType ? { ContentType: opts.contentType } : {}),
          ...(opts.ifNotExists ? { IfNoneMatch: '*' } : {}),
        }), opts.signal ? { abortSignal: opts.signal } : {});
        return { size: firstChunk.length, checksums: [crc32cChecksum(crc)], ...(out.ETag ? { version: out.ETag } : {}) };
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
      parts.push(await this.#uploadPart(token, rel, 2, second.value, opts.signal));
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
        parts.push(await this.#uploadPart(token, rel, parts.length + 1, next.value, opts.signal));
      }
      return await upload.complete(token, rel, parts, opts);
    } catch (err) {
      await upload.abort(token, rel).catch(() => {});
      throw this.#fail(err, 'write', rel);
    }
  }

  #metadata(opts: WriteOptions): Record<string, string> {
    return opts.mtimeMs === undefined ? {} : { [META_MTIME]: String(Math.floor(opts.mtimeMs)) };
  }

  async #uploadPart(token: string, rel: string, partNumber: number, buf: Buffer, signal?: AbortSignal): Promise<PartReceipt> {
    const crc = crc32cOf(buf);
    try {
      const out = await this.#client.send(new UploadPartCommand({
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
          const out = await this.#client.send(new CreateMultipartUploadCommand({
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
        for await (const c of chunksOf(body, Math.max(size, 1))) { buf = c; count++; }
        if (buf.length !== size || count > 1) {
          throw new DataSyncError(`part ${partNumber} of ${rel}: read ${buf.length} bytes, expected ${size}`, { code: 'ChecksumMismatch', side: 'source', path: rel, retryable: true });
        }
        return this.#uploadPart(token, rel, partNumber, buf, signal);
      },
      complete: async (token, rel, parts, opts) => {
        const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
        const crc = combinePartChecksums(sorted);
        const size = sorted.reduce((s, p) => s + p.size, 0);
        try {
          const out = await this.#client.send(new CompleteMultipartUploadCommand({
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
          await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: this.#key(rel), UploadId: token }));
        } catch (err) {
          throw this.#fail(err, 'abort upload of', rel);
        }
      },
    };
  }

  async delete(rel: string): Promise<void> {
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(rel) }));
    } catch (err) {
      const e = this.#fail(err, 'delete', rel);
      if (e.code !== 'NotFound') throw e;
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }
}

function normalizePrefix(prefix: string | undefined): string {
  const p = (prefix ?? '').replace(/^\/+/, '').replace(/\/+$/, '');
  return p === '' ? '' : `${p}/`;
}

/** Re-chunks a stream into buffers of exactly `size` bytes (the last may be shorter; never empty unless the stream is). */
export async function* chunksOf(body: Readable, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let yielded = false;
  for await (const raw of body) {
    let chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as Uint8Array);
    while (pendingBytes + chunk.length >= size) {
      const take = size - pendingBytes;
      pending.push(chunk.subarray(0, take));
      yield Buffer.concat(pending, size);
      yielded = true;
      chunk = chunk.subarray(take);
      pending = [];
      pendingBytes = 0;
    }
    if (chunk.length) {
      pending.push(chunk);
      pendingBytes += chunk.length;
    }
  }
  if (pendingBytes > 0 || !yielded) yield Buffer.concat(pending, pendingBytes);
}
