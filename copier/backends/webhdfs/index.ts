// HDFS through WebHDFS. HDFS shows a file while it is being written, so every write goes to a
// hidden temporary name in the same directory and is promoted with an atomic rename
// (rename2 with OVERWRITE). Split files are written as part files in a hidden staging directory,
// joined with CONCAT and renamed into place (parts.ts).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { WebhdfsEndpoint } from '../../../api/types.ts';
import type { Backend, Checksum, ChecksumAlgorithm, Entry, Features, ListOptions, ReadOptions, WriteOptions, WriteResult } from '../backend.ts';
import { comparePaths } from '../backend.ts';
import { DataSyncError, type Side } from '../../errors.ts';
import { HashingPassThrough } from '../support/checksums.ts';
import { emptyReadable, translatedReadable } from '../support/streams.ts';
import path from 'node:path';
import { readSecret, secretsDir } from '../../runtime/secrets.ts';
import { WebHdfsClient, type FileStatus } from './client.ts';
import { WebHdfsError, translateWebHdfsError } from './errors.ts';
import { ConcatPartUpload, PARTS_DIR } from './parts.ts';

export interface WebHdfsBackendOptions {
  /** Root of mounted Secrets; defaults to $DATASYNC_SECRETS_DIR or /var/run/datasync/secrets. */
  secretsRoot?: string;
  /** Overrides the Secret lookups; for tests. */
  delegationToken?: string;
  ca?: string;
}

/** Marks in-flight temporary files; never listed. */
export const TEMP_MARKER = '.datasync-tmp-';

export function createWebHdfsBackend(spec: WebhdfsEndpoint, side: Side, opts: WebHdfsBackendOptions = {}): WebHdfsBackend {
  return new WebHdfsBackend(spec, side, opts);
}

export class WebHdfsBackend implements Backend {
  readonly kind = 'webhdfs';
  readonly location: string;
  readonly features: Features;
  readonly client: WebHdfsClient;
  /** Absolute HDFS directory of the endpoint, without a trailing '/'. */
  readonly root: string;
  readonly side: Side;

  constructor(spec: WebhdfsEndpoint, side: Side, opts: WebHdfsBackendOptions = {}) {
    this.side = side;
    this.root = `/${spec.path.replace(/^\/+|\/+$/g, '')}`.replace(/^\/$/, '');
    this.location = `webhdfs://${this.root || '/'} (${spec.namenodes.join(', ')})`;
    const token = opts.delegationToken ?? (spec.delegationTokenSecretRef ? readSecret(side, 'token', opts.secretsRoot)?.trim() : undefined);
    if (spec.delegationTokenSecretRef && !token) {
      throw new DataSyncError(`webhdfs ${side}: delegationTokenSecretRef ${spec.delegationTokenSecretRef.name} has no key "token" mounted`, { code: 'InvalidConfig', side: 'config' });
    }
    const ca = opts.ca ?? (spec.tls?.caSecretRef ? readFileSync(path.join(secretsDir(side, opts.secretsRoot), 'ca.crt'), 'utf8') : undefined);
    this.client = new WebHdfsClient({
      namenodes: spec.namenodes,
      ...(spec.user ? { user: spec.user } : {}),
      ...(token ? { delegationToken: token } : {}),
      ...(ca ? { ca } : {}),
      ...(spec.tls?.insecureSkipVerify ? { insecureSkipVerify: true } : {}),
    });
    this.features = {
      nativeChecksums: [],
      atomicWrite: false,
      rename: (from, to, o) => this.rename(from, to, o?.overwrite === true),
      checksum: (path, algorithm) => this.checksum(path, algorithm),
      setModTime: (path, mtimeMs) => this.#op('set mtime of', path, () => this.client.setTimes(this.abs(path), mtimeMs)),
      removeEmptyDir: (path) => this.#op('remove directory', path, async () => void (await this.client.delete(this.abs(path), false))),
      partUpload: new ConcatPartUpload(this),
    };
  }

  abs(path: string): string {
    return `${this.root}/${path}`;
  }

  fail(err: unknown, op: string, path?: string): DataSyncError {
    return translateWebHdfsError(err, { side: this.side, endpoint: this.location, op, ...(path === undefined ? {} : { path }) });
  }

  async #op<T>(op: string, path: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.fail(err, op, path);
    }
  }

  // ---- listing ----

  /**
   * Walks directories depth-first. Each directory's children are read in full (LISTSTATUS_BATCH
   * pages) and sorted by name, with directories keyed as "name/": that makes the walk emit full
   * paths in UTF-8 byte order whatever order the NameNode uses. Memory: one directory's listing
   * per level.
   */
  async *list(opts: ListOptions = {}): AsyncIterable<Entry> {
    const prefix = opts.prefix ?? '';
    const cut = prefix.lastIndexOf('/') + 1;
    const startDir = prefix.slice(0, cut);
    const namePrefix = prefix.slice(cut);
    yield* this.#walk(startDir, namePrefix, opts.signal);
  }

  async *#walk(dir: string, namePrefix: string, signal: AbortSignal | undefined): AsyncGenerator<Entry> {
    const children = await this.#children(dir, signal);
    for (const c of children) {
      if (!c.pathSuffix.startsWith(namePrefix) || isHidden(c.pathSuffix, dir)) continue;
      const rel = dir + c.pathSuffix;
      if (c.type === 'DIRECTORY') yield* this.#walk(`${rel}/`, '', signal);
      else yield entryOf(rel, c);
    }
  }

  async #children(dir: string, signal: AbortSignal | undefined): Promise<FileStatus[]> {
    const all: FileStatus[] = [];
    let startAfter: string | undefined;
    for (;;) {
      signal?.throwIfAborted();
      let page;
      try {
        page = await this.client.listStatusPage(this.abs(dir).replace(/\/$/, '') || '/', startAfter, signal);
      } catch (err) {
        if (err instanceof WebHdfsError && err.exception === 'FileNotFoundException') return [];
        throw this.fail(err, 'list', dir);
      }
      all.push(...page.entries);
      const last = page.entries.at(-1);
      if (page.remaining <= 0 || !last) break;
      startAfter = last.pathSuffix;
    }
    // A prefix naming a file (not a directory) lists as that file.
    if (all.length === 1 && all[0]!.pathSuffix === '' && all[0]!.type === 'FILE') return [];
    const key = (s: FileStatus) => (s.type === 'DIRECTORY' ? `${s.pathSuffix}/` : s.pathSuffix);
    return all.sort((a, b) => comparePaths(key(a), key(b)));
  }

  // ---- reading ----

  async stat(path: string): Promise<Entry> {
    const s = await this.#op('stat', path, () => this.client.getFileStatus(this.abs(path)));
    if (s.type === 'DIRECTORY') {
      throw new DataSyncError(`webhdfs stat of ${JSON.stringify(path)} in ${this.location}: is a directory, not a file`, {
        code: 'NotFound',
        side: this.side,
        endpoint: this.location,
        path,
      });
    }
    return entryOf(path, s);
  }

  async read(path: string, opts: ReadOptions = {}): Promise<Readable> {
    if (opts.length === 0) {
      await this.stat(path);
      return emptyReadable();
    }
    const body = await this.#op('read', path, () =>
      this.client.open(this.abs(path), {
        ...(opts.offset !== undefined ? { offset: opts.offset } : {}),
        ...(opts.length !== undefined ? { length: opts.length } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      }),
    );
    return translatedReadable(body, (err) => this.fail(err, 'read', path));
  }

  // ---- writing ----

  /** A hidden name next to the final one; truncated so it stays within HDFS's 255-byte component limit. */
  tempPathFor(path: string): string {
    const slash = path.lastIndexOf('/');
    const base = truncateUtf8(path.slice(slash + 1), 120);
    return `${path.slice(0, slash + 1)}.${base}${TEMP_MARKER}${randomBytes(6).toString('hex')}`;
  }

  async write(path: string, body: Readable, opts: WriteOptions = {}): Promise<WriteResult> {
    const temp = this.tempPathFor(path);
    const hasher = new HashingPassThrough();
    try {
      if (opts.ifNotExists) await this.#refuseExisting(path);
      const piped = pipeline(body, hasher, ...(opts.signal ? [{ signal: opts.signal }] : []));
      piped.catch(() => {}); // its error also reaches the upload through hasher
      await this.client.create(this.abs(temp), hasher, { overwrite: false, ...(opts.signal ? { signal: opts.signal } : {}) });
      await piped;
      // The DataNode answers 201 only once the file is closed with every byte it received.
      if (opts.mtimeMs !== undefined) await this.client.setTimes(this.abs(temp), opts.mtimeMs);
      await this.client.rename(this.abs(temp), this.abs(path), opts.ifNotExists !== true);
      return { size: hasher.bytes, checksums: [] };
    } catch (err) {
      await this.client.delete(this.abs(temp), false).catch(() => {});
      throw this.fail(err, 'write', path);
    }
  }

  async #refuseExisting(path: string): Promise<void> {
    try {
      await this.client.getFileStatus(this.abs(path));
    } catch (err) {
      if (err instanceof WebHdfsError && err.exception === 'FileNotFoundException') return;
      throw err;
    }
    throw new DataSyncError(`webhdfs write of ${JSON.stringify(path)} in ${this.location}: already exists`, {
      code: 'AlreadyExists',
      side: this.side,
      endpoint: this.location,
      path,
    });
  }

  /** Atomic promote. rename2 does not create parents, so they are made first. */
  async rename(from: string, to: string, overwrite: boolean): Promise<void> {
    await this.#op('rename', from, async () => {
      const parent = this.abs(to).slice(0, this.abs(to).lastIndexOf('/'));
      if (parent) await this.client.mkdirs(parent);
      await this.client.rename(this.abs(from), this.abs(to), overwrite);
    });
  }

  /**
   * HDFS's own file checksum. Only a COMPOSITE-CRC32C (dfs.checksum.combine.mode=COMPOSITE_CRC)
   * is a whole-file CRC32C comparable with other stores; the default MD5-of-MD5-of-CRC depends on
   * block and chunk sizes, so it is not reported.
   */
  async checksum(path: string, algorithm: ChecksumAlgorithm): Promise<Checksum | undefined> {
    if (algorithm !== 'crc32c') return undefined;
    const c = await this.#op('checksum', path, () => this.client.getFileChecksum(this.abs(path)));
    return c.algorithm === 'COMPOSITE-CRC32C' ? { algorithm: 'crc32c', value: c.bytes.slice(-8).toLowerCase() } : undefined;
  }

  /** For the preserve option: not part of Features yet. */
  async setPermission(path: string, octal: string): Promise<void> {
    await this.#op('set permission of', path, () => this.client.setPermission(this.abs(path), octal));
  }

  async setOwner(path: string, owner?: string, group?: string): Promise<void> {
    await this.#op('set owner of', path, () => this.client.setOwner(this.abs(path), owner, group));
  }

  async delete(path: string): Promise<void> {
    await this.#op('delete', path, () => this.client.delete(this.abs(path), false));
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

function entryOf(path: string, s: FileStatus): Entry {
  return { path, size: s.length, mtimeMs: s.modificationTime };
}

function isHidden(name: string, dir: string): boolean {
  return name.includes(TEMP_MARKER) || (dir === '' && `${name}/` === PARTS_DIR);
}

function truncateUtf8(s: string, maxBytes: number): string {
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > maxBytes) break;
    out += ch;
  }
  return out;
}
