// Split files on Azure: every part is staged as an uncommitted block of the final blob (streamed,
// its length known), and complete commits the block list in part order: one atomic step. Nothing
// is visible before; an aborted upload's uncommitted blocks are discarded by Azure after a week.
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { PartReceipt, PartUpload, WriteOptions, WriteResult } from '../backend.ts';
import { DataSyncError } from '../../errors.ts';
import type { AzureBlobBackend } from './index.ts';

/** Azure's limit for one block. */
const MAX_BLOCK_SIZE = 4000 * 1024 * 1024;

/** Block ids of one blob must all have the same length: 12 hex characters, '-', 6 digits. */
export function blockId(uploadId: string, n: number): string {
  return Buffer.from(`${uploadId}-${String(n).padStart(6, '0')}`).toString('base64');
}

export class StagedBlockPartUpload implements PartUpload {
  readonly #az: AzureBlobBackend;

  constructor(az: AzureBlobBackend) {
    this.#az = az;
  }

  async begin(_path: string, _opts: WriteOptions): Promise<string> {
    return randomBytes(6).toString('hex');
  }

  async writePart(token: string, path: string, partNumber: number, body: Readable, size: number, signal?: AbortSignal): Promise<PartReceipt> {
    if (!/^[0-9a-f]{12}$/.test(token)) throw new DataSyncError(`invalid part upload token ${JSON.stringify(token)}`, { code: 'Internal', side: 'internal' });
    if (size > MAX_BLOCK_SIZE) {
      throw new DataSyncError(`azureBlob part ${partNumber} of ${JSON.stringify(path)} is ${size} bytes; Azure blocks hold at most ${MAX_BLOCK_SIZE}: lower parallelism.partSize`, {
        code: 'InvalidConfig',
        side: 'config',
        path,
      });
    }
    const id = blockId(token, partNumber);
    try {
      // Streamed with its declared length: a body of another length fails the request.
      await this.#az.blob(path).stageBlock(id, () => body, size, signal ? { abortSignal: signal } : {});
    } catch (err) {
      throw this.#az.fail(err, `stage part ${partNumber} of`, path);
    }
    return { partNumber, size, id };
  }

  async complete(_token: string, path: string, parts: PartReceipt[], opts: WriteOptions): Promise<WriteResult> {
    const ordered = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    try {
      const r = await this.#az.blob(path).commitBlockList(
        ordered.map((p) => p.id),
        this.#az.commitOptions(opts),
      );
      return { size: ordered.reduce((a, p) => a + p.size, 0), checksums: [], ...(r.etag ? { version: r.etag } : {}) };
    } catch (err) {
      throw this.#az.fail(err, 'commit parts of', path);
    }
  }

  async abort(_token: string, _path: string): Promise<void> {
    // Nothing to undo: uncommitted blocks never become visible and expire on their own.
  }
}
