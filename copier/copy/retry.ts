// Per-file retry: exponential backoff with full jitter, and a much longer base when the server
// says to slow down (503 SlowDown / 429). Only retryable DataSyncErrors are retried.
import { setTimeout as sleep } from 'node:timers/promises';
import { asDataSyncError } from '../errors.ts';

export interface RetryPolicy {
  attempts: number;
  baseMs?: number;
  throttledBaseMs?: number;
  maxMs?: number;
  random?: () => number;
  sleep?: (ms: number) => Promise<unknown>;
}

export function backoffMs(attempt: number, throttled: boolean, p: RetryPolicy): number {
  const base = throttled ? (p.throttledBaseMs ?? 2000) : (p.baseMs ?? 200);
  const cap = p.maxMs ?? 60_000;
  const ceiling = Math.min(cap, base * 2 ** (attempt - 1));
  return Math.round((p.random ?? Math.random)() * ceiling);
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, p: RetryPolicy, onRetry?: (err: unknown, attempt: number, delayMs: number) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const e = asDataSyncError(err);
      if (!e?.retryable || attempt >= p.attempts) throw err;
      const delay = backoffMs(attempt, e.code === 'Throttled', p);
      onRetry?.(err, attempt, delay);
      await (p.sleep ?? sleep)(delay);
    }
  }
}
