// bandwidthLimit: a token bucket shared by every transfer in this process. Each worker process
// gets limit / shards, so the run as a whole stays within the limit. Tokens may go into debt, so
// a chunk larger than the burst still passes, and the next caller waits the debt off.
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { byobOf, withByob } from '../backends/support/byob.ts';
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
  /**
   * Feeds this stream from src. A source that can read into the consumer's buffers
   * (support/byob.ts) is piped in only when this stream is read the ordinary way; a consumer that
   * uses the reader instead never starts it.
   */
  feedFrom(src: Readable): void {
    const reader = byobOf(src);
    if (!reader) {
      src.pipe(this);
      return;
    }
    this.#pending = src;
    const takeRest = reader.takeRest?.bind(reader);
    withByob(this, {
      readInto: async (target, offset, length) => {
        this.#assertByob();
        const n = await reader.readInto(target, offset, length);
        await this.#account(target.subarray(offset, offset + n));
        return n;
      },
      ...(takeRest ? {
        takeRest: async () => {
          this.#assertByob();
          const rest = await takeRest();
          await this.#account(rest);
          return rest;
        },
      } : {}),
    });
  }
  #pending: Readable | undefined;
  override _read(size: number): void {
    const src = this.#pending;
    if (src) {
      this.#pending = undefined;
      src.pipe(this);
    }
    super._read(size);
  }
  #assertByob(): void {
    if (!this.#pending) throw new Error('a metered stream was read both as a stream and into buffers');
  }
  /** _transform's accounting, for bytes read straight into the consumer's buffer. */
  async #account(data: Buffer): Promise<void> {
    if (data.length === 0) return;
    if (this.#bucket) await this.#bucket.take(data.length);
    this.#count(data);
  }
  #count(data: Buffer): void {
    this.bytes += data.length;
    this.#crc?.update(data);
    this.#onBytes(data.length);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const pass = () => {
      this.#count(chunk);
      cb(null, chunk);
    };
    if (this.#bucket) this.#bucket.take(chunk.length).then(pass, cb);
    else pass();
  }
}
