// Split files on GCS: each part is uploaded as a temporary object under a hidden prefix of the
// endpoint root, then Compose joins them (at most 32 sources per call, so more parts are joined in
// a tree) into the final object in one atomic step, and the temporary objects are deleted.
import type { Readable } from 'node:stream';
import type { File, FileMetadata } from '@google-cloud/storage';
import type { PartReceipt, PartUpload, WriteOptions, WriteResult } from '../backend.ts';
import { DataSyncError } from '../../errors.ts';
import { base64ToHex } from '../support/checksums.ts';
import { GcsBackend, uploadMetadata } from './index.ts';

/** Hidden from listings; relative to the endpoint root. */
export const PARTS_DIR = '.datasync-parts/';
const MAX_COMPOSE_SOURCES = 32;

export class ComposePartUpload implements PartUpload {
  readonly #gcs: GcsBackend;

  constructor(gcs: GcsBackend) {
    this.#gcs = gcs;
  }

  #partsPrefix(token: string): string {
    if (!/^[0-9a-f]{16}$/.test(token)) {
      throw new DataSyncError(`invalid part upload token ${JSON.stringify(token)}`, { code: 'Internal', side: 'internal' });
    }
    return `${PARTS_DIR}${token}/`;
  }

  async begin(_path: string, _opts: WriteOptions): Promise<string> {
    return GcsBackend.newToken();
  }

  async writePart(token: string, path: string, partNumber: number, body: Readable, size: number, signal?: AbortSignal): Promise<PartReceipt> {
    const name = `${this.#partsPrefix(token)}${String(partNumber).padStart(6, '0')}`;
    const r = await this.#gcs.upload(this.#gcs.file(name), path, body, {}, false, signal);
    if (r.size !== size) {
      throw new DataSyncError(`gcs part ${partNumber} of ${JSON.stringify(path)}: got ${r.size} bytes, expected ${size}`, {
        code: 'ChecksumMismatch',
        side: this.#gcs.side,
        endpoint: this.#gcs.location,
        path,
        retryable: true,
      });
    }
    const crc = r.checksums.find((c) => c.algorithm === 'crc32c');
    return { partNumber, size, id: name, ...(crc ? { checksum: crc } : {}) };
  }

  async complete(token: string, path: string, parts: PartReceipt[], opts: WriteOptions): Promise<WriteResult> {
    const prefix = this.#partsPrefix(token);
    const ordered = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    ordered.forEach((p, i) => {
      if (p.partNumber !== i + 1 || !p.id.startsWith(prefix)) {
        throw new DataSyncError(`gcs compose of ${JSON.stringify(path)}: parts must be 1..${ordered.length} of this upload`, {
          code: 'Internal',
          side: 'internal',
          path,
        });
      }
    });
    try {
      let sources = ordered.map((p) => p.id);
      for (let level = 0; sources.length > MAX_COMPOSE_SOURCES; level++) {
        const next: string[] = [];
        for (let i = 0; i < sources.length; i += MAX_COMPOSE_SOURCES) {
          const name = `${prefix}c${level}-${String(i).padStart(6, '0')}`;
          await this.#compose(sources.slice(i, i + MAX_COMPOSE_SOURCES), this.#gcs.file(name), {}, false);
          next.push(name);
        }
        sources = next;
      }
      const md = await this.#compose(sources, this.#gcs.file(path), uploadMetadata(opts), opts.ifNotExists === true);
      const size = Number(md.size ?? 0);
      const expected = ordered.reduce((a, p) => a + p.size, 0);
      if (size !== expected) {
        throw new DataSyncError(`gcs compose of ${JSON.stringify(path)} in ${this.#gcs.location}: ${size} bytes, expected ${expected}`, {
          code: 'ChecksumMismatch',
          side: this.#gcs.side,
          endpoint: this.#gcs.location,
          path,
          retryable: true,
        });
      }
      await this.abort(token, path);
      return {
        size,
        checksums: typeof md.crc32c === 'string' ? [{ algorithm: 'crc32c', value: base64ToHex(md.crc32c) }] : [],
        ...(md.generation !== undefined ? { version: String(md.generation) } : {}),
      };
    } catch (err) {
      throw this.#gcs.fail(err, 'compose', path);
    }
  }

  async abort(token: string, path: string): Promise<void> {
    try {
      await this.#gcs.bucket.deleteFiles({ prefix: this.#gcs.root + this.#partsPrefix(token), force: true });
    } catch (err) {
      throw this.#gcs.fail(err, 'abort parts of', path);
    }
  }

  /** One Compose call; unlike Bucket#combine it carries custom metadata and storage class. */
  async #compose(sourceNames: string[], destination: File, metadata: FileMetadata, ifNotExists: boolean): Promise<FileMetadata> {
    const [body] = (await destination.request({
      method: 'POST',
      uri: '/compose',
      json: {
        destination: metadata,
        sourceObjects: sourceNames.map((name) => ({ name: this.#gcs.root + name })),
      },
      qs: ifNotExists ? { ifGenerationMatch: 0 } : {},
    })) as unknown as [FileMetadata];
    return body;
  }
}
