// Whether a kind of filesystem call may run synchronously on the event loop.
//
// On a local disk with its inodes and pages cached, stat and small reads answer in microseconds,
// and the thread pool costs more than the call: each call is a hand-off to a pool thread and a
// wake-up back, and on a busy machine each hand-off is a context switch. Listing 20,000 small
// files spent most of its time there, and so did copying them (open, read and close were a
// quarter of the copier's main-thread time in B2's profile). On a network filesystem (a PVC on
// NFS) the same calls take milliseconds, and a synchronous call would hold up every transfer in
// the process. So calls run synchronously while they are fast and move to the thread pool for
// good once they are not: one slow call past `maxMs` (a hung mount), or a batch averaging more
// than `meanMs` (judged over a batch, so one call that lost the CPU on a busy machine does not
// count).

export interface SyncGateLimits {
  /** Calls judged together. */
  batch: number;
  /** A batch averaging more than this moves the calls to the thread pool. */
  meanMs: number;
  /** One call taking longer than this does so at once. */
  maxMs: number;
}

export class SyncWhileFast {
  readonly #limits: SyncGateLimits;
  readonly #now: () => number;
  #slow = false;
  #n = 0;
  #ms = 0;

  constructor(limits: SyncGateLimits, now: () => number = () => performance.now()) {
    this.#limits = limits;
    this.#now = now;
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
    const { batch, meanMs, maxMs } = this.#limits;
    if (ms > maxMs) this.#slow = true;
    this.#ms += ms;
    if (++this.#n === batch) {
      if (this.#ms > batch * meanMs) this.#slow = true;
      this.#n = 0;
      this.#ms = 0;
    }
  }
}
