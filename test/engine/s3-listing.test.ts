// The S3 backend's listing against the real MinIO, where it goes beyond one page: after the first
// page it fans out by prefix (copier/backends/s3/s3.ts, list()). Whatever the layout and wherever
// the first page ends (inside a prefix, between prefixes, under an endpoint prefix or a list
// prefix), the result must be exactly the server's own flat listing, in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { testEnv } from '../env/endpoints.ts';
import { S3Backend } from '../../copier/backends/s3/s3.ts';
import { listKeys, newBucket, s3Client, s3Env } from './helpers.ts';

let client: S3Client;
before(() => { client = s3Client(); });
after(() => { client?.destroy(); });

test('a listing of several pages fans out by prefix and still equals the flat listing, in order', async () => {
  const bucket = await newBucket(client);
  const keys: string[] = [];
  for (let i = 0; i < 1500; i++) keys.push(`p/a/f${String(i).padStart(5, '0')}`); // the first page ends inside p/a/
  for (let i = 0; i < 10; i++) keys.push(`p/b/g${i}`);
  keys.push('p/c.txt', 'p/a.txt', 'p/b', 'p/d/', 'top.txt'); // objects between prefixes, a placeholder
  for (let i = 0; i < 1200; i++) keys.push(`p/d/h${String(i).padStart(5, '0')}`);
  for (let i = 0; i < 5; i++) keys.push(`p/e/deep/x/y${i}`);
  keys.push('p/\u00e9/1', 'p/\u{1F600}/2', 'p/\uFF21/3', 'p/zz', 'p/a b & c/<d>');
  const queue = [...keys];
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let k = queue.pop(); k !== undefined; k = queue.pop()) await client.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: 'x' }));
  }));
  const e = testEnv().s3;
  Object.assign(process.env, s3Env());
  for (const [prefix, sub] of [['', undefined], ['p', undefined], ['p', 'a/'], ['p', 'd/'], ['p/a', undefined], ['p', 'e/'], ['', 'p/']] as const) {
    const backend = new S3Backend({ bucket, ...(prefix ? { prefix } : {}), endpoint: e.endpoint, region: e.region, forcePathStyle: true }, { side: 'destination' });
    try {
      const got: string[] = [];
      for await (const x of backend.list(sub ? { prefix: sub } : {})) got.push(x.path);
      const base = prefix ? `${prefix}/` : '';
      const want = (await listKeys(client, bucket, base + (sub ?? ''))).filter((k) => !k.endsWith('/')).map((k) => k.slice(base.length));
      assert.equal(got.length, want.length, `endpoint prefix '${prefix}', list prefix '${sub ?? ''}'`);
      assert.deepEqual(got, want, `endpoint prefix '${prefix}', list prefix '${sub ?? ''}'`);
    } finally {
      await backend.close();
    }
  }
});
