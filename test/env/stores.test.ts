// The environment's own proof that each storage server is real and reachable with the SDKs the
// copier uses: bytes written are the bytes read back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Storage } from '@google-cloud/storage';
import { BlobServiceClient } from '@azure/storage-blob';
import { testEnv, uniqueName } from './endpoints.ts';

/**
 * PUT through node:http. The datanode answers every PUT with an unsolicited `100 Continue` before
 * the real status, which undici (fetch, and the undici 8 package) rejects as "bad response".
 */
function httpPut(url: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', headers: { 'content-length': String(body.length), 'content-type': 'application/octet-stream' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const HOSTILE = 'hello? sausage/êé/Hello, 世界/ " \' @ < > & ? + ≠/z.txt';

test('MinIO: put, get and list objects with @aws-sdk/client-s3', async () => {
  const { s3 } = testEnv();
  const client = new S3Client({
    endpoint: s3.endpoint, region: s3.region, forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  const bucket = uniqueName('env-s3');
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const body = randomBytes(256 * 1024 + 7);
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: HOSTILE, Body: body }));
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/b.txt', Body: 'b' }));
  const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: HOSTILE }));
  assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), body);
  const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  assert.deepEqual((listed.Contents ?? []).map((o) => o.Key).sort(), ['a/b.txt', HOSTILE].sort());
  client.destroy();
});

test('fake-gcs-server: put, get and list objects with @google-cloud/storage', async () => {
  const { gcs } = testEnv();
  const storage = new Storage({ apiEndpoint: gcs.endpoint, projectId: gcs.projectId });
  const [bucket] = await storage.createBucket(uniqueName('env-gcs'));
  const body = randomBytes(300 * 1024 + 3);
  // A resumable upload exercises the upload URL the server hands back (-external-url).
  await bucket.file(HOSTILE).save(body, { resumable: true, validation: 'crc32c' });
  await bucket.file('a/b.txt').save(Buffer.from('b'), { resumable: false });
  const [got] = await bucket.file(HOSTILE).download();
  assert.deepEqual(got, body);
  const [files] = await bucket.getFiles();
  assert.deepEqual(files.map((f) => f.name).sort(), ['a/b.txt', HOSTILE].sort());
});

test('HDFS: WebHDFS CREATE follows the 307 redirect to the datanode, OPEN returns the same bytes', async () => {
  const { webhdfs } = testEnv();
  const dir = `/${uniqueName('env-hdfs')}`;
  const file = `${dir}/${encodeURIComponent('Hello, 世界 & z.bin')}`;
  const body = randomBytes(1024 * 1024 + 11);
  const user = `user.name=${webhdfs.user}`;
  const create = await fetch(`${webhdfs.url}/webhdfs/v1${file}?op=CREATE&overwrite=false&${user}`, { method: 'PUT', redirect: 'manual' });
  assert.equal(create.status, 307);
  const location = create.headers.get('location');
  assert.ok(location, 'CREATE answered without a Location');
  assert.equal(new URL(location).hostname, '127.0.0.1', `datanode redirect leaves 127.0.0.1: ${location}`);
  assert.notEqual(new URL(location).port, new URL(webhdfs.url).port, 'the redirect goes to the datanode, not the namenode');
  const put = await httpPut(location, body);
  assert.equal(put.status, 201, put.text);

  const open = await fetch(`${webhdfs.url}/webhdfs/v1${file}?op=OPEN&${user}`, { redirect: 'manual' });
  assert.equal(open.status, 307);
  const read = await fetch(open.headers.get('location')!);
  assert.equal(read.status, 200);
  assert.deepEqual(Buffer.from(await read.arrayBuffer()), body);

  const list = await fetch(`${webhdfs.url}/webhdfs/v1${dir}?op=LISTSTATUS&${user}`);
  const statuses = ((await list.json()) as { FileStatuses: { FileStatus: Array<{ pathSuffix: string; length: number }> } }).FileStatuses.FileStatus;
  assert.deepEqual(statuses.map((s) => [s.pathSuffix, s.length]), [['Hello, 世界 & z.bin', body.length]]);
});

test('HDFS: permissions are enforced (another user cannot write into a 0755 directory)', async () => {
  const { webhdfs } = testEnv();
  const dir = `/${uniqueName('env-hdfs-perm')}`;
  const mk = await fetch(`${webhdfs.url}/webhdfs/v1${dir}?op=MKDIRS&permission=755&user.name=${webhdfs.user}`, { method: 'PUT' });
  assert.equal(mk.status, 200);
  const denied = await fetch(`${webhdfs.url}/webhdfs/v1${dir}/sub?op=MKDIRS&user.name=mallory`, { method: 'PUT' });
  assert.equal(denied.status, 403, await denied.text());
  // CREATE is redirected first; the datanode's create call to the namenode is what is refused.
  const create = await fetch(`${webhdfs.url}/webhdfs/v1${dir}/x?op=CREATE&user.name=mallory`, { method: 'PUT', redirect: 'manual' });
  assert.equal(create.status, 307);
  const put = await httpPut(create.headers.get('location')!, Buffer.from('x'));
  assert.equal(put.status, 403, put.text);
});

test('Azurite: blob upload and download with @azure/storage-blob', async () => {
  const { azure } = testEnv();
  const service = BlobServiceClient.fromConnectionString(azure.connectionString);
  const container = service.getContainerClient(uniqueName('env-az'));
  await container.create();
  const body = randomBytes(512 * 1024 + 5);
  const blob = container.getBlockBlobClient(HOSTILE);
  await blob.uploadData(body, { blockSize: 128 * 1024, maxSingleShotSize: 128 * 1024 });
  assert.deepEqual(await blob.downloadToBuffer(), body);
  const names: string[] = [];
  for await (const item of container.listBlobsFlat()) names.push(item.name);
  assert.deepEqual(names, [HOSTILE]);
});
