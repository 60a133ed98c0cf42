// Split files on HDFS: each part is its own file in a hidden staging directory
// (<root>/.datasync-parts/<token>/), written by any process. complete CONCATs parts 2..n onto
// part 1 (CONCAT wants all files in one directory, and its sources travel comma-separated, hence
// a staging directory with plain names), then renames part 1 to the final path atomically.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { PartReceipt, PartUpload, WriteOptions, WriteResult } from '../backend.ts';
import { DataSyncError } from '../../errors.ts';
import type { WebHdfsBackend } from './index.ts';

/** Relative to the endpoint root; hidden from listings. */
export const PARTS_DIR = '.datasync-parts/';

export class ConcatPartUpload implements PartUpload {
  readonly #hdfs: WebHdfsBackend;

  constructor(hdfs: WebHdfsBackend) {
    this.#hdfs = hdfs;
  }

  #dir(token: string): string {
    if (!/^[0-9a-f]{16}$/.test(token)) throw new DataSyncError(`invalid part upload token ${JSON.stringify(token)}`, { code: 'Internal', side: 'internal' });
    return `${PARTS_DIR}${token}`;
  }

  #part(token: string, partNumber: number): string {
    return `${this.#dir(token)}/${String(partNumber).padStart(6, '0')}`;
  }

  async begin(_path: string, _opts: WriteOptions): Promise<string> {
    return randomBytes(8).toString('hex');
  }

  async writePart(token: string, path: string, partNumber: number, body: Readable, size: number, signal?: AbortSignal): Promise<PartReceipt> {
    const part = this.#part(token, partNumber);
    // Written through the normal write path: a temp name then rename, so a retried part never
    // leaves a half-written part file behind under the name complete will use.
    const r = await this.#hdfs.write(part, body, { size, ...(signal ? { signal } : {}) });
    if (r.size !== size) {
      throw new DataSyncError(`webhdfs part ${partNumber} of ${JSON.stringify(path)}: got ${r.size} bytes, expected ${size}`, {
        code: 'ChecksumMismatch',
        side: this.#hdfs.side,
        endpoint: this.#hdfs.location,
        path,
        retryable: true,
      });
    }
    return { partNumber, size, id: part };
  }

  async complete(token: string, path: string, parts: PartReceipt[], opts: WriteOptions): Promise<WriteResult> {
    const ordered = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    ordered.forEach((p, i) => {
      if (p.partNumber !== i + 1 || p.id !== this.#part(token, p.partNumber)) {
        throw new DataSyncError(`webhdfs concat of ${JSON.stringify(path)}: parts must be 1..${ordered.length} of this upload`, { code: 'Internal', side: 'internal', path });
      }
    });
    const first = ordered[0];
    if (!first) throw new DataSyncError(`webhdfs concat of ${JSON.stringify(path)}: no parts`, { code: 'Internal', side: 'internal', path });
    const size = ordered.reduce((a, p) => a + p.size, 0);
    const client = this.#hdfs.client;
    try {
      const rest = ordered.slice(1).filter((p) => p.size > 0);
      if (rest.length > 0) await client.concat(this.#hdfs.abs(first.id), rest.map((p) => this.#hdfs.abs(p.id)));
      const joined = await client.getFileStatus(this.#hdfs.abs(first.id));
      if (joined.length !== size) {
        throw new DataSyncError(`webhdfs concat of ${JSON.stringify(path)} in ${this.#hdfs.location}: ${joined.length} bytes, expected ${size}`, {
          code: 'ChecksumMismatch',
          side: this.#hdfs.side,
          endpoint: this.#hdfs.location,
          path,
          retryable: true,
        });
      }
      if (opts.mtimeMs !== undefined) await client.setTimes(this.#hdfs.abs(first.id), opts.mtimeMs);
    } catch (err) {
      throw this.#hdfs.fail(err, 'concat parts of', path);
    }
    await this.#hdfs.rename(first.id, path, opts.ifNotExists !== true);
    await this.abort(token, path);
    return { size, checksums: [] };
  }

  async abort(token: string, path: string): Promise<void> {
    try {
      await this.#hdfs.client.delete(this.#hdfs.abs(this.#dir(token)), true);
    } catch (err) {
      throw this.#hdfs.fail(err, 'abort parts of', path);
    }
  }
}
