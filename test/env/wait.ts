// Polling for suites that wait on a cluster or a server: one loop, so every timeout reads alike.
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `probe` until it returns something other than undefined or false, and returns that.
 * Errors thrown by the probe count as "not yet"; the last one is named in the timeout message,
 * followed by `detail()` (e.g. a log tail) when given.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  intervalMs = 250,
  detail?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}${detail ? `\n${detail()}` : ''}`);
    }
    await sleep(intervalMs);
  }
}
