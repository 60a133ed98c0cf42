// Requests without the SDK where the endpoint and static credentials are known up front
// (copier/backends/s3/known-target.ts), against the real MinIO through a proxy that logs each
// request's User-Agent (the SDK names itself there; node:http and undici send none of it): a
// backend lists, reads, writes and deletes without loading the SDK, stores the same objects, and
// anything but success (bad credentials, a 503) goes to the SDK, whose answer and error are the
// ones a backend without the known target gives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { S3Backend } from '../../copier/backends/s3/s3.ts';
import { testEnv } from '../env/endpoints.ts';
import { startFaultProxy, type FaultProxy } from '../conformance/fault-proxy.ts';
import { readAll } from '../conformance/suite.ts';
import { failure, newBucket, s3Client, sha256 } from './helpers.ts';

let client: S3Client;
before(() => { client = s3Client(); });
after(() => client?.destroy());

function secretsWith(accessKeyId: string, secretAccessKey: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'datasync-known-'));
  mkdirSync(path.join(dir, 'destination'));
  writeFileSync(path.join(dir, 'destination', 'accessKeyId'), accessKeyId);
  writeFileSync(path.join(dir, 'destination', 'secretAccessKey'), secretAccessKey);
  return dir;
}
const backend = (bucket: string, endpoint: string, secretsRoot: string, knownTarget = true, prefix?: string) => new S3Backend(
  { bucket, endpoint, region: testEnv().s3.region, forcePathStyle: true, ...(prefix ? { prefix } : {}) },
  { side: 'destination', secretsRoot, knownTarget },
);
const byTheSdk = (p: FaultProxy) => p.requests().filter((r) => /aws-sdk/i.test(r.userAgent));
const put = (b: S3Backend, rel: string, body: Buffer, extra: Parameters<S3Backend['write']>[2] = {}) => b.write(rel, Readable.from([body]), { size: body.length, ...extra });

const KEYS = ['plain.bin', 'dt=2026-12-07/hour=07/part-0.parquet', 'sp ace/plus+sign.txt', "quote's (1)!*.csv", 'caf\u00e9/na\u0308ive.json', '100%/q?x#y&z=1.bin', 'a&b<c>/"d".txt'];

test('a known target lists, reads, writes and deletes without the SDK, storing the same bytes and metadata', async () => {
  const e = testEnv().s3;
  const bucket = await newBucket(client);
  const proxy = await startFaultProxy({ upstream: e.endpoint, fault: { kind: 'throttle', status: 503 }, failFirst: 0, keepHost: true });
  const b = backend(bucket, proxy.url, secretsWith(e.accessKeyId, e.secretAccessKey), true, 'base/dir');
  try {
    const bodies = new Map(KEYS.map((k, i) => [k, randomBytes(1 + i * 2999)]));
    for (const [k, body] of bodies) await put(b, k, body, { mtimeMs: 1_700_000_000_123, contentType: 'application/x-test' });
    // past DIRECT_AFTER_PUTS (16) single PUTs move to the undici client, still without the SDK
    for (let i = 0; i < 20; i++) await put(b, `many/${String(i).padStart(2, '0')}`, randomBytes(64));

    const listed = [];
    for await (const x of b.list()) listed.push(x.path);
    assert.deepEqual(listed, [...KEYS, ...Array.from({ length: 20 }, (_, i) => `many/${String(i).padStart(2, '0')}`)].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    for (const [k, body] of bodies) {
      assert.equal(sha256(await readAll(await b.read(k))), sha256(body), k);
      const stored = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `base/dir/${k}`, ChecksumMode: 'ENABLED' }));
      assert.equal(sha256(await stored.Body!.transformToByteArray()), sha256(body));
      assert.equal(stored.Metadata?.['datasync-mtime'], '1700000000123');
      assert.equal(stored.ContentType, 'application/x-test');
      assert.ok(stored.ChecksumCRC32C, 'stored with its CRC32C');
    }
    const ranged = await readAll(await b.read(KEYS[3]!, { offset: 10, length: 100 }));
    assert.deepEqual(ranged, bodies.get(KEYS[3]!)!.subarray(10, 110));
    const absent = await failure(b.read('no/such/object'));
    assert.equal(absent.code, 'NotFound', absent.message);

    await b.features.deleteBatch!([...KEYS, 'never/there']);
    const left = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'base/dir/' }));
    assert.equal(left.KeyCount, 20, 'the named keys are gone, the others stay');

    assert.deepEqual(byTheSdk(proxy).map((r) => `${r.method} ${r.url}`), [], 'no request went through the SDK');
  } finally {
    await b.close();
    await proxy.close();
  }
});

test('anything but success goes to the SDK: bad credentials fail as without the known target; a 503 is retried by the SDK, which keeps the rest', async () => {
  const e = testEnv().s3;
  const bucket = await newBucket(client);
  const proxy = await startFaultProxy({ upstream: e.endpoint, fault: { kind: 'throttle', status: 503 }, failFirst: 1, keepHost: true });
  const wrong = secretsWith(e.accessKeyId, 'not-the-secret');
  const withKnown = backend(bucket, e.endpoint, wrong, true);
  const without = backend(bucket, e.endpoint, wrong, false);
  const b = backend(bucket, proxy.url, secretsWith(e.accessKeyId, e.secretAccessKey), true);
  try {
    for (const op of [(x: S3Backend) => put(x, 'k', randomBytes(10)), (x: S3Backend) => x.read('k'), async (x: S3Backend) => { for await (const _ of x.list()) void _; }]) {
      const a = await failure(op(withKnown));
      const c = await failure(op(without));
      assert.equal(a.code, c.code);
      assert.equal(a.message, c.message);
      assert.equal(a.code, 'Unauthenticated', a.message);
      assert.doesNotMatch(a.message, /not-the-secret/);
    }

    const body = randomBytes(3000);
    await put(b, 'after-503', body); // the first request gets the 503: the SDK sends it again
    assert.equal(proxy.faulted(), 1);
    assert.equal(sha256(await readAll(await b.read('after-503'))), sha256(body));
    const sdk = byTheSdk(proxy);
    assert.ok(sdk.length >= 2 && sdk.some((r) => r.method === 'PUT') && sdk.some((r) => r.method === 'GET'), `the PUT's retry and the later GET went through the SDK: ${JSON.stringify(sdk)}`);
  } finally {
    await withKnown.close();
    await without.close();
    await b.close();
    await proxy.close();
  }
});
