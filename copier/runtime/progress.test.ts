import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressBoard, formatDuration } from './progress.ts';

test('renders percent, counts, rate and ETA', () => {
  const b = new ProgressBoard();
  b.update({ shard: 0, filesTotal: 42, filesDone: 4, bytesTotal: 1000, bytesDone: 0, filesSkipped: 0, filesFailed: 0, transferring: 6 });
  b.line(0);
  b.update({ shard: 0, filesTotal: 42, filesDone: 4, bytesTotal: 1000, bytesDone: 271, filesSkipped: 0, filesFailed: 0, transferring: 6 });
  assert.equal(b.line(1000), '27.1% [pending: 32 | transferring: 6 | complete: 4] 271.0 B/s ETA 3s');
  assert.equal(formatDuration(70), '1m10s');
});
