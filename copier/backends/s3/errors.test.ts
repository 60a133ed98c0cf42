import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyS3Error, translateS3Error } from './errors.ts';

test('classifies SDK service errors by name and status', () => {
  assert.equal(classifyS3Error({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } }), 'Throttled');
  assert.equal(classifyS3Error({ name: 'InvalidAccessKeyId', $metadata: { httpStatusCode: 403 } }), 'Unauthenticated');
  assert.equal(classifyS3Error({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }), 'PermissionDenied');
  assert.equal(classifyS3Error({ name: 'Unknown', $metadata: { httpStatusCode: 500 } }), 'Transient');
  assert.equal(classifyS3Error({ name: 'NotFound', $metadata: { httpStatusCode: 404 } }), 'NotFound');
});

test('follows cause and AggregateError members to network errors', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  assert.equal(classifyS3Error(new Error('wrapped', { cause: new AggregateError([refused]) })), 'Unreachable');
});

test('translated message names the endpoint and a next step; missing bucket is a config error', () => {
  const e = translateS3Error({ name: 'NoSuchBucket', message: 'The specified bucket does not exist' }, 'list', 'source', 's3://b/p (http://x:9)');
  assert.equal(e.code, 'InvalidConfig');
  assert.match(e.message, /s3:\/\/b\/p \(http:\/\/x:9\)/);
  assert.equal(e.retryable, false);
  assert.equal(translateS3Error({ name: 'SlowDown' }, 'put', 'destination', 'loc').retryable, true);
});

test('a body the server refused for its checksum is a retryable ChecksumMismatch (damaged in transit)', () => {
  const e = translateS3Error({ name: 'XAmzContentChecksumMismatch', $metadata: { httpStatusCode: 400 } }, 'write', 'destination', 'loc', 'a.bin');
  assert.equal(e.code, 'ChecksumMismatch');
  assert.equal(e.retryable, true);
  assert.equal(translateS3Error({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }, 'write', 'destination', 'loc').retryable, false);
});
