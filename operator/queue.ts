// A work queue after client-go's: a key is queued at most once, never processed by two workers at
// once (an add while it is processed marks it dirty and it runs again afterwards), failures requeue
// with per-key exponential backoff, and addAfter() schedules a later visit (the earliest one wins).
export interface WorkQueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  onDepth?: (depth: number) => void;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: Array<() => void> = [];
  private shuttingDown = false;
  private readonly base: number;
  private readonly max: number;
  private readonly onDepth: (depth: number) => void;

  constructor(opts: WorkQueueOptions = {}) {
    this.base = opts.baseDelayMs ?? 500;
    this.max = opts.maxDelayMs ?? 60_000;
    this.onDepth = opts.onDepth ?? (() => {});
  }

  get depth(): number { return this.queue.length; }

  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) { this.dirty.add(key); return; }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.onDepth(this.queue.length);
    this.waiters.shift()?.();
  }

  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) { this.add(key); return; }
    const at = Date.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => { this.timers.delete(key); this.add(key); }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Requeue after a failure, backing off per key. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.min(this.max, this.base * 2 ** n);
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void { this.failures.delete(key); }

  /** The next key, or undefined once shut down. Call done(key) when finished with it. */
  async get(): Promise<string | undefined> {
    while (!this.queue.length) {
      if (this.shuttingDown) return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    const key = this.queue.shift() as string;
    this.queued.delete(key);
    this.processing.add(key);
    this.onDepth(this.queue.length);
    return key;
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  shutdown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    while (this.waiters.length) this.waiters.shift()?.();
  }
}
