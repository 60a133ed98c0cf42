import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildOptions, parseDuration, parseMaxDelete, parseQuantity, validateSpec } from './options.ts';

test('parses quantities, durations and maxDelete', () => {
  assert.equal(parseQuantity('1Gi', 'x'), 2 ** 30);
  assert.equal(parseQuantity('200M', 'x'), 200e6);
  assert.equal(parseQuantity(1024, 'x'), 1024);
  assert.throws(() => parseQuantity('1GB', 'x'), /not a quantity/);
  assert.equal(parseDuration('5m', 'x'), 300_000);
  assert.equal(parseDuration('1h30m', 'x'), 5_400_000);
  assert.throws(() => parseDuration('5 minutes', 'x'), /not a duration/);
  assert.deepEqual(parseMaxDelete('10%'), { percent: 10 });
  assert.deepEqual(parseMaxDelete(7), { count: 7 });
  assert.throws(() => parseMaxDelete('lots'), /maxDelete/);
});

test('builds frozen options with defaults', () => {
  const o = buildOptions({ source: { filesystem: { path: '/a' } }, destination: { s3: { bucket: 'b' } }, parallelism: { partSize: '8Mi' } });
  assert.equal(o.mode, 'Copy');
  assert.equal(o.partSize, 8 * 2 ** 20);
  assert.equal(o.sourceKind, 'filesystem');
  assert.equal(o.destinationKind, 's3');
  assert.equal(o.state.prefix, '.datasync/');
  assert.ok(Object.isFrozen(o) && Object.isFrozen(o.filters));
  assert.deepEqual(o.maxDelete, { percent: 50 }, 'Sync and Copy guard deletions by default');
  const move = buildOptions({ source: { filesystem: { path: '/a' } }, destination: { s3: { bucket: 'b' } }, mode: 'Move' });
  assert.deepEqual(move.maxDelete, { percent: 100 }, 'Move deletes its sources unless a limit is set');
});

test('reports every structural and cross-field problem with a clear message', () => {
  const problems = validateSpec({
    source: { filesystem: { path: '/a' }, s3: { bucket: 'x' } },
    destination: { s3: {} },
    mode: 'Mirror', verify: 'None',
    parallelism: { partSize: '1Mi', shards: 0 },
    deletion: { maxDelete: '150%' },
  });
  const text = problems.join('\n');
  assert.match(text, /source must set exactly one of/);
  assert.match(text, /destination\.s3\.bucket is required/);
  assert.match(text, /mode: 'Mirror' must be one of Copy, Sync, Move/);
  assert.match(text, /partSize: 1Mi is below 5Mi/);
  assert.match(text, /shards: 0/);
  assert.match(text, /over 100%/);
  assert.deepEqual(validateSpec({ source: { filesystem: { path: '/a' } }, destination: { filesystem: { path: '/b' } }, mode: 'Move', verify: 'None' }).length, 1);
  assert.throws(() => buildOptions({ source: { filesystem: { path: '/a' } }, destination: { filesystem: { path: '/a' } } }), /same place/);
});
