import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs, withRetry } from './retry.ts';
import { DataSyncError } from '../errors.ts';
import { TokenBucket } from './throttle.ts';

const err = (code: 'Transient' | 'Throttled' | 'PermissionDenied') => new DataSyncError(code, { code, side: 'destination' });

test('retries retryable errors up to the limit, with exponential, jittered, throttle-aware backoff', async () => {
  const delays: number[] = [];
  let calls = 0;
  await assert.rejects(withRetry(async () => { calls++; throw err('Transient'); }, { attempts: 4, random: () => 1, sleep: async (ms) => { delays.push(ms); } }));
  assert.equal(calls, 4);
  assert.deepEqual(delays, [200, 400, 800]);
  assert.equal(backoffMs(1, true, { attempts: 3, random: () => 1 }), 2000);
  assert.equal(backoffMs(1, false, { attempts: 3, random: () => 0 }), 0);
  calls = 0;
  await assert.rejects(withRetry(async () => { calls++; throw err('PermissionDenied'); }, { attempts: 5, sleep: async () => {} }));
  assert.equal(calls, 1, 'not retryable: one attempt');
  calls = 0;
  assert.equal(await withRetry(async () => { if (++calls < 3) throw err('Throttled'); return 'ok'; }, { attempts: 5, sleep: async () => {} }), 'ok');
});

test('token bucket holds the rate', async () => {
  const bucket = new TokenBucket(1024 * 1024);
  const start = performance.now();
  for (let i = 0; i < 8; i++) await bucket.take(128 * 1024); // 1 MiB, minus the 256 KiB burst
  const seconds = (performance.now() - start) / 1000;
  assert.ok(seconds > 0.6 && seconds < 1.5, `took ${seconds}s`);
});
