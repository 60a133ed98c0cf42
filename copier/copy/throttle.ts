// bandwidthLimit: a token bucket shared by every transfer in this process. Each worker process
// gets limit / shards, so the run as a whole stays within the limit. Tokens may go into debt, so
// a chunk larger than the burst still passes, and the next caller waits the debt off.
import { Transform, type TransformCallback } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Crc32c } from '../checksum.ts';

export class TokenBucket {
  readonly rate: number;
  #tokens: number;
  #last = performance.now();
  readonly #burst: number;
  constructor(bytesPerSecond: number) {
    this.rate = bytesPerSecond;
    this.#burst = Math.max(bytesPerSecond / 4, 64 * 1024);
    this.#tokens = this.#burst;
  }
  async take(n: number): Promise<void> {
    const now = performance.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.rate);
    this.#last = now;
    this.#tokens -= n;
    if (this.#tokens < 0) await sleep((-this.#tokens / this.rate) * 1000);
  }
}

/**
 * Pass-through that waits for tokens, reports every chunk (for live byte progress), counts bytes
 * and, when asked, computes their CRC32C: one stage per transfer instead of one per concern, since
 * per-stage overhead dominates for small files.
 */
export class MeteredStream extends Transform {
  readonly #bucket: TokenBucket | undefined;
  readonly #onBytes: (n: number) => void;
  readonly #crc: Crc32c | undefined;
  bytes = 0;
  constructor(bucket: TokenBucket | undefined, onBytes: (n: number) => void, opts: { crc32c?: boolean } = {}) {
    super();
    this.#bucket = bucket;
    this.#onBytes = onBytes;
    this.#crc = opts.crc32c ? new Crc32c() : undefined;
  }
  /** CRC32C of the bytes passed so far; undefined unless constructed with crc32c. */
  get crc32c(): number | undefined {
    return this.#crc?.digest();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const pass = () => {
      this.bytes += chunk.length;
      this.#crc?.update(chunk);
      this.#onBytes(chunk.length);
      cb(null, chunk);
    };
    if (this.#bucket) this.#bucket.take(chunk.length).then(pass, cb);
    else pass();
  }
}
