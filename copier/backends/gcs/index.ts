// Google Cloud Storage backend on @google-cloud/storage. Writes are atomic at the final name by
// themselves (an object appears only when its upload completes), so no temp+rename is needed.
// Bodies beyond a threshold use resumable uploads in fixed chunks; split files are uploaded as hidden part objects
// and joined with Compose (compose.ts).
import { randomBytes } from 'node:crypto';
import { addAbortSignal, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { existsSync } from 'node:fs';
import { Storage, type Bucket, type File, type FileMetadata } from '@google-cloud/storage';
import type { GcsEndpoint } from '../../../api/types.ts';
import type { Backend, Checksum, Entry, Features, ListOptions, ReadOptions, WriteOptions, WriteResult } from '../backend.ts';
import { DataSyncError, type Side } from '../../errors.ts';
import { HashingPassThrough, base64ToHex, hexToBase64 } from '../support/checksums.ts';
import { emptyReadable, readHead, translatedReadable } from '../support/streams.ts';
import path from 'node:path';
import { secretsDir } from '../../runtime/secrets.ts';
import { translateGcsError } from './errors.ts';
import { ComposePartUpload, PARTS_DIR } from './compose.ts';

export interface GcsBackendOptions {
  /** Bodies up to this size are buffered and sent in one request; larger ones use a resumable upload. Default 8 MiB. */
  resumableThreshold?: number;
  /** SDK-internal retries of idempotent requests. Default 3; the engine retries files on top. */
  maxRetries?: number;
  /** Overrides the Secret lookup; for tests. */
  keyFilename?: string;
  /** Root of mounted credential Secrets; defaults to $DATASYNC_SECRETS_DIR or /var/run/datasync/secrets. */
  secretsRoot?: string;
}

/** Where DataSync records the source's modification time (ms since the epoch), as the s3 backend does. */
export const MTIME_METADATA_KEY = 'datasync-mtime';
/** Resumable uploads send fixed chunks (a multiple of 256 KiB), each a complete request. */
const RESUMABLE_CHUNK = 8 * 1024 * 1024;

export function createGcsBackend(spec: GcsEndpoint, side: Side, opts: GcsBackendOptions = {}): GcsBackend {
  return new GcsBackend(spec, side, opts);
}

export class GcsBackend implements Backend {
  readonly kind = 'gcs';
  readonly location: string;
  readonly features: Features;
  readonly storage: Storage;
  readonly bucket: Bucket;
  /** The object-name prefix of this endpoint's root: '' or ending in '/'. */
  readonly root: string;
  readonly side: Side;
  readonly resumableThreshold: number;

  constructor(spec: GcsEndpoint, side: Side, opts: GcsBackendOptions = {}) {
    this.side = side;
    this.root = normalizePrefix(spec.prefix);
    this.location = `gs://${spec.bucket}/${this.root}${spec.endpoint ? ` (${spec.endpoint})` : ''}`;
    this.resumableThreshold = opts.resumableThreshold ?? 8 * 1024 * 1024;
    const keyFilename = opts.keyFilename ?? mountedCredentials(side, opts.secretsRoot);
    const maxRetries = opts.maxRetries ?? 3;
    this.storage = new Storage({
      ...(spec.projectId ? { projectId: spec.projectId } : {}),
      ...(spec.endpoint ? { apiEndpoint: spec.endpoint.replace(/\/+$/, '') } : {}),
      ...(keyFilename ? { keyFilename } : {}),
      // An emulator wants no auth; a private endpoint with a mounted key still authenticates.
      useAuthWithCustomEndpoint: keyFilename !== undefined,
      retryOptions: { autoRetry: maxRetries > 0, maxRetries, maxRetryDelay: 8, totalTimeout: 120 },
    });
    this.bucket = this.storage.bucket(spec.bucket);
    const parts = new ComposePartUpload(this);
    this.features = {
      nativeChecksums: ['crc32c', 'md5'],
      atomicWrite: true,
      partUpload: parts,
      serverSideCopy: (from, to, o) => this.copy(from, to, o),
    };
  }

  file(path: string): File {
    return this.bucket.file(this.root + path);
  }

  fail(err: unknown, op: string, path?: string): DataSyncError {
    return translateGcsError(err, { side: this.side, endpoint: this.location, op, ...(path === undefined ? {} : { path }) });
  }

  async *list(opts: ListOptions = {}): AsyncIterable<Entry> {
    const prefix = this.root + (opts.prefix ?? '');
    let pageToken: string | undefined;
    do {
      opts.signal?.throwIfAborted();
      let files: File[];
      let next: { pageToken?: string } | null | undefined;
      try {
        [files, next] = (await this.bucket.getFiles({ prefix, autoPaginate: false, maxResults: 1000, ...(pageToken ? { pageToken } : {}) })) as unknown as [
          File[],
          { pageToken?: string } | null,
        ];
      } catch (err) {
        throw this.fail(err, 'list', opts.prefix ?? '');
      }
      for (const f of files) {
        const rel = f.name.slice(this.root.length);
        // Directory markers ("dir/", as the console creates) and in-flight parts are not files.
        if (rel.endsWith('/') || rel.startsWith(PARTS_DIR)) continue;
        yield entryOf(rel, f.metadata);
      }
      pageToken = next?.pageToken;
    } while (pageToken);
  }

  async stat(path: string): Promise<Entry> {
    try {
      const [md] = await this.file(path).getMetadata();
      return entryOf(path, md);
    } catch (err) {
      throw this.fail(err, 'stat', path);
    }
  }

  async read(path: string, opts: ReadOptions = {}): Promise<Readable> {
    const offset = opts.offset ?? 0;
    if (opts.length === 0) {
      await this.stat(path);
      return emptyReadable();
    }
    const whole = offset === 0 && opts.length === undefined;
    const source = this.file(path).createReadStream({
      // A whole read is checked against the stored CRC32C by the SDK; ranges cannot be.
      validation: whole ? 'crc32c' : false,
      ...(offset > 0 ? { start: offset } : {}),
      ...(opts.length !== undefined ? { start: offset, end: offset + opts.length - 1 } : {}),
    });
    if (opts.signal) addAbortSignal(opts.signal, source);
    return translatedReadable(source, (err) => this.fail(err, 'read', path));
  }

  async write(path: string, body: Readable, opts: WriteOptions = {}): Promise<WriteResult> {
    return this.upload(this.file(path), path, body, uploadMetadata(opts), opts.ifNotExists === true, opts.signal, opts.checksum);
  }

  /**
   * Uploads body to file, then checks what GCS stored against what was sent. Bodies up to the
   * resumable threshold are buffered and sent in one request; larger ones go as a resumable upload
   * in fixed chunks, so an abort never leaves a request hanging half-sent and never creates an
   * object (an unfinished resumable session expires on its own).
   */
  async upload(
    file: File,
    path: string,
    body: Readable,
    metadata: FileMetadata,
    ifNotExists: boolean,
    signal: AbortSignal | undefined,
    expected?: Checksum,
  ): Promise<WriteResult> {
    const hasher = new HashingPassThrough();
    // A checksum the caller knows up front goes with the upload, so GCS itself refuses bad data
    // before the object becomes visible.
    const md: FileMetadata = { ...metadata };
    if (expected?.algorithm === 'crc32c') md.crc32c = hexToBase64(expected.value);
    if (expected?.algorithm === 'md5') md.md5Hash = hexToBase64(expected.value);
    try {
      const { head, rest } = await readHead(body, this.resumableThreshold, signal);
      const sink = file.createWriteStream({
        resumable: rest !== undefined,
        ...(rest !== undefined ? { chunkSize: RESUMABLE_CHUNK } : {}),
        validation: false,
        metadata: md,
        ...(ifNotExists ? { preconditionOpts: { ifGenerationMatch: 0 } } : {}),
      });
      await pipeline(rest ?? Readable.from([head]), hasher, sink, ...(signal ? [{ signal }] : []));
    } catch (err) {
      throw this.fail(err, 'write', path);
    }
    const stored = file.metadata;
    const local = hasher.checksums();
    const size = Number(stored.size ?? hasher.bytes);
    const storedCrc = typeof stored.crc32c === 'string' ? base64ToHex(stored.crc32c) : undefined;
    if (size !== hasher.bytes || (storedCrc !== undefined && storedCrc !== local.crc32c.value)) {
      throw new DataSyncError(
        `gcs write of ${JSON.stringify(path)} in ${this.location}: stored ${size} bytes crc32c ${storedCrc}, sent ${hasher.bytes} bytes crc32c ${local.crc32c.value}; retry the copy`,
        { code: 'ChecksumMismatch', side: this.side, endpoint: this.location, path, retryable: true },
      );
    }
    const sent = expected?.algorithm === 'crc32c' ? local.crc32c : expected?.algorithm === 'md5' ? local.md5 : undefined;
    if (expected && sent && sent.value !== expected.value) {
      throw new DataSyncError(`gcs write of ${JSON.stringify(path)} in ${this.location}: data does not match the caller's ${expected.algorithm}; the source changed while copying`, {
        code: 'ChecksumMismatch',
        side: this.side,
        endpoint: this.location,
        path,
        retryable: true,
      });
    }
    return { size, checksums: [local.crc32c, local.md5], ...(stored.generation !== undefined ? { version: String(stored.generation) } : {}) };
  }

  async copy(from: string, to: string, opts: WriteOptions): Promise<WriteResult> {
    try {
      // GCS enforces ifGenerationMatch=0 on the rewrite itself; the check first also covers
      // emulators that ignore preconditions on copies (fake-gcs-server does).
      if (opts.ifNotExists && (await this.file(to).exists())[0]) {
        throw new DataSyncError(`gcs copy to ${JSON.stringify(to)} in ${this.location}: already exists`, {
          code: 'PreconditionFailed',
          side: this.side,
          endpoint: this.location,
          path: to,
        });
      }
      const [copied] = await this.file(from).copy(this.file(to), {
        ...(opts.ifNotExists ? { preconditionOpts: { ifGenerationMatch: 0 } } : {}),
      });
      // A rewrite response does not always carry the new object's resource.
      const [md] = await copied.getMetadata();
      const e = entryOf(to, md);
      return { size: e.size, checksums: e.checksums ?? [], ...(e.version ? { version: e.version } : {}) };
    } catch (err) {
      throw this.fail(err, 'copy', from);
    }
  }

  async delete(path: string): Promise<void> {
    try {
      await this.file(path).delete({ ignoreNotFound: true });
    } catch (err) {
      throw this.fail(err, 'delete', path);
    }
  }

  async close(): Promise<void> {}

  static newToken(): string {
    return randomBytes(8).toString('hex');
  }
}

export function uploadMetadata(opts: WriteOptions): FileMetadata {
  return {
    contentType: opts.contentType ?? 'application/octet-stream',
    ...(opts.storageClass ? { storageClass: opts.storageClass } : {}),
    ...(opts.mtimeMs !== undefined ? { metadata: { [MTIME_METADATA_KEY]: String(Math.floor(opts.mtimeMs)) } } : {}),
  };
}

function entryOf(path: string, md: FileMetadata): Entry {
  const checksums: Checksum[] = [];
  if (typeof md.crc32c === 'string') checksums.push({ algorithm: 'crc32c', value: base64ToHex(md.crc32c) });
  // Composed objects have no MD5.
  if (typeof md.md5Hash === 'string') checksums.push({ algorithm: 'md5', value: base64ToHex(md.md5Hash) });
  const recorded = md.metadata?.[MTIME_METADATA_KEY];
  const recordedMs = typeof recorded === 'string' ? Number(recorded) : NaN;
  return {
    path,
    size: Number(md.size ?? 0),
    mtimeMs: Number.isFinite(recordedMs) ? recordedMs : Date.parse(String(md.updated ?? md.timeCreated ?? 0)),
    checksums,
    ...(md.generation !== undefined ? { version: String(md.generation) } : {}),
    ...(md.storageClass ? { storageClass: md.storageClass } : {}),
  };
}

function normalizePrefix(prefix: string | undefined): string {
  const p = (prefix ?? '').replace(/^\/+/, '');
  return p === '' || p.endsWith('/') ? p : `${p}/`;
}

function mountedCredentials(side: Side, secretsRoot?: string): string | undefined {
  const file = path.join(secretsDir(side, secretsRoot), 'credentials.json');
  return existsSync(file) ? file : undefined;
}
