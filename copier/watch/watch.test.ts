import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunReport } from '../../api/types.ts';
import { runWatch, manualClock, nextPassStart, createRetryLedger, pruneEmptyDirs, parentDirsOf, systemClock } from './index.ts';
import { memoryBackend, put } from '../partitions/testing/memory-backend.ts';
import { DataSyncError, hasCode } from '../errors.ts';

const MIN = 60_000;
const DAY = 86_400_000;

function report(over: Partial<RunReport> = {}): RunReport {
  return {
    id: 'w', outcome: 'Succeeded', startTime: '', endTime: '', durationSeconds: 0, filesExpected: 0, filesCopied: 0, filesSkipped: 0,
    filesFailed: 0, filesDeleted: 0, bytesExpected: 0, bytesCopied: 0, bytesSkipped: 0, bytesFailed: 0, bytesDeleted: 0, failedFiles: [], ...over,
  };
}

test('passes start on a fixed grid; an overrunning pass skips missed slots and never overlaps', () => {
  assert.equal(nextPassStart(0, 60, 0, 10), 60);
  assert.equal(nextPassStart(0, 60, 0, 60), 60);
  assert.equal(nextPassStart(0, 60, 0, 61), 120);
  assert.equal(nextPassStart(0, 60, 0, 250), 300);
  assert.equal(nextPassStart(0, 60, 60, 60), 120, 'a zero-length pass waits a full interval');
  assert.equal(nextPassStart(1000, 60, 1120, 1130), 1180);
});

test('a simulated week: 24 landings over 7 days, each copied by the first pass after it is minAge old', async () => {
  const interval = 30 * MIN;
  const minAge = 5 * MIN;
  const start = Date.UTC(2026, 10, 14);
  // Landings at irregular times across the week, some within minAge of a pass.
  const landings = Array.from({ length: 24 }, (_, i) => ({ path: `in/day${Math.floor(i / 4)}/f${i}.csv`, at: start + i * 7 * MIN * 60 + (i % 5) * 13 * MIN + 2 * MIN }));
  const landed = new Map<string, number>(); // path → landing time
  const copiedAt = new Map<string, number>();
  const clock = manualClock(start, {
    beforeWake: (_from, to) => { for (const l of landings) if (l.at <= to && !landed.has(l.path)) landed.set(l.path, l.at); },
  });
  const result = await runWatch({
    intervalMs: interval, clock, maxPasses: (7 * DAY) / interval,
    pass: async ({ nowMs }) => {
      let copied = 0;
      for (const [path, at] of landed) {
        if (copiedAt.has(path) || nowMs - at < minAge) continue; // the planner's minAge rule
        copiedAt.set(path, nowMs);
        copied++;
      }
      return { report: report({ filesCopied: copied, bytesCopied: copied * 10 }) };
    },
  });
  assert.equal(result.passes, 336);
  assert.equal(result.stoppedBy, 'maxPasses');
  assert.equal(copiedAt.size, 24, 'every landing was picked up within the week');
  assert.equal(result.totals.filesCopied, 24);
  for (const l of landings) {
    const at = copiedAt.get(l.path)!;
    assert.ok(at - l.at >= minAge, `${l.path} copied before it was minAge old`);
    assert.ok(at - l.at < minAge + interval, `${l.path} waited more than one interval too long`);
    assert.equal((at - start) % interval, 0, 'passes stay on the grid');
  }
  assert.ok(clock.now() - start >= 7 * DAY - interval, 'a week of simulated time went by');
});

test('failed files are counted as retries on the next pass and as recovered once they succeed', async () => {
  const script: Array<{ failed: string[]; planned: string[] }> = [
    { failed: ['a', 'b'], planned: ['a', 'b', 'c'] },
    { failed: ['b'], planned: ['a', 'b'] },
    { failed: [], planned: ['b'] },
    { failed: [], planned: [] },
  ];
  const seen: Array<[number, number, number]> = [];
  const res = await runWatch({
    intervalMs: MIN, clock: manualClock(0), maxPasses: script.length,
    pass: async ({ passNumber }) => {
      const s = script[passNumber - 1]!;
      return { report: report({ filesFailed: s.failed.length, failedFiles: s.failed.map((path) => ({ path, error: 'Transient' })) }), attempted: (p) => s.planned.includes(p) };
    },
    onPass: (p) => { seen.push([p.retries.filesRetried, p.retries.filesRecovered, p.retries.filesStillFailing]); },
  });
  assert.deepEqual(seen, [[0, 0, 2], [2, 1, 1], [1, 1, 0], [0, 0, 0]]);
  assert.deepEqual([res.totals.totalRetried, res.totals.totalRecovered], [3, 2]);
});

test('the retry ledger drops a failed file that vanished from the source, and counts failures per file', () => {
  const l = createRetryLedger();
  l.recordPass([{ path: 'x', error: '' }, { path: 'y', error: '' }], () => true);
  l.recordPass([{ path: 'x', error: '' }], (p) => p === 'x');
  assert.equal(l.failures('x'), 2);
  assert.deepEqual(l.pending(), ['x']);
  assert.equal(l.snapshot().filesStillFailing, 1);
});

test('a pass that throws is reported and the loop goes on; failures stay pending; a fatal error stops it', async () => {
  const summaries: Array<string | undefined> = [];
  let n = 0;
  const res = await runWatch({
    intervalMs: MIN, clock: manualClock(0), maxPasses: 3,
    pass: async () => {
      n++;
      if (n === 1) return { report: report({ failedFiles: [{ path: 'a', error: 'x' }], filesFailed: 1 }) };
      if (n === 2) throw new Error('listing failed: connection reset');
      return { report: report({ filesCopied: 1 }), attempted: () => true };
    },
    onPass: (p) => { summaries.push(p.error); },
  });
  assert.deepEqual(summaries, [undefined, 'listing failed: connection reset', undefined]);
  assert.equal(res.totals.totalRecovered, 1, 'the failure from pass 1 survived the broken pass 2 and recovered in pass 3');
  const fatal = await runWatch({
    intervalMs: MIN, clock: manualClock(0), maxPasses: 5,
    isFatal: (e) => hasCode(e, 'InvalidConfig'),
    pass: async () => { throw new DataSyncError('bucket missing', { code: 'InvalidConfig', side: 'config' }); },
  });
  assert.deepEqual([fatal.passes, fatal.stoppedBy, fatal.fatalError], [1, 'fatal', 'bucket missing']);
});

test('an abort stops the loop while it sleeps, on the real clock', async () => {
  const ac = new AbortController();
  let passes = 0;
  const t0 = Date.now();
  setTimeout(() => ac.abort(), 50);
  const res = await runWatch({ intervalMs: 60 * MIN, clock: systemClock, signal: ac.signal, pass: async () => { passes++; return { report: report() }; } });
  assert.equal(res.stoppedBy, 'signal');
  assert.equal(passes, 1);
  assert.ok(Date.now() - t0 < 5000);
});

test('empty directories left by Move are removed deepest first; the root and non-empty ones stay', async () => {
  const src = memoryBackend({ directories: true });
  put(src, 'a/b/c/1', 'x');
  put(src, 'a/b/2', 'x');
  put(src, 'a/keep/3', 'x');
  put(src, 'top', 'x');
  for (const p of ['a/b/c/1', 'a/b/2', 'top']) src.files.delete(p); // what Move deleted
  const r = await pruneEmptyDirs(src, ['a/b/c/1', 'a/b/2', 'top']);
  assert.deepEqual(r.removed, ['a/b/c', 'a/b']);
  assert.ok(src.dirs.has('a'), 'a still holds keep/');
  assert.ok(src.dirs.has('a/keep'));
  assert.deepEqual(src.ops, ['rmdir a/b/c', 'rmdir a/b']);
  assert.deepEqual(parentDirsOf(['top', 'x/y/z']), ['x/y', 'x'], 'the root is never a candidate');
  const objectStore = memoryBackend();
  assert.deepEqual(await pruneEmptyDirs(objectStore, ['a/b']), { removed: [], kept: 0 });
});

test('EmptyDirCollector prunes the ancestors of deleted files, deepest first, keeping the root', async () => {
  const { EmptyDirCollector } = await import('./prune-dirs.ts');
  const src = memoryBackend({ directories: true });
  put(src, 'x/y/z/1', '1'); put(src, 'x/2', '2'); put(src, 'w/3', '3');
  const c = new EmptyDirCollector();
  for (const p of ['x/y/z/1', 'w/3']) { src.files.delete(p); c.add(p); }
  c.add('rootfile');
  const r = await c.prune(src);
  assert.deepEqual(r.removed.sort(), ['w', 'x/y', 'x/y/z']);
  assert.ok(src.dirs.has('x'), 'x still holds 2');
});
