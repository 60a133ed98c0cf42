import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextRetryState, readRetryState, recordRunRetries } from './retry-state.ts';
import { memoryBackend } from '../partitions/testing/memory-backend.ts';

test('retry counts across runs: failures are retried next run, recoveries counted, totals kept', () => {
  let s = { failing: {}, totalRetried: 0, totalRecovered: 0 };
  const r1 = nextRetryState(s, ['a', 'b']); s = r1.state;
  assert.deepEqual(r1.counts, { filesRetried: 0, filesRecovered: 0, filesStillFailing: 2, totalRetried: 0, totalRecovered: 0 });
  const r2 = nextRetryState(s, ['b']); s = r2.state;
  assert.deepEqual(r2.counts, { filesRetried: 2, filesRecovered: 1, filesStillFailing: 1, totalRetried: 2, totalRecovered: 1 });
  assert.deepEqual(s.failing, { b: 2 }, 'b has failed twice');
  const r3 = nextRetryState(s, []);
  assert.deepEqual(r3.counts, { filesRetried: 1, filesRecovered: 1, filesStillFailing: 0, totalRetried: 3, totalRecovered: 2 });
});

test('the state file lives at the state prefix and is not written for runs without failures', async () => {
  const b = memoryBackend();
  assert.equal((await recordRunRetries(b, '.datasync/', { failedFiles: [] })).filesRetried, 0);
  assert.equal(b.files.size, 0);
  await recordRunRetries(b, '.datasync/', { failedFiles: [{ path: 'x', error: 'e' }] });
  assert.ok(b.files.has('.datasync/retries.json'));
  const again = await recordRunRetries(b, '.datasync/', { failedFiles: [] });
  assert.deepEqual([again.filesRetried, again.filesRecovered], [1, 1]);
});

test('the counts the commit read at its start are the ones it folds this run into', async () => {
  const b = memoryBackend();
  await recordRunRetries(b, '.datasync/', { failedFiles: [{ path: 'x', error: 'e' }] });
  const before = readRetryState(b, '.datasync/');
  await before;
  b.files.delete('.datasync/retries.json'); // only the early read still knows that x failed
  const counts = await recordRunRetries(b, '.datasync/', { failedFiles: [] }, before);
  assert.deepEqual([counts.filesRetried, counts.filesRecovered], [1, 1]);
});
