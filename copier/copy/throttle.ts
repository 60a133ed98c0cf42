// bandwidthLimit: a token bucket shared by every transfer in this process. Each worker process
// gets limit / shards, so the run as a whole stays within the limit. Tokens may go into debt, so
// a chunk larger than the burst still passes, and the next caller waits the debt off.
import { Transform, type TransformCallback } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

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

/** Pass-through that waits for tokens and reports every chunk (for live byte progress). */
export class MeteredStream extends Transform {
  readonly #bucket: TokenBucket | undefined;
  readonly #onBytes: (n: number) => void;
  constructor(bucket: TokenBucket | undefined, onBytes: (n: number) => void) {
    super();
    this.#bucket = bucket;
    this.#onBytes = onBytes;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const pass = () => {
      this.#onBytes(chunk.length);
      cb(null, chunk);
    };
    if (this.#bucket) this.#bucket.take(chunk.length).then(pass, cb);
    else pass();
  }
}
