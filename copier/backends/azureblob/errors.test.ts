import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyAzureError, redact, translateAzureError } from './errors.ts';

const rest = (statusCode: number, code?: string, message = 'failed') => Object.assign(new Error(message), { name: 'RestError', statusCode, ...(code ? { code } : {}) });

test('classifies RestErrors by service code first, then status', () => {
  assert.equal(classifyAzureError(rest(404, 'BlobNotFound')), 'NotFound');
  assert.equal(classifyAzureError(rest(403, 'AuthenticationFailed')), 'Unauthenticated');
  assert.equal(classifyAzureError(rest(403, 'AuthorizationPermissionMismatch')), 'PermissionDenied');
  assert.equal(classifyAzureError(rest(409, 'BlobAlreadyExists')), 'AlreadyExists');
  assert.equal(classifyAzureError(rest(412, 'ConditionNotMet')), 'PreconditionFailed');
  assert.equal(classifyAzureError(rest(503, 'ServerBusy')), 'Throttled');
  assert.equal(classifyAzureError(rest(500)), 'Transient');
  assert.equal(classifyAzureError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'REQUEST_SEND_ERROR' })), 'Unreachable');
  assert.equal(classifyAzureError(Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' })), 'Aborted');
});

test('never shows a SAS signature or account key', () => {
  assert.equal(redact('https://a.blob.core.windows.net/c?sv=1&sig=abc%2Fdef&se=2'), 'https://a.blob.core.windows.net/c?sv=1&sig=REDACTED&se=2');
  assert.equal(redact('AccountName=a;AccountKey=c2VjcmV0;EndpointSuffix=x'), 'AccountName=a;AccountKey=REDACTED;EndpointSuffix=x');
  const e = translateAzureError(rest(403, 'AuthenticationFailed', 'denied for https://x/c?sig=topsecret'), { side: 'destination', endpoint: 'azblob://a/c/', path: 'f', op: 'write' });
  assert.ok(!e.message.includes('topsecret'), e.message);
  assert.equal(e.retryable, false);
});
