// The one interface every storage backend implements, after rclone's Fs: a handful of required
// methods plus optional capabilities, detected once into `features`. Sync logic (planner, worker,
// committer) imports this file and never a concrete backend.
//
// Paths are relative to the endpoint's root (bucket+prefix, directory, container+prefix), use '/'
// as the separator, never start with '/', and are compared as UTF-8 byte strings.
import type { Readable } from 'node:stream';

export type ChecksumAlgorithm = 'crc32c' | 'md5' | 'sha256';

/** A whole-object checksum, value as lowercase hex. */
export interface Checksum {
  algorithm: ChecksumAlgorithm;
  value: string;
}

export interface Entry {
  path: string;
  size: number;
  /**
   * Modification time in ms since the epoch. Object stores report the time recorded by DataSync
   * in object metadata (the source's mtime) when present, else their own last-modified time.
   * Exception: a backend with `features.listModTimeIsUploadTime` (S3, whose listings carry no
   * metadata) reports its upload time from `list` and the recorded time from `stat`.
   */
  mtimeMs: number;
  /** Native whole-object checksums the backend knows without reading the data. */
  checksums?: Checksum[];
  /** Opaque version for conditional writes and reads: S3 ETag, GCS generation, Azure ETag. */
  version?: string;
  storageClass?: string;
}

export interface ListOptions {
  /** Only entries whose path starts with this prefix (a directory prefix should end in '/'). */
  prefix?: string;
  signal?: AbortSignal;
}

export interface ReadOptions {
  offset?: number;
  /** Bytes to read from offset; undefined reads to the end. */
  length?: number;
  /**
   * The size the plan saw, for a whole-file read: a backend may read a small file in one call. The
   * stream still ends at the file's real end, so a file that changed size is caught by the caller.
   */
  expectedSize?: number;
  signal?: AbortSignal;
}

export interface WriteOptions {
  /** Exact byte count of body when known; required by some backends for single-shot puts. */
  size?: number;
  /** Source modification time to keep (filesystem: utimes; object stores: metadata). */
  mtimeMs?: number;
  /** Checksum the caller computed of the data; backends that can verify server-side do so. */
  checksum?: Checksum;
  storageClass?: string;
  contentType?: string;
  /** Refuse to overwrite an existing object (conditional put). */
  ifNotExists?: boolean;
  signal?: AbortSignal;
}

export interface WriteResult {
  size: number;
  /** Checksums the backend computed or confirmed for what it stored. */
  checksums: Checksum[];
  version?: string;
}

/** Split files: byte ranges uploaded independently (possibly by different processes), then joined. */
export interface PartUpload {
  /** Starts an upload and returns a token that other processes can use to add parts. */
  begin(path: string, opts: WriteOptions): Promise<string>;
  /** partNumber starts at 1; parts of equal size except the last. */
  writePart(token: string, path: string, partNumber: number, body: Readable, size: number, signal?: AbortSignal): Promise<PartReceipt>;
  /** Joins the parts in order and makes the object visible at path, atomically. */
  complete(token: string, path: string, parts: PartReceipt[], opts: WriteOptions): Promise<WriteResult>;
  abort(token: string, path: string): Promise<void>;
}
export interface PartReceipt {
  partNumber: number;
  size: number;
  /** Backend-specific part identity (S3 ETag, Azure block id, temp object name). */
  id: string;
  checksum?: Checksum;
}

export interface Features {
  /** Server-side copy within this backend. */
  serverSideCopy?: (from: string, to: string, opts: WriteOptions) => Promise<WriteResult>;
  /** Atomic rename: promote staged data to its final path (filesystem, HDFS). */
  rename?: (from: string, to: string, opts?: { overwrite?: boolean }) => Promise<void>;
  /** Computes a native checksum by asking the server (e.g. HDFS GETFILECHECKSUM), without reading data. */
  checksum?: (path: string, algorithm: ChecksumAlgorithm) => Promise<Checksum | undefined>;
  /** Sets modification time after writing (filesystem, HDFS SETTIMES). */
  setModTime?: (path: string, mtimeMs: number) => Promise<void>;
  partUpload?: PartUpload;
  /**
   * Deletes many paths in few requests (S3's DeleteObjects: up to 1,000 keys each); absent paths
   * succeed, as with `delete`. Throws naming the first path that could not be deleted.
   */
  deleteBatch?: (paths: string[]) => Promise<void>;
  /** Removes an empty directory (backends with real directories only); never removes a non-empty one. */
  removeEmptyDir?: (path: string) => Promise<void>;
  /** Checksum algorithms that `Entry.checksums` or WriteResult report natively, best first. */
  nativeChecksums: ChecksumAlgorithm[];
  /** Whether a write is atomic at the final path by itself (object stores) or needs temp+rename. */
  atomicWrite: boolean;
  /** Largest object a single write may carry; larger ones go through partUpload. */
  maxSingleWrite?: number;
  /**
   * True when `list` reports the server's upload time rather than the source mtime recorded on
   * write (object stores keep that in metadata, which listings omit); `stat` reports the recorded one.
   * The planner then stats same-size files before comparing modification times.
   */
  listModTimeIsUploadTime?: boolean;
  /**
   * The backend computes this checksum of exactly the bytes `write` and `writePart` receive, sends it
   * with the data so the server rejects a body that does not match, and reports it in WriteResult
   * and PartReceipt. The copy loop then need not hash the stream a second time (on B1 that second
   * CRC32C pass was 15% of copier CPU).
   */
  checksOnWrite?: ChecksumAlgorithm;
}

export interface Backend {
  /** Backend kind, as in the spec: 'filesystem', 's3', 'gcs', 'webhdfs', 'azureBlob'. */
  readonly kind: string;
  /** Where this backend points, for messages and logs; never contains a credential. */
  readonly location: string;
  readonly features: Features;

  /** Recursive listing of files (not directories), ascending by UTF-8 bytes of path, streamed. */
  list(opts?: ListOptions): AsyncIterable<Entry>;
  /**
   * The same listing in runs of entries (a directory's files, a page of keys), for a backend that
   * has them anyway. The planner reads listings this way (listInBatches): an async iteration per
   * entry costs a few promises, and its layers (listing, read-ahead, merge, decisions) did that
   * for every listed path.
   */
  listBatches?(opts?: ListOptions): AsyncIterable<Entry[]>;
  /** Throws DataSyncError code NotFound when absent. */
  stat(path: string): Promise<Entry>;
  read(path: string, opts?: ReadOptions): Promise<Readable>;
  /**
   * Writes body to path. Nothing is ever visible at path until the whole body is stored; an
   * aborted or failed write leaves whatever was at path before untouched.
   */
  write(path: string, body: Readable, opts?: WriteOptions): Promise<WriteResult>;
  /** Deletes path; deleting an absent path succeeds (idempotent). */
  delete(path: string): Promise<void>;
  /** Releases sockets and handles. */
  close(): Promise<void>;
}

/** Entries per run when a backend without `listBatches` is read in runs. */
const RUN = 1000;

/** A backend's listing in runs of entries: its own runs, else its entries gathered up to RUN at a time. Never an empty run. */
export async function* listInBatches(backend: Backend, opts?: ListOptions): AsyncGenerator<Entry[]> {
  if (backend.listBatches) {
    for await (const batch of backend.listBatches(opts)) if (batch.length) yield batch;
    return;
  }
  let batch: Entry[] = [];
  for await (const e of backend.list(opts)) {
    batch.push(e);
    if (batch.length >= RUN) { yield batch; batch = []; }
  }
  if (batch.length) yield batch;
}

/** Compares paths as UTF-8 byte strings: the order S3, GCS and Azure list in. */
export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  // Called a few times per listed path by the planner's merges (millions per plan), so it compares
  // UTF-16 code units in place instead of encoding both strings: for code points below U+10000
  // (no surrogates) code-unit order is code-point order is UTF-8 byte order. At the first
  // difference, a surrogate on either side (a code point >= U+10000, or an unpaired one) falls back
  // to comparing the encoded bytes.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if ((x >= 0xd800 && x <= 0xdfff) || (y >= 0xd800 && y <= 0xdfff)) return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : 1;
}
