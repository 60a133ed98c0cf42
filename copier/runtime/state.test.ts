import { test } from 'node:test';
import assert from 'node:assert/strict';

test('old runs are pruned to the newest ones, never the current run', async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, readdirSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { FilesystemBackend } = await import('../backends/filesystem/filesystem.ts');
  const { RunState } = await import('./state.ts');
  const root = mkdtempSync(path.join(tmpdir(), 'prune-'));
  const ids = ['20261101-0000-aaaa', '20261102-0000-aaaa', '20261103-0000-aaaa', '20261104-0000-aaaa', '00000000-current'];
  for (const id of ids) {
    mkdirSync(path.join(root, '.datasync/runs', id), { recursive: true });
    writeFileSync(path.join(root, '.datasync/runs', id, 'report.json'), '{}');
  }
  const removed = await RunState.pruneRuns(new FilesystemBackend(root, 'state'), '.datasync/', 3, '00000000-current');
  assert.equal(removed, 2);
  assert.deepEqual(readdirSync(path.join(root, '.datasync/runs')).sort(), ['00000000-current', '20261103-0000-aaaa', '20261104-0000-aaaa']);
});

test('a log reads back in append order, its objects fetched several at a time', async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { setTimeout: sleep } = await import('node:timers/promises');
  const { FilesystemBackend } = await import('../backends/filesystem/filesystem.ts');
  const { RunState } = await import('./state.ts');
  const fs = new FilesystemBackend(mkdtempSync(path.join(tmpdir(), 'log-')), 'state');
  const writer = new RunState(fs, '.datasync/', 'run-1');
  for (let batch = 0; batch < 20; batch++) {
    await writer.append('journal-0', [{ n: batch * 2 }, { n: batch * 2 + 1 }]);
    await sleep(2); // one object per millisecond stamp, as a journal flushing every second has
  }
  // The same store, with every read slowed and counted: the log must not be read one by one.
  let inFlight = 0;
  let peak = 0;
  const read = fs.read.bind(fs);
  fs.read = async (...args: Parameters<typeof fs.read>) => {
    peak = Math.max(peak, ++inFlight);
    try { await sleep(5); return await read(...args); } finally { inFlight--; }
  };
  const got: number[] = [];
  for await (const r of new RunState(fs, '.datasync/', 'run-1').readLog<{ n: number }>('journal-0')) got.push(r.n);
  assert.deepEqual(got, Array.from({ length: 40 }, (_, i) => i));
  assert.ok(peak > 1 && peak <= 8, `reads in flight peaked at ${peak}`);
});
