// The destination's recorded-mtime index against the real MinIO, with every request counted by a
// proxy in front of it: a re-run of an unchanged tree skips everything without a HEAD per object,
// and the decisions stay those of a HEAD per object when a file's mtime changes at the same size,
// when an object is overwritten or deleted out of band, and when the index is gone or corrupt.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { testEnv } from '../env/endpoints.ts';
import { startWorkflowProxy, type WorkflowProxy } from '../workflows/support/fault-proxy.ts';
import { cli, listKeys, makeTree, newBucket, readBucket, runSync, s3Client, s3Env, tempDir, treeHashes, writeManifest } from './helpers.ts';

let client: S3Client;
let proxy: WorkflowProxy;
before(async () => {
  client = s3Client();
  proxy = await startWorkflowProxy({ upstream: testEnv().s3.endpoint });
});
after(async () => {
  client?.destroy();
  await proxy?.close();
});

const FILES = 40;
const T0 = new Date('2026-01-02T03:04:05.678Z');

/** One run through the proxy; the data HEADs (not DataSync's own state) it sent, by key. */
async function run(manifest: string) {
  const seen = proxy.requests().length;
  const r = await runSync(manifest, { env: s3Env() });
  assert.equal(r.report.outcome, 'Succeeded', r.stderr);
  const requests = proxy.requests().slice(seen);
  const heads = requests.filter((q) => q.method === 'HEAD' && !q.path.includes('/.datasync/')).map((q) => q.path.split('/').slice(2).join('/')).sort();
  return { report: r.report, heads, requests };
}

test('recorded-mtime index: no HEAD per object on a no-change run, the same decisions as HEADs otherwise', async () => {
  const dir = tempDir('mtime-index');
  const src = path.join(dir, 'src');
  const tree: Record<string, Buffer> = {};
  for (let i = 0; i < FILES; i++) tree[`d${i % 3}/f${String(i).padStart(3, '0')}.bin`] = randomBytes(1000 + (i % 7));
  makeTree(src, tree);
  for (const rel of Object.keys(tree)) utimesSync(path.join(src, rel), T0, T0);
  const bucket = await newBucket(client);
  const e = testEnv().s3;
  const manifest = writeManifest(dir, {
    source: { filesystem: { path: 'src' } },
    destination: { s3: { bucket, prefix: 'out', endpoint: proxy.url, region: e.region, forcePathStyle: true } },
    mode: 'Sync', parallelism: { shards: 2, transfersPerShard: 4 },
  });
  const key = (rel: string) => `out/${rel}`;

  const first = await run(manifest);
  assert.equal(first.report.filesCopied, FILES);
  const indexKeys = await listKeys(client, bucket, 'out/.datasync/index/');
  assert.equal(indexKeys.length, 1, `one index object: ${indexKeys}`);

  // Nothing changed: every file skipped, and not one HEAD.
  const second = await run(manifest);
  assert.equal(second.report.filesCopied, 0);
  assert.equal(second.report.filesSkipped, FILES);
  assert.deepEqual(second.heads, []);
  // The dry run reads the index too (and writes nothing): the same answer, no HEAD either.
  const seen = proxy.requests().length;
  const dry = await cli(['plan', '-f', manifest], { env: s3Env() });
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, new RegExp(`would copy 0 files \\(0 bytes\\), skip ${FILES}`));
  assert.deepEqual(proxy.requests().slice(seen).filter((q) => q.method === 'HEAD' || q.method === 'PUT'), []);

  // Same size, new mtime (same bytes, so the same ETag): still copied, from the index's answer.
  const touched = 'd1/f001.bin';
  utimesSync(path.join(src, touched), T0, new Date(T0.getTime() + 3_600_000));
  // Overwritten out of band with other bytes of the same size: a new ETag, so HEADed, and copied.
  const overwritten = 'd2/f002.bin';
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key(overwritten), Body: randomBytes(tree[overwritten]!.length) }));
  // Deleted out of band: copied again.
  const deleted = 'd0/f003.bin';
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key(deleted) }));
  const third = await run(manifest);
  assert.equal(third.report.filesCopied, 3, JSON.stringify(third.report));
  assert.equal(third.report.filesSkipped, FILES - 3);
  assert.deepEqual(third.heads, [key(overwritten)], 'only the overwritten object is HEADed');
  assert.deepEqual(await readBucket(client, bucket, 'out'), treeHashes(tree));

  // What those copies wrote went into the index: the next run HEADs nothing again.
  const fourth = await run(manifest);
  assert.equal(fourth.report.filesCopied, 0);
  assert.deepEqual(fourth.heads, []);

  // A corrupt index: an mtime changed inside it (valid JSON, caught by its block checksum). The run
  // falls back to a HEAD per object, decides the same (one real change is copied), and rewrites it.
  const indexKey = indexKeys[0]!;
  const text = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: indexKey }))).Body!.transformToByteArray()).toString('utf8');
  const tampered = text.replace(/(\["d0\/f000\.bin",\d+,"[^"\\]*(?:\\.[^"\\]*)*",)(\d+)\]/, (_m, head: string, ms: string) => `${head}${Number(ms) + 7_200_000}]`);
  assert.notEqual(tampered, text, 'the test changed an entry');
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: indexKey, Body: tampered }));
  const changed = 'd0/f006.bin';
  utimesSync(path.join(src, changed), T0, new Date(T0.getTime() + 7_200_000));
  const fifth = await run(manifest);
  assert.equal(fifth.report.filesCopied, 1, 'only the file that really changed');
  assert.equal(fifth.report.filesSkipped, FILES - 1);
  assert.equal(fifth.heads.length, FILES, 'a HEAD per object: the whole (single-block) index was refused');
  const sixth = await run(manifest);
  assert.equal(sixth.report.filesCopied, 0);
  assert.deepEqual(sixth.heads, [], 'the index was rewritten from those HEADs');

  // No index at all: the same, and garbage where the index should be: the same.
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: indexKey }));
  writeFileSync(path.join(src, 'd1/f004.bin'), randomBytes(1004)); // same size, new bytes, new mtime
  const seventh = await run(manifest);
  assert.equal(seventh.report.filesCopied, 1);
  assert.equal(seventh.heads.length, FILES);
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: indexKey, Body: 'not an index\n' }));
  const eighth = await run(manifest);
  assert.equal(eighth.report.filesCopied, 0);
  assert.equal(eighth.heads.length, FILES);
  const ninth = await run(manifest);
  assert.deepEqual(ninth.heads, []);
  tree['d1/f004.bin'] = readFileSync(path.join(src, 'd1/f004.bin'));
  assert.deepEqual(await readBucket(client, bucket, 'out'), treeHashes(tree));
});

test('recorded-mtime index: split files (joined by the commit) and multipart uploads are recorded too', async () => {
  const MiB = 1024 * 1024;
  const dir = tempDir('mtime-index-split');
  makeTree(path.join(dir, 'src'), { 'big/split.bin': randomBytes(13 * MiB + 5), 'mid/multipart.bin': randomBytes(6 * MiB), 'small.txt': 'x' });
  const bucket = await newBucket(client);
  const e = testEnv().s3;
  const manifest = writeManifest(dir, {
    source: { filesystem: { path: 'src' } },
    destination: { s3: { bucket, endpoint: proxy.url, region: e.region, forcePathStyle: true } },
    parallelism: { partSize: '5Mi', splitFilesLargerThan: '10Mi', shards: 2 },
  });
  const first = await run(manifest);
  assert.equal(first.report.filesCopied, 3);
  const second = await run(manifest);
  assert.equal(second.report.filesSkipped, 3);
  assert.deepEqual(second.heads, [], 'no HEAD for the joined split file, the multipart upload or the small file');
});
