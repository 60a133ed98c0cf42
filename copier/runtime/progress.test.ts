import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressBoard, formatDuration } from './progress.ts';

test('renders percent, counts, rate and ETA', () => {
  const b = new ProgressBoard(0);
  b.update({ shard: 0, filesTotal: 42, filesDone: 4, bytesTotal: 1000, bytesDone: 0, filesSkipped: 0, filesFailed: 0, transferring: 6 });
  b.line(0);
  b.update({ shard: 0, filesTotal: 42, filesDone: 4, bytesTotal: 1000, bytesDone: 271, filesSkipped: 0, filesFailed: 0, transferring: 6 });
  assert.equal(b.line(1000), '27.1% [pending: 32 | transferring: 6 | complete: 4] 271.0 B/s ETA 3s');
  assert.equal(formatDuration(70), '1m10s');
});

test('the rate holds when the line is drawn every 5 s, as it is off a TTY', () => {
  const b = new ProgressBoard(0);
  const at = (t: number, bytesDone: number) => {
    b.update({ shard: 0, filesTotal: 10, filesDone: 0, bytesTotal: 100_000, bytesDone, filesSkipped: 0, filesFailed: 0, transferring: 1 });
    return b.line(t);
  };
  // The first line has a rate too: since the board was made, when nothing had been copied.
  assert.match(at(5_001, 5_500), / 1\.1 kB\/s ETA 1m26s$/);
  // Timers fire late: each draw comes a little over 5 s after the one before.
  assert.match(at(10_004, 15_506), / 2\.0 kB\/s ETA 42s$/);
  assert.match(at(15_007, 35_518), / 4\.0 kB\/s ETA 16s$/);
});

test('the rate covers the last 5 s when the line is drawn often, as on a TTY', () => {
  const b = new ProgressBoard(0);
  let line = '';
  // 1 kB/s for 10 s, then 10 kB/s for 5 s, drawn every 500 ms: only the last 5 s count.
  for (let t = 0, bytes = 0; t <= 15_000; t += 500) {
    b.update({ shard: 0, filesTotal: 1, filesDone: 0, bytesTotal: 1_000_000, bytesDone: bytes, filesSkipped: 0, filesFailed: 0, transferring: 1 });
    line = b.line(t);
    bytes += t < 10_000 ? 500 : 5_000;
  }
  assert.match(line, / 10\.0 kB\/s /);
});

test('bytes an earlier run finished count toward the percentage, not the rate', () => {
  const b = new ProgressBoard(0);
  // A resumed run: its first report, a second in, has 900 kB done, 890 kB of it found in the journal.
  b.update({ shard: 0, filesTotal: 100, filesDone: 90, bytesTotal: 1_000_000, bytesDone: 900_000, bytesResumed: 890_000, filesSkipped: 0, filesFailed: 0, transferring: 4 });
  assert.equal(b.line(1_000), '90.0% [pending: 6 | transferring: 4 | complete: 90] 10.0 kB/s ETA 10s');
});

test('a restarted shard worker: what the ended attempt moved stays in the rate, once', () => {
  const b = new ProgressBoard(0);
  const shard1 = { shard: 1, filesTotal: 10, filesDone: 0, bytesTotal: 100_000, bytesDone: 0, bytesResumed: 0, filesSkipped: 0, filesFailed: 0, transferring: 1 };
  b.update({ shard: 0, filesTotal: 10, filesDone: 4, bytesTotal: 100_000, bytesDone: 40_000, bytesResumed: 0, filesSkipped: 0, filesFailed: 0, transferring: 1 });
  b.update(shard1);
  b.line(4_000);
  b.restarted(0);
  assert.match(b.line(4_500), / 8\.9 kB\/s /, 'no drop, and no double count, before the successor reports');
  // The successor finds the 40 kB in the journal and has moved 5 kB more.
  b.update({ shard: 0, filesTotal: 10, filesDone: 5, bytesTotal: 100_000, bytesDone: 45_000, bytesResumed: 40_000, filesSkipped: 0, filesFailed: 0, transferring: 1 });
  b.update({ ...shard1, bytesDone: 5_000 });
  assert.match(b.line(5_000), /^25\.0% .* 10\.0 kB\/s /);
});
