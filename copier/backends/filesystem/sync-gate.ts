// Whether a kind of filesystem call may run synchronously on the event loop.
//
// On a local disk with its inodes and pages cached, stat and small reads answer in microseconds,
// and the thread pool costs more than the call: each call is a hand-off to a pool thread and a
// wake-up back, and on a busy machine each hand-off is a context switch. Listing 20,000 small
// files spent most of its time there, and so did copying them (open, read and close were a
// quarter of the copier's main-thread time in B2's profile). On a network filesystem (a PVC on
// NFS) the same calls take milliseconds, and a synchronous call would hold up every transfer in
// the process. So calls run synchronously while they are fast and move to the thread pool for
// good once they are not. Calls are judged in batches:
// - a median over `medianMs`: the typical call is slow (a network filesystem). A median, so that
//   one-off costs do not count: the first calls compiling, a call that lost the CPU on a busy
//   machine (under --cpu-prof, batches of reads from the page cache averaged 0.52-0.60 ms);
// - a mean over 4 × `medianMs`: enough calls are very slow (cache misses on a spinning disk) that
//   the event loop is held up, even if most are fast;
// and one call over `maxMs` moves them at once (a hung mount).

export interface SyncGateLimits {
  /** Calls judged together. */
  batch: number;
  /** A batch whose median is over this, or whose mean is over 4 times this, moves the calls to the thread pool. */
  medianMs: number;
  /** One call taking longer than this does so at once. */
  maxMs: number;
}

export class SyncWhileFast {
  readonly #limits: SyncGateLimits;
  readonly #now: () => number;
  #slow = false;
  readonly #batch: Float64Array;
  #n = 0;

  constructor(limits: SyncGateLimits, now: () => number = () => performance.now()) {
    this.#limits = limits;
    this.#now = now;
    this.#batch = new Float64Array(limits.batch);
  }

  /** True while calls may still run synchronously. */
  get fast(): boolean {
    return !this.#slow;
  }

  /** Runs one synchronous call and counts how long it took, whether it returned or threw. */
  run<T>(call: () => T): T {
    const t = this.#now();
    try {
      return call();
    } finally {
      this.#record(this.#now() - t);
    }
  }

  #record(ms: number): void {
    const { batch, medianMs, maxMs } = this.#limits;
    if (ms > maxMs) this.#slow = true;
    this.#batch[this.#n++] = ms;
    if (this.#n < batch) return;
    this.#n = 0;
    let sum = 0;
    for (const d of this.#batch) sum += d;
    const median = this.#batch.sort()[batch >> 1]!;
    if (median > medianMs || sum > 4 * medianMs * batch) this.#slow = true;
  }
}
