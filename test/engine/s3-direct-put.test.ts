// The direct PutObject path (copier/backends/s3/direct-put.ts) against the real MinIO, through a
// proxy that logs each request's User-Agent (the SDK names itself there; the direct path does
// not): once enough PUTs went through the SDK (here mostly after the first, `directPut: {after: 1}`),
// single PUTs leave the SDK, store the same objects, and fail, retry and abort exactly as the SDK
// path does. These backends keep every request in the SDK until then (`knownTarget: false`): the
// path that starts without it is test/engine/s3-known-target.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3Backend } from '../../copier/backends/s3/s3.ts';
import { crc32cBase64, crc32cOf } from '../../copier/checksum.ts';
import { testEnv } from '../env/endpoints.ts';
import { startFaultProxy, type Fault, type FaultProxy } from '../conformance/fault-proxy.ts';
import { failure, newBucket, s3Client, sha256 } from './helpers.ts';

let client: S3Client;
let secrets: string;
before(() => {
  client = s3Client();
  const e = testEnv().s3;
  secrets = mkdtempSync(path.join(os.tmpdir(), 'datasync-direct-'));
  mkdirSync(path.join(secrets, 'destination'));
  writeFileSync(path.join(secrets, 'destination', 'accessKeyId'), e.accessKeyId);
  writeFileSync(path.join(secrets, 'destination', 'secretAccessKey'), e.secretAccessKey);
});
after(() => client?.destroy());

async function through(fault: Fault, failFirst: number, only?: RegExp): Promise<FaultProxy> {
  return startFaultProxy({ upstream: testEnv().s3.endpoint, fault, failFirst, keepHost: true, ...(only ? { only } : {}) });
}
function backend(bucket: string, endpoint: string, opts: { directPut?: boolean | { after: number }; prefix?: string } = {}): S3Backend {
  return new S3Backend(
    { bucket, endpoint, region: testEnv().s3.region, forcePathStyle: true, ...(opts.prefix ? { prefix: opts.prefix } : {}) },
    { side: 'destination', secretsRoot: secrets, directPut: opts.directPut ?? { after: 1 }, knownTarget: false },
  );
}
const put = (b: S3Backend, rel: string, body: Buffer, extra: Parameters<S3Backend['write']>[2] = {}) =>
  b.write(rel, Readable.from([body]), { size: body.length, ...extra });
const sdkPuts = (p: FaultProxy) => p.requests().filter((r) => r.method === 'PUT' && /aws-sdk/i.test(r.userAgent)).length;
const allPuts = (p: FaultProxy) => p.requests().filter((r) => r.method === 'PUT').length;

const HOSTILE = ['plain.bin', 'dt=2026-11-21/hour=07/part-0.parquet', 'sp ace/plus+sign.txt', "quote's (1)!*.csv", 'caf\u00e9/na\u0308ive.json', '100%/q?x#y&z=1.bin', 'tilde~/dash-dot._'];

test('after the first PUT, single PUTs bypass the SDK and store the same bytes, mtime, content type and CRC32C', async () => {
  const bucket = await newBucket(client);
  const proxy = await through({ kind: 'throttle', status: 503 }, 0);
  const b = backend(bucket, proxy.url, { prefix: 'base/dir' });
  try {
    const bodies = new Map(HOSTILE.map((k, i) => [k, randomBytes(1 + i * 3001)]));
    bodies.set('empty/zero.bin', Buffer.alloc(0)); // a 0-byte object is still one PUT
    const mtime = Date.UTC(2026, 10, 21, 7, 30, 0);
    for (const [rel, body] of bodies) {
      const r = await put(b, rel, body, { mtimeMs: mtime, contentType: 'application/x-test', storageClass: 'STANDARD' });
      assert.equal(r.size, body.length);
      assert.ok(r.version, `${rel}: an ETag comes back`);
    }
    assert.equal(allPuts(proxy), bodies.size);
    assert.equal(sdkPuts(proxy), 1, 'only the first PUT went through the SDK');
    for (const [rel, body] of bodies) {
      const key = `base/dir/${rel}`;
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
      assert.equal(sha256(await got.Body!.transformToByteArray()), sha256(body), key);
      assert.equal(got.Metadata?.['datasync-mtime'], String(mtime), key);
      assert.equal(got.ContentType, 'application/x-test', key);
      assert.equal(got.ChecksumCRC32C, crc32cBase64(crc32cOf(body)), key);
    }
  } finally {
    await b.close();
    await proxy.close();
  }
});

test('by default the first 16 PUTs go through the SDK (a few state files never load the direct client); directPut: false keeps all there', async () => {
  const bucket = await newBucket(client);
  const proxy = await through({ kind: 'throttle', status: 503 }, 0);
  const byDefault = new S3Backend({ bucket, endpoint: proxy.url, region: testEnv().s3.region, forcePathStyle: true }, { side: 'destination', secretsRoot: secrets, knownTarget: false });
  const never = backend(bucket, proxy.url, { directPut: false });
  try {
    for (let i = 0; i < 20; i++) await put(byDefault, `d${i}`, randomBytes(100));
    assert.equal(sdkPuts(proxy), 16);
    assert.equal(allPuts(proxy), 20);
    for (let i = 0; i < 4; i++) await put(never, `n${i}`, randomBytes(100));
    assert.equal(sdkPuts(proxy), 20);
  } finally {
    await byDefault.close();
    await never.close();
    await proxy.close();
  }
});

test('on the direct path: 503s are retried, a lasting one is Throttled, a conditional PUT is refused, an abort is Aborted', async () => {
  const bucket = await newBucket(client);
  const proxy = await through({ kind: 'throttle', status: 503 }, 2, /retry-me/);
  const busy = await through({ kind: 'throttle', status: 503 }, Infinity, /always-busy/);
  const b = backend(bucket, proxy.url);
  const c = backend(bucket, busy.url);
  try {
    await put(b, 'learn', randomBytes(10));
    await put(c, 'learn-too', randomBytes(10));
    const body = randomBytes(5000);
    await put(b, 'retry-me', body);
    assert.equal(proxy.faulted(), 2, 'two 503s answered, the third attempt stored');
    assert.equal(proxy.requests().filter((r) => r.url.includes('retry-me') && /aws-sdk/i.test(r.userAgent)).length, 0, 'all three attempts were direct');
    const stored = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'retry-me' }));
    assert.equal(sha256(await stored.Body!.transformToByteArray()), sha256(body));

    const throttled = await failure(put(c, 'always-busy', randomBytes(10)));
    assert.equal(throttled.code, 'Throttled', throttled.message);
    assert.equal(throttled.retryable, true);
    assert.equal(busy.faulted(), 3, 'the SDK default of 3 attempts');

    const exists = await failure(put(b, 'retry-me', randomBytes(10), { ifNotExists: true }));
    assert.equal(exists.code, 'PreconditionFailed', exists.message);
    const kept = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'retry-me' }));
    assert.equal(sha256(await kept.Body!.transformToByteArray()), sha256(body), 'the refused PUT changed nothing');

    const aborted = await failure(put(b, 'aborted', randomBytes(10), { signal: AbortSignal.abort() }));
    assert.equal(aborted.code, 'Aborted', aborted.message);
    await assert.rejects(client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'aborted' })), /NotFound/);
  } finally {
    await b.close();
    await c.close();
    await proxy.close();
    await busy.close();
  }
});

test('on the direct path: a body damaged in flight is refused (ChecksumMismatch, retryable) and nothing lands', async () => {
  const bucket = await newBucket(client);
  const proxy = await startFaultProxy({ upstream: testEnv().s3.endpoint, fault: { kind: 'corrupt' }, failFirst: 1, only: /flip\.bin/ });
  const b = backend(bucket, proxy.url);
  try {
    await put(b, 'learn', randomBytes(10));
    const body = randomBytes(64 * 1024);
    const err = await failure(put(b, 'flip.bin', body));
    assert.equal(err.code, 'ChecksumMismatch', err.message);
    assert.equal(err.retryable, true);
    assert.equal(proxy.faulted(), 1);
    await assert.rejects(client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'flip.bin' })), /NotFound/);
    await put(b, 'flip.bin', body);
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'flip.bin' }));
    assert.equal(sha256(await got.Body!.transformToByteArray()), sha256(body));
  } finally {
    await b.close();
    await proxy.close();
  }
});

test('on the direct path: a bucket deleted mid-run is named with what to do, as on the SDK path', async () => {
  const bucket = await newBucket(client);
  const b = backend(bucket, testEnv().s3.endpoint);
  try {
    await put(b, 'learn', randomBytes(10));
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'learn' }));
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    const err = await failure(put(b, 'after', randomBytes(10)));
    assert.equal(err.code, 'InvalidConfig', err.message);
    assert.match(err.message, new RegExp(`write after in s3://${bucket}/.*NoSuchBucket.*create the bucket`));
  } finally {
    await b.close();
  }
});
