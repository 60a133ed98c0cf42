// Reused I/O buffers for uploads that read a body, or a part of one, into memory before sending it.
//
// Why: a fresh 4 MiB buffer costs 1,024 page faults when it is first filled, and a garbage
// collection later. On B7 (4 shards on 2 cores, each putting 8 files of 4 MiB) reading a file into
// a fresh buffer took 9-28 ms on average, 3.5-6.6 ms into a reused one; the whole run's system
// CPU fell from 0.76-1.37 s to 0.46-0.67 s, and its largest process's peak RSS from 121-144 to
// 98-100 MiB. rclone (lib/pool) and the AWS SDK for Go's upload manager pool buffers for the same
// reason.
//
// Ownership is explicit: an upload takes a lease, its chunks come from the lease, and it releases
// the lease once no request can still read them (after the upload succeeded). A failed upload just
// drops its lease, so a buffer that an aborted request might still be writing from is never reused.

const MiB = 2 ** 20;

export interface BufferPoolOptions {
  /** Idle buffers kept for reuse, in bytes; a release beyond it lets the buffer go. */
  maxIdleBytes: number;
  /** Buffers larger than this are neither pooled nor rounded up: allocated as asked, left to GC. */
  maxBufferBytes: number;
  /** Idle buffers all go once nothing was taken or released for this long (a watch that went quiet). */
  idleMs: number;
}

/** Capacity for a request: powers of two up to 1 MiB, whole MiB above, so a part wastes < 1 MiB. */
export function capacityFor(size: number): number {
  if (size <= 0) return 0;
  if (size >= MiB) return Math.ceil(size / MiB) * MiB;
  return 2 ** Math.ceil(Math.log2(size));
}

export class BufferPool {
  readonly #opts: BufferPoolOptions;
  /** Idle buffers by capacity, most recently released last. */
  readonly #idle = new Map<number, Buffer[]>();
  #idleBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #lastUse = 0;

  constructor(opts: BufferPoolOptions) {
    this.#opts = opts;
  }

  get idleBytes(): number {
    return this.#idleBytes;
  }

  lease(): BufferLease {
    return new BufferLease(this);
  }

  /** A buffer of exactly `size` bytes (a view of a pooled one when it can be), contents undefined. */
  take(size: number): Buffer {
    this.#lastUse = Date.now();
    const cap = capacityFor(size);
    if (cap === 0 || cap > this.#opts.maxBufferBytes) return Buffer.allocUnsafeSlow(size);
    // The exact class first; else the smallest idle buffer that wastes at most half of itself.
    let from = this.#idle.get(cap)?.length ? cap : undefined;
    if (from === undefined) {
      for (const [c, list] of this.#idle) if (list.length && c > cap && c <= 2 * cap && (from === undefined || c < from)) from = c;
    }
    if (from === undefined) return Buffer.allocUnsafeSlow(cap).subarray(0, size);
    const buf = this.#idle.get(from)!.pop()!;
    this.#idleBytes -= buf.length;
    return buf.subarray(0, size);
  }

  /** Takes back a buffer from take(); its contents may be overwritten at once. */
  give(view: Buffer): void {
    this.#lastUse = Date.now();
    const whole = Buffer.from(view.buffer, 0, view.buffer.byteLength);
    const cap = whole.length;
    if (cap === 0 || cap > this.#opts.maxBufferBytes || this.#idleBytes + cap > this.#opts.maxIdleBytes) return;
    const list = this.#idle.get(cap) ?? [];
    this.#idle.set(cap, list);
    list.push(whole);
    this.#idleBytes += cap;
    this.#scheduleTrim();
  }

  /** Lets every idle buffer go. */
  clear(): void {
    this.#idle.clear();
    this.#idleBytes = 0;
  }

  #scheduleTrim(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (Date.now() - this.#lastUse >= this.#opts.idleMs) this.clear();
      else if (this.#idleBytes > 0) this.#scheduleTrim();
    }, this.#opts.idleMs);
    this.#timer.unref(); // never what keeps the process alive
  }
}

/** The buffers one upload took; released together once the upload no longer needs them. */
export class BufferLease {
  readonly #pool: BufferPool;
  #held: Buffer[] = [];

  constructor(pool: BufferPool) {
    this.#pool = pool;
  }

  get(size: number): Buffer {
    const buf = this.#pool.take(size);
    this.#held.push(buf);
    return buf;
  }

  /** Back to the pool: call only when no request can still read any of them. */
  release(): void {
    for (const b of this.#held) this.#pool.give(b);
    this.#held = [];
  }
}

/**
 * The process's pool. A shard copies transfersPerShard bodies at a time, each holding a buffer or
 * two of up to partSize (16 MiB by default); 64 MiB idle covers that for the default settings
 * without holding much after a burst of larger parts.
 */
export const ioBuffers = new BufferPool({ maxIdleBytes: 64 * MiB, maxBufferBytes: 64 * MiB, idleMs: 15_000 });
