// The shard journal on a real filesystem state backend: how many objects a steady stream of
// completions writes, that every acknowledged record is stored, and that flushNow ends the wait.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FilesystemBackend } from '../backends/filesystem/filesystem.ts';
import { RunState } from '../runtime/state.ts';
import { journalLog } from '../plan/manifest.ts';
import { FLUSH_DELAY_MS, Journal } from './journal.ts';

function stateIn(root: string): RunState {
  return new RunState(new FilesystemBackend(root, 'state'), '.datasync/', 'run-1');
}

test('a steady stream of completions is written at most once per delay, and every record is stored', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'journal-'));
  try {
    const journal = new Journal(stateIn(root), 0);
    const acks: Promise<void>[] = [];
    const started = Date.now();
    // A completion every 2 ms for a second and a half, as 64 transfers of small files produce.
    for (let i = 0; Date.now() - started < 1500; i++) {
      acks.push(journal.record({ path: `f${i}`, status: 'done', bytes: i }));
      await sleep(2);
    }
    journal.flushNow();
    await Promise.all(acks);
    const elapsed = Date.now() - started;
    const objects = readdirSync(path.join(root, '.datasync/runs/run-1', journalLog(0)));
    assert.ok(objects.length <= Math.ceil(elapsed / FLUSH_DELAY_MS) + 1, `${objects.length} journal objects for ${acks.length} records over ${elapsed} ms`);
    const done = await new Journal(stateIn(root), 0).loadDone();
    assert.equal(done.size, acks.length, 'every acknowledged record reads back');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('flushNow writes what is pending without waiting out the delay', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'journal-'));
  try {
    // A delay longer than the test's timeout: only flushNow can get these stored.
    const journal = new Journal(stateIn(root), 3, { delayMs: 3_600_000 });
    const first = journal.record({ path: 'a', status: 'done', bytes: 1 });
    const second = journal.record({ path: 'b', status: 'failed', bytes: 2, error: 'x' });
    journal.flushNow();
    await Promise.all([first, second]);
    await journal.record({ path: 'c', status: 'done', bytes: 3 }); // after flushNow, no delay at all
    assert.deepEqual([...await new Journal(stateIn(root), 3).loadDone()].sort(), ['a', 'c']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
