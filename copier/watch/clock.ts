// Watch mode runs for days; tests must simulate a week in milliseconds. Everything time-dependent
// takes this clock instead of calling Date.now() or setTimeout directly.
export interface Clock {
  now(): number;
  /** Resolves after ms, or early (without throwing) when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/** A clock that only moves when slept on: sleeping advances it instantly. */
export interface ManualClock extends Clock {
  advance(ms: number): void;
}

/** `beforeWake` runs on every sleep before time moves, e.g. to land the files due meanwhile. */
export function manualClock(startMs: number, hooks: { beforeWake?: (fromMs: number, toMs: number) => void | Promise<void> } = {}): ManualClock {
  let t = startMs;
  return {
    now: () => t,
    advance(ms) { t += ms; },
    async sleep(ms, signal) {
      if (signal?.aborted) return;
      const to = t + Math.max(0, ms);
      await hooks.beforeWake?.(t, to);
      t = to;
    },
  };
}
