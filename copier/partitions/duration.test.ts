import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDurationMs } from './duration.ts';
import { hasCode } from '../errors.ts';

test('parses single and combined units', () => {
  assert.equal(parseDurationMs('90s'), 90_000);
  assert.equal(parseDurationMs('5m'), 300_000);
  assert.equal(parseDurationMs('72h'), 72 * 3_600_000);
  assert.equal(parseDurationMs('1h30m'), 5_400_000);
  assert.equal(parseDurationMs('7d'), 7 * 86_400_000);
  assert.equal(parseDurationMs('250ms'), 250);
  assert.equal(parseDurationMs('1.5h'), 5_400_000);
  assert.equal(parseDurationMs('30'), 30_000);
  assert.equal(parseDurationMs(2), 2000);
});

test('rejects what is not a duration, as a config error', () => {
  for (const bad of ['', 'h', '5 m', '5x', '1h 30m', '-5m', 'five minutes', '5m3']) {
    assert.throws(() => parseDurationMs(bad, 'watch.interval'), (e) => hasCode(e, 'InvalidConfig') && /watch\.interval/.test(String(e)), bad);
  }
});
