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
