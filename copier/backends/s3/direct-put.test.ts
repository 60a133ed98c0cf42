// Pure parts of the direct PutObject: the SigV4 signature against AWS's published examples, S3's
// key encoding, what a signed SDK request teaches, and errors shaped as the SDK's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSecretKey } from 'node:crypto';
import { encodeKey, serviceError, sigV4Authorization, signingKey, targetOf } from './direct-put.ts';
import { classifyS3Error } from './errors.ts';

// docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html, "Example: PUT Object".
const AKID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const scope = { region: 'us-east-1', service: 's3' };

test("SigV4 matches AWS's published PUT Object example", () => {
  const headers = {
    Host: 'examplebucket.s3.amazonaws.com',
    Date: 'Fri, 24 May 2013 00:00:00 GMT',
    'x-amz-date': '20130524T000000Z',
    'x-amz-storage-class': 'REDUCED_REDUNDANCY',
    'x-amz-content-sha256': '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
  };
  const key = signingKey(SECRET, '20130524', 'us-east-1', 's3');
  const expected = 'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, '
    + 'SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, '
    + 'Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd';
  assert.equal(sigV4Authorization('PUT', '/test%24file.text', headers, AKID, scope, key), expected);
  // DirectPut holds the day's key as a KeyObject (cheaper per request): the same signature.
  assert.equal(sigV4Authorization('PUT', '/test%24file.text', headers, AKID, scope, createSecretKey(key)), expected);
});

test("SigV4 matches AWS's published GET Object example (a signed Range header, empty payload hash)", () => {
  const headers = {
    host: 'examplebucket.s3.amazonaws.com',
    range: 'bytes=0-9',
    'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    'x-amz-date': '20130524T000000Z',
  };
  const auth = sigV4Authorization('GET', '/test.txt', headers, AKID, scope, signingKey(SECRET, '20130524', 'us-east-1', 's3'));
  assert.match(auth, /SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41$/);
});

test('keys are encoded as S3 expects in a path: unreserved and / kept, everything else %XX of UTF-8', () => {
  assert.equal(encodeKey('a/b c/d+e'), 'a/b%20c/d%2Be');
  assert.equal(encodeKey("x!'()*~-._y"), 'x%21%27%28%29%2A~-._y');
  assert.equal(encodeKey('dt=2026-11-21/hour=07/ü.parquet'), 'dt%3D2026-11-21/hour%3D07/%C3%BC.parquet');
  assert.equal(encodeKey('100%?#&'), '100%25%3F%23%26');
});

const signed = (path: string, extra: Record<string, string> = {}) => ({
  protocol: 'http:', hostname: '127.0.0.1', port: 9000, path,
  headers: { host: '127.0.0.1:9000', authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20261121/eu-west-3/s3/aws4_request, SignedHeaders=host, Signature=00', ...extra },
});

test('a path-style SDK request teaches the bucket path, host and signing scope', () => {
  assert.deepEqual(targetOf(signed('/bkt/base/dir/a%20b.bin'), 'base/dir/a b.bin'), {
    protocol: 'http:', hostname: '127.0.0.1', port: 9000, host: '127.0.0.1:9000', basePath: '/bkt', region: 'eu-west-3', service: 's3',
  });
  // Virtual-hosted: the key is the whole path.
  const vh = targetOf({ ...signed('/k.bin'), protocol: 'https:', hostname: 'bkt.s3.eu-west-3.amazonaws.com', port: undefined, headers: { ...signed('').headers, host: 'bkt.s3.eu-west-3.amazonaws.com' } }, 'k.bin');
  assert.equal(vh?.basePath, '');
  assert.equal(vh?.host, 'bkt.s3.eu-west-3.amazonaws.com');
});

test('requests that cannot be repeated directly teach nothing (SigV4a, S3 Express sessions, key not at the end)', () => {
  assert.equal(targetOf(signed('/bkt/k', { authorization: 'AWS4-ECDSA-P256-SHA256 Credential=AKID/20261121/s3/aws4_request, SignedHeaders=host, Signature=00' }), 'k'), undefined);
  assert.equal(targetOf(signed('/bkt/k', { 'x-amz-s3session-token': 't' }), 'k'), undefined);
  assert.equal(targetOf(signed('/bkt/k/extra'), 'k'), undefined);
  assert.equal(targetOf({ ...signed('/bkt/k'), headers: { host: 'h' } }, 'k'), undefined);
});

test('error responses become SDK-shaped errors that errors.ts classifies like the SDK', () => {
  const body = (code: string, msg: string) => `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${msg}</Message><Key>k</Key></Error>`;
  const cases: Array<[number, string, string]> = [
    [403, body('SignatureDoesNotMatch', 'The request signature we calculated does not match'), 'Unauthenticated'],
    [403, body('AccessDenied', 'Access Denied.'), 'PermissionDenied'],
    [404, body('NoSuchBucket', 'The specified bucket does not exist'), 'NotFound'],
    [412, body('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold'), 'PreconditionFailed'],
    [400, body('BadDigest', 'The CRC32C you specified did not match the calculated checksum.'), 'ChecksumMismatch'],
    [503, body('SlowDown', 'Please reduce your request rate.'), 'Throttled'],
    [500, '', 'Transient'],
    [403, '', 'PermissionDenied'],
  ];
  for (const [status, text, code] of cases) {
    const err = serviceError(status, text);
    assert.equal(classifyS3Error(err), code, `${status} ${text.slice(0, 80)}`);
  }
  const e = serviceError(400, body('InvalidArgument', 'a &lt;b&gt; &amp; c'));
  assert.equal(e.name, 'InvalidArgument');
  assert.equal(e.message, 'a <b> & c');
});
