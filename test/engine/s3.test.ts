// `datasync run` against the test environment's real MinIO: trees, multipart boundaries, split
// files, Move, and the errors a user sees for a wrong endpoint or wrong credentials.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { testEnv } from '../env/endpoints.ts';
import { startFaultProxy } from '../conformance/fault-proxy.ts';
import { cli, hostileTree, listKeys, makeTree, newBucket, readBucket, readTree, runSync, s3Client, s3Endpoint, s3Env, sha256, tempDir, treeHashes, writeManifest } from './helpers.ts';

const MiB = 1024 * 1024;
let client: S3Client;
before(() => { client = s3Client(); });
after(() => { client?.destroy(); });

test('filesystem → S3 → filesystem keeps hostile names byte for byte; re-runs skip everything', async () => {
  const tree = hostileTree();
  const dir = tempDir('s3tree');
  makeTree(path.join(dir, 'src'), tree);
  const bucket = await newBucket(client);
  const up = writeManifest(dir, { source: { filesystem: { path: 'src' } }, destination: s3Endpoint(bucket, 'base/dir'), parallelism: { shards: 2, transfersPerShard: 4 } });
  const r1 = await runSync(up, { env: s3Env() });
  assert.equal(r1.report.outcome, 'Succeeded', r1.stderr);
  assert.equal(r1.report.filesCopied, Object.keys(tree).length);
  assert.deepEqual(await readBucket(client, bucket, 'base/dir'), treeHashes(tree));

  const r2 = await runSync(up, { env: s3Env() });
  assert.equal(r2.report.filesCopied, 0, 'mtimes recorded in object metadata make the re-run skip');
  assert.equal(r2.report.filesSkipped, Object.keys(tree).length);

  const down = writeManifest(dir, { source: s3Endpoint(bucket, 'base/dir'), destination: { filesystem: { path: 'back' } } });
  const r3 = await runSync(down, { env: s3Env() });
  assert.equal(r3.report.outcome, 'Succeeded', r3.stderr);
  assert.deepEqual(readTree(path.join(dir, 'back')), treeHashes(tree));
  const r4 = await runSync(down, { env: s3Env() });
  assert.equal(r4.report.filesCopied, 0);
});

test('multipart: above the part size, exactly at it, at two parts, and 0 bytes; full-object CRC32C stored', async () => {
  const files = {
    'zero.bin': Buffer.alloc(0),
    'exact-part.bin': randomBytes(5 * MiB),
    'two-parts.bin': randomBytes(10 * MiB),
    'above.bin': randomBytes(5 * MiB + 1),
    'small.bin': randomBytes(1000),
  };
  const dir = tempDir('mp');
  makeTree(path.join(dir, 'src'), files);
  const bucket = await newBucket(client);
  const m = writeManifest(dir, { source: { filesystem: { path: 'src' } }, destination: s3Endpoint(bucket), parallelism: { partSize: '5Mi', shards: 2, transfersPerShard: 2 } });
  const r = await runSync(m, { env: s3Env() });
  assert.equal(r.report.outcome, 'Succeeded', r.stderr);
  assert.equal(r.report.bytesCopied, 20 * MiB + 1001);
  assert.deepEqual(await readBucket(client, bucket), treeHashes(files));
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'above.bin', ChecksumMode: 'ENABLED' }));
  assert.ok(head.ETag?.includes('-2'), `above.bin is a 2-part upload (ETag ${head.ETag})`);
  assert.ok(head.ChecksumCRC32C && head.ChecksumType === 'FULL_OBJECT', `whole-object CRC32C stored (${head.ChecksumCRC32C} ${head.ChecksumType})`);
  // The Checksum comparison then skips every file without reading the destination.
  const again = writeManifest(dir, { source: { filesystem: { path: 'src' } }, destination: s3Endpoint(bucket), compare: 'Checksum', parallelism: { partSize: '5Mi' } });
  const r2 = await runSync(again, { env: s3Env() });
  assert.equal(r2.report.filesSkipped, 5, r2.stderr);
});

test('the parts of a multipart upload and large single PUTs reuse kept-alive connections', async () => {
  // The SDK sends `Expect: 100-continue` on bodies of 2 MiB or more over a fresh connection that it
  // then closes; the backend turns the header off (s3.ts), so one transfer's requests share one.
  const files = { 'parts.bin': randomBytes(26 * MiB), 'a.bin': randomBytes(3 * MiB), 'b.bin': randomBytes(3 * MiB), 'c.bin': randomBytes(3 * MiB) };
  const dir = tempDir('keepalive');
  makeTree(path.join(dir, 'src'), files);
  const bucket = await newBucket(client);
  const proxy = await startFaultProxy({ upstream: testEnv().s3.endpoint, fault: { kind: 'throttle', status: 503 }, failFirst: 0, keepHost: true });
  try {
    const dest = s3Endpoint(bucket);
    dest.s3!.endpoint = proxy.url;
    const m = writeManifest(dir, { source: { filesystem: { path: 'src' } }, destination: dest, parallelism: { partSize: '5Mi', shards: 1, transfersPerShard: 1 } });
    const r = await runSync(m, { env: s3Env() });
    assert.equal(r.report.outcome, 'Succeeded', r.stderr);
    const large = proxy.requests().filter((q) => q.method === 'PUT' && /(parts|[abc])\.bin/.test(q.url));
    assert.equal(large.length, 9, `6 parts and 3 single PUTs: ${large.map((q) => q.url).join(', ')}`);
    const connections = new Set(large.map((q) => q.connection));
    // One transfer at a time: its requests go one after another; a journal write of the same
    // process may take the connection meanwhile, so allow a few, but not one per request.
    assert.ok(connections.size <= 3, `9 large PUTs over ${connections.size} connections`);
  } finally {
    await proxy.close();
  }
  assert.deepEqual(await readBucket(client, bucket), treeHashes(files));
});

test('bodies corrupted in flight are refused by the server (the CRC32C travels with the data) and the retries store the right bytes', async () => {
  // The copier hashes each body once, in the S3 backend, and sends it unsigned with its CRC32C
  // (features.checksOnWrite): this shows that a flipped byte between copier and server cannot land.
  const files = { 'small.bin': randomBytes(20_000), 'parts.bin': randomBytes(11 * MiB) };
  const dir = tempDir('corrupt');
  makeTree(path.join(dir, 'src'), files);
  const bucket = await newBucket(client);
  const proxy = await startFaultProxy({ upstream: testEnv().s3.endpoint, fault: { kind: 'corrupt' }, failFirst: 3, only: /\/(small|parts)\.bin/ });
  try {
    const dest = s3Endpoint(bucket);
    dest.s3!.endpoint = proxy.url;
    const m = writeManifest(dir, { source: { filesystem: { path: 'src' } }, destination: dest, parallelism: { partSize: '5Mi', shards: 1, transfersPerShard: 1 } });
    const r = await runSync(m, { env: s3Env() });
    assert.equal(proxy.faulted(), 3, `three PUT bodies were corrupted on the way (${proxy.forwarded()} forwarded; ${r.stderr.slice(-1500)})`);
    assert.equal(r.report.outcome, 'Succeeded', r.stderr);
    assert.equal(r.report.filesCopied, 2);
  } finally {
    await proxy.close();
  }
  assert.deepEqual(await readBucket(client, bucket), treeHashes(files));
});

test('a file above splitFilesLargerThan is copied as ranges by several shards and joined', async () => {
  const big = randomBytes(23 * MiB + 17);
  const dir = tempDir('split');
  makeTree(path.join(dir, 'src'), { 'big/split.bin': big, 'other.txt': 'x' });
  const bucket = await newBucket(client);
  const m = writeManifest(dir, { source: { filesystem: { path: 'src' } }, destination: s3Endpoint(bucket), parallelism: { partSize: '5Mi', splitFilesLargerThan: '10Mi', shards: 3, transfersPerShard: 2 } });
  const r = await runSync(m, { env: s3Env() });
  assert.equal(r.report.outcome, 'Succeeded', r.stderr);
  assert.equal(r.report.filesCopied, 2);
  assert.equal((await readBucket(client, bucket)).get('big/split.bin'), sha256(big));
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big/split.bin', ChecksumMode: 'ENABLED' }));
  assert.equal(head.ChecksumType, 'FULL_OBJECT');
  // filesystem destination joins ranges by concatenation
  const m2 = writeManifest(dir, { source: { filesystem: { path: 'src' } }, destination: { filesystem: { path: 'fsout' } }, parallelism: { partSize: '5Mi', splitFilesLargerThan: '10Mi', shards: 3 } });
  const r2 = await runSync(m2);
  assert.equal(r2.report.outcome, 'Succeeded', r2.stderr);
  assert.equal(sha256(readFileSync(path.join(dir, 'fsout/big/split.bin'))), sha256(big));
  assert.deepEqual([...readTree(path.join(dir, 'fsout')).keys()], ['big/split.bin', 'other.txt'], 'no staging leftovers');
});

test('Move to S3 deletes each source after its verified upload; Sync to S3 deletes extras', async () => {
  const dir = tempDir('move');
  const tree = { 'in/a.json': '{"a":1}', 'in/b.json': '{"b":2}' };
  makeTree(path.join(dir, 'landing'), tree);
  const bucket = await newBucket(client);
  const m = writeManifest(dir, { source: { filesystem: { path: 'landing' } }, destination: s3Endpoint(bucket, 'archive'), mode: 'Move', deletion: { maxDelete: '100%' } });
  const r = await runSync(m, { env: s3Env() });
  assert.equal(r.report.outcome, 'Succeeded', r.stderr);
  assert.equal(r.report.filesDeleted, 2);
  assert.deepEqual(await readBucket(client, bucket, 'archive'), treeHashes(tree));
  assert.equal(readTree(path.join(dir, 'landing')).size, 0);

  makeTree(path.join(dir, 'mirror'), { 'in/a.json': '{"a":1}' });
  const s = writeManifest(dir, { source: { filesystem: { path: 'mirror' } }, destination: s3Endpoint(bucket, 'archive'), mode: 'Sync', deletion: { maxDelete: 1 } });
  const r2 = await runSync(s, { env: s3Env() });
  assert.equal(r2.report.outcome, 'Succeeded', r2.stderr);
  assert.equal(r2.report.filesDeleted, 1);
  assert.deepEqual([...(await readBucket(client, bucket, 'archive')).keys()], ['in/a.json']);
});

test('Sync to S3 deletes 2,100 extras and a Move out of S3 deletes 2,101 sources, in DeleteObjects batches, each counted', async () => {
  const dir = tempDir('batchdel');
  const tree: Record<string, string> = {};
  for (let i = 0; i < 2101; i++) tree[`d${i % 7}/f${String(i).padStart(4, '0')}.txt`] = `file ${i}`;
  makeTree(path.join(dir, 'src'), tree);
  const bucket = await newBucket(client);
  for (const prefix of ['synced', 'moving']) {
    const r = await runSync(writeManifest(dir, { source: { filesystem: { path: 'src' } }, destination: s3Endpoint(bucket, prefix) }), { env: s3Env() });
    assert.equal(r.report.filesCopied, 2101, r.stderr);
  }
  // All but one source file goes: the Sync must delete 2,100 extras (three batches, the last of 100).
  const kept = 'd0/f0000.txt';
  rmSync(path.join(dir, 'src'), { recursive: true });
  makeTree(path.join(dir, 'src'), { [kept]: tree[kept]! });
  const proxy = await startFaultProxy({ upstream: testEnv().s3.endpoint, fault: { kind: 'throttle', status: 503 }, failFirst: 0, keepHost: true });
  try {
    const viaProxy = (prefix: string) => { const e = s3Endpoint(bucket, prefix); e.s3!.endpoint = proxy.url; return e; };
    const sync = await runSync(writeManifest(dir, { source: { filesystem: { path: 'src' } }, destination: viaProxy('synced'), mode: 'Sync', deletion: { maxDelete: '100%' } }), { env: s3Env() });
    assert.equal(sync.report.outcome, 'Succeeded', sync.stderr);
    assert.equal(sync.report.filesDeleted, 2100);
    assert.equal(sync.report.bytesDeleted, Object.entries(tree).reduce((n, [k, v]) => n + (k === kept ? 0 : Buffer.byteLength(v)), 0));
    assert.deepEqual([...(await readBucket(client, bucket, 'synced')).keys()], [kept]);

    const move = await runSync(writeManifest(dir, { source: viaProxy('moving'), destination: { filesystem: { path: 'moved' } }, mode: 'Move', deletion: { maxDelete: '100%' } }), { env: s3Env() });
    assert.equal(move.report.outcome, 'Succeeded', move.stderr);
    assert.equal(move.report.filesDeleted, 2101);
    assert.deepEqual(readTree(path.join(dir, 'moved')), treeHashes(tree));
    assert.equal((await readBucket(client, bucket, 'moving')).size, 0, 'every moved source is gone');

    const dataDeletes = proxy.requests().filter((q) => q.method === 'DELETE' && !q.url.includes('.datasync'));
    assert.equal(dataDeletes.length, 0, `single DELETEs of data objects: ${dataDeletes.slice(0, 3).map((q) => q.url).join(', ')}`);
    const batches = proxy.requests().filter((q) => q.method === 'POST' && /[?&]delete(=|&|$)/.test(q.url));
    assert.ok(batches.length >= 6, `at least 3 DeleteObjects per 2,100 paths, got ${batches.length} in all`);
  } finally {
    await proxy.close();
  }
});

test('an unreachable endpoint and bad credentials fail clearly, name the endpoint, and never print the secret', async () => {
  const dir = tempDir('errs');
  makeTree(path.join(dir, 'src'), { 'a.txt': 'a' });
  const bucket = await newBucket(client);
  const secret = `wrong-secret-${randomBytes(8).toString('hex')}`;
  // Credentials mounted as Secret files, as in a pod.
  const secrets = path.join(dir, 'secrets');
  mkdirSync(path.join(secrets, 'destination'), { recursive: true });
  writeFileSync(path.join(secrets, 'destination/accessKeyId'), testEnv().s3.accessKeyId);
  writeFileSync(path.join(secrets, 'destination/secretAccessKey'), `${secret}\n`);
  const env = { DATASYNC_SECRETS_DIR: secrets, AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, DATASYNC_LOG_LEVEL: 'debug' };

  const unreachable = 'http://127.0.0.1:9';
  const m1 = writeManifest(dir, { source: { filesystem: { path: 'src' } }, destination: { s3: { bucket, endpoint: unreachable, forcePathStyle: true } } });
  const r1 = await runSync(m1, { env });
  assert.equal(r1.report.outcome, 'Failed');
  assert.notEqual(r1.code, 0);
  assert.match(r1.report.message ?? '', /Unreachable/);
  assert.ok(r1.report.message?.includes(unreachable), r1.report.message);
  assert.match(r1.stderr, /127\.0\.0\.1:9.*check the endpoint URL/);

  const m2 = writeManifest(dir, { source: { filesystem: { path: 'src' } }, destination: s3Endpoint(bucket) });
  const r2 = await runSync(m2, { env });
  assert.equal(r2.report.outcome, 'Failed');
  assert.equal(r2.code, 3, 'bad credentials are a configuration error');
  assert.match(r2.report.message ?? '', /Unauthenticated/);
  assert.ok(r2.report.message?.includes(testEnv().s3.endpoint), r2.report.message);
  assert.match(r2.stderr, /check the access key and secret/);

  // Same through a worker command, which logs at debug here.
  const cfgFile = path.join(dir, 'run.json');
  writeFileSync(cfgFile, JSON.stringify({ runId: 'r1', trigger: 'Manual', spec: { source: { filesystem: { path: path.join(dir, 'src') } }, destination: s3Endpoint(bucket) } }));
  const w = await cli(['worker', 'plan', '--run-config', cfgFile], { env: { ...env, DATASYNC_TERMINATION_LOG: path.join(dir, 'term.log') } });
  assert.equal(w.code, 3);
  const term = readFileSync(path.join(dir, 'term.log'), 'utf8');
  assert.match(term, /Unauthenticated/);

  for (const [name, text] of Object.entries({ r1out: r1.stdout, r1err: r1.stderr, r2out: r2.stdout, r2err: r2.stderr, wout: w.stdout, werr: w.stderr, term })) {
    assert.ok(!text.includes(secret), `${name} leaks the secret`);
  }
  assert.deepEqual(await listKeys(client, bucket), [], 'nothing was written with bad credentials');
});
