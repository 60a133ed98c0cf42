import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDeleteGuard } from './guard.ts';

test('percent and count limits; the message gives the count', () => {
  assert.equal(checkDeleteGuard('files', 1, 10, { percent: 10 }).allowed, true);
  const v = checkDeleteGuard('destination files', 5, 5, { percent: 10 });
  assert.equal(v.allowed, false);
  assert.match(v.message!, /would delete 5 destination files \(100\.0% of 5\)/);
  assert.equal(checkDeleteGuard('files', 3, 0, { count: 3 }).allowed, true);
  assert.equal(checkDeleteGuard('files', 4, 100, { count: 3 }).allowed, false);
});
