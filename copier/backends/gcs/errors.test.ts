import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyGcsError, translateGcsError } from './errors.ts';

test('classifies GCS API, network and abort errors', () => {
  const api = (code: number) => Object.assign(new Error('api'), { code });
  assert.equal(classifyGcsError(api(404)), 'NotFound');
  assert.equal(classifyGcsError(api(401)), 'Unauthenticated');
  assert.equal(classifyGcsError(api(403)), 'PermissionDenied');
  assert.equal(classifyGcsError(api(412)), 'PreconditionFailed');
  assert.equal(classifyGcsError(api(429)), 'Throttled');
  assert.equal(classifyGcsError(api(503)), 'Throttled');
  assert.equal(classifyGcsError(api(500)), 'Transient');
  assert.equal(classifyGcsError(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) })), 'Unreachable');
  assert.equal(classifyGcsError(Object.assign(new Error('aborted'), { name: 'AbortError' })), 'Aborted');
});

test('messages name the object and endpoint; throttling is retryable', () => {
  const e = translateGcsError(Object.assign(new Error('rate'), { code: 429 }), { side: 'source', endpoint: 'gs://b/p/', path: 'a/b.txt', op: 'read' });
  assert.equal(e.code, 'Throttled');
  assert.equal(e.retryable, true);
  assert.match(e.message, /a\/b\.txt/);
  assert.match(e.message, /gs:\/\/b\/p\//);
  assert.equal(e.side, 'source');
});
