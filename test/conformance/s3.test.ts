// The conformance suite against MinIO. Credentials reach the backend the way the copier pod gets
// them: as files of a mounted Secret; the denied backend gets a wrong secret key the same way.
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { testEnv, uniqueName } from '../env/endpoints.ts';
import { S3Backend } from '../../copier/backends/s3/s3.ts';
import { hasCode } from '../../copier/errors.ts';
import { runConformance } from './suite.ts';

const env = testEnv().s3;
const bucket = uniqueName('conf-s3');
const admin = new S3Client({ endpoint: env.endpoint, region: env.region, forcePathStyle: true, credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey } });
const wrongSecret = randomBytes(20).toString('hex');

function secretsRoot(secretAccessKey: string): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'datasync-secrets-'));
  mkdirSync(path.join(root, 'destination'));
  writeFileSync(path.join(root, 'destination', 'accessKeyId'), env.accessKeyId);
  writeFileSync(path.join(root, 'destination', 'secretAccessKey'), secretAccessKey);
  return root;
}
const at = (endpoint: string, secrets: string, maxAttempts = 3) =>
  new S3Backend({ bucket, prefix: 'root/', endpoint, region: env.region }, { side: 'destination', secretsRoot: secrets, maxAttempts, partSize: 5 * 1024 * 1024 });

runConformance(
  's3',
  async () => {
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    const secrets = secretsRoot(env.secretAccessKey);
    return {
      backend: at(env.endpoint, secrets),
      // Buckets are left for the environment's teardown; only the mounted-Secret directory goes.
      cleanup: async () => rmSync(secrets, { recursive: true, force: true }),
      makeDirectory: async (dir) => void (await admin.send(new PutObjectCommand({ Bucket: bucket, Key: `root/${dir}/`, Body: '' }))),
    };
  },
  {
    secrets: [wrongSecret],
    makeDeniedBackend: async () => {
      const secrets = secretsRoot(wrongSecret);
      return { backend: at(env.endpoint, secrets, 1), cleanup: async () => rmSync(secrets, { recursive: true, force: true }) };
    },
    via: {
      upstream: env.endpoint,
      makeBackendAt: async (url) => {
        const secrets = secretsRoot(env.secretAccessKey);
        return { backend: at(url, secrets, 1), cleanup: async () => rmSync(secrets, { recursive: true, force: true }) };
      },
    },
  },
);

// S3 only: with the size declared, parts go one at a time through one reused buffer, so a body
// longer than declared must be refused before anything is stored (the buffer no longer holds the
// first part once the excess has been read). Below the part size the buffer is the declared size,
// so the same holds for a small file that grew.
test('a body longer than its declared size is refused, and the previous object stays', async () => {
  await admin.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => {});
  const secrets = secretsRoot(env.secretAccessKey);
  const b = at(env.endpoint, secrets);
  try {
    const before = randomBytes(1000);
    await b.write('grown.bin', Readable.from([before]), { size: before.length });
    const part = 5 * 1024 * 1024;
    const grown = randomBytes(part + 123);
    const err = await b.write('grown.bin', Readable.from([grown.subarray(0, 4096), grown.subarray(4096)]), { size: part }).then(() => undefined, (e: unknown) => e);
    assert.ok(hasCode(err, 'ChecksumMismatch') && (err as { retryable?: boolean }).retryable, `refused as a retryable ChecksumMismatch: ${String(err)}`);
    assert.deepEqual(Buffer.concat(await (await b.read('grown.bin')).toArray() as Buffer[]), before);
    const small = randomBytes(3000);
    const err2 = await b.write('grown.bin', Readable.from([small.subarray(0, 1000), small.subarray(1000)]), { size: 1000 }).then(() => undefined, (e: unknown) => e);
    assert.ok(hasCode(err2, 'ChecksumMismatch'), `a small body over its declared size is refused too: ${String(err2)}`);
    assert.deepEqual(Buffer.concat(await (await b.read('grown.bin')).toArray() as Buffer[]), before);
  } finally {
    await b.close();
    rmSync(secrets, { recursive: true, force: true });
  }
});
