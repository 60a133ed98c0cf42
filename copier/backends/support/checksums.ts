// Local checksums computed while bytes stream past, so a backend can report or verify what it
// stored without a second read. Shared by the gcs, webhdfs and azureBlob backends.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { Crc32c, crc32cHex } from '../../checksum.ts';
import type { Checksum } from '../backend.ts';

export { crc32cHex };

export function base64ToHex(b64: string): string {
  return Buffer.from(b64, 'base64').toString('hex');
}

export function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

/** A pass-through that counts bytes and hashes them with CRC32C and MD5. */
export class HashingPassThrough extends Transform {
  bytes = 0;
  readonly #crc = new Crc32c();
  readonly #md5: Hash = createHash('md5');

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.#crc.update(chunk);
    this.#md5.update(chunk);
    done(null, chunk);
  }

  /** Call only after the stream has ended. */
  checksums(): { crc32c: Checksum; md5: Checksum } {
    return {
      crc32c: { algorithm: 'crc32c', value: crc32cHex(this.#crc.digest()) },
      md5: { algorithm: 'md5', value: this.#md5.copy().digest('hex') },
    };
  }
}
