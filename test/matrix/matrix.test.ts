// The cross-backend matrix: one hostile dataset copied by `datasync run` through every source and
// destination pair among filesystem, s3, gcs, webhdfs and azureBlob, each destination verified
// byte for byte (SHA-256 of every file) and by the checksums its backend reports natively.
// The filesystem tree seeds one location per kind; every other kind then serves as a source.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { Storage } from '@google-cloud/storage';
import { BlobServiceClient } from '@azure/storage-blob';
import { Crc32c } from '@aws-crypto/crc32c';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Endpoint } from '../../api/types.ts';
import type { Backend } from '../../copier/backends/backend.ts';
import { openBackend } from '../../copier/backends/index.ts';
import { createWebHdfsBackend } from '../../copier/backends/webhdfs/index.ts';
import { testEnv, uniqueName } from '../env/endpoints.ts';
import { hostileTree, makeTree, newBucket, runSync, s3Client, s3Env, sha256, tempDir, treeHashes, writeManifest } from '../engine/helpers.ts';
import { readAll } from '../conformance/suite.ts';

type Kind = 'filesystem' | 's3' | 'gcs' | 'webhdfs' | 'azureBlob';
const KINDS: Kind[] = ['filesystem', 's3', 'gcs', 'webhdfs', 'azureBlob'];

const env = testEnv();
const tree = hostileTree();
const expected = treeHashes(tree);
const run = uniqueName('matrix');
let work: string;
let s3: S3Client;
let s3Bucket: string;
const gcsBucket = run;
const azureContainer = run;
const hdfsRoot = `/${run}`;
const storage = new Storage({ apiEndpoint: env.gcs.endpoint, projectId: env.gcs.projectId, useAuthWithCustomEndpoint: false });
const azure = BlobServiceClient.fromConnectionString(env.azure.connectionString).getContainerClient(azureContainer);

/** A fresh location of a kind, named by its role in the matrix. */
function location(kind: Kind, name: string): Endpoint {
  switch (kind) {
    case 'filesystem':
      return { filesystem: { path: path.join(work, name) } };
    case 's3':
      return { s3: { bucket: s3Bucket, prefix: name, endpoint: env.s3.endpoint, region: env.s3.region, forcePathStyle: true } };
    case 'gcs':
      return { gcs: { bucket: gcsBucket, prefix: name, endpoint: env.gcs.endpoint, projectId: env.gcs.projectId } };
    case 'webhdfs':
      return { webhdfs: { namenodes: [env.webhdfs.url], path: `${hdfsRoot}/${name}`, user: env.webhdfs.user } };
    case 'azureBlob':
      return { azureBlob: { container: azureContainer, prefix: name } };
  }
}

/** Credentials the way local mode finds them: the SDKs' standard environment variables. */
function childEnv(): Record<string, string> {
  return { ...s3Env(), AZURE_STORAGE_CONNECTION_STRING: env.azure.connectionString };
}

async function copy(source: Endpoint, destination: Endpoint): Promise<void> {
  const manifest = writeManifest(work, { source, destination, parallelism: { shards: 1, transfersPerShard: 4 } });
  const r = await runSync(manifest, { env: childEnv() });
  assert.equal(r.report.outcome, 'Succeeded', `${JSON.stringify(r.report.failedFiles)}\n${r.stderr}`);
  assert.equal(r.report.filesFailed, 0);
}

/** Every file at the destination, read back through its backend: SHA-256 and native checksums. */
async function verify(destination: Endpoint): Promise<void> {
  const b: Backend = await openBackend(destination, 'destination');
  try {
    const got = new Map<string, string>();
    for await (const e of b.list()) {
      if (e.path.startsWith('.datasync/')) continue; // DataSync's own state
      const data = await readAll(await b.read(e.path));
      got.set(e.path, sha256(data));
      const reported = [...(e.checksums ?? []), ...((await b.stat(e.path)).checksums ?? [])];
      for (const c of reported) {
        const local = c.algorithm === 'crc32c'
          ? (new Crc32c().update(data).digest() >>> 0).toString(16).padStart(8, '0')
          : createHash(c.algorithm).update(data).digest('hex');
        assert.equal(c.value, local, `${c.algorithm} of ${e.path}`);
      }
    }
    assert.deepEqual(got, expected);
  } finally {
    await b.close();
  }
}

describe('cross-backend matrix', { timeout: 20 * 60_000 }, () => {
  const seeds = new Map<Kind, Endpoint>();

  before(async () => {
    work = tempDir('matrix');
    makeTree(path.join(work, 'src'), tree);
    s3 = s3Client();
    s3Bucket = await newBucket(s3);
    await storage.createBucket(gcsBucket);
    await azure.create();
    Object.assign(process.env, childEnv()); // verify's in-process backends use local mode too
  });

  after(async () => {
    s3?.destroy();
    await storage.bucket(gcsBucket).deleteFiles({ force: true }).catch(() => {});
    await storage.bucket(gcsBucket).delete().catch(() => {});
    await azure.deleteIfExists().catch(() => {});
    const hdfs = createWebHdfsBackend({ namenodes: [env.webhdfs.url], path: '/', user: env.webhdfs.user }, 'destination');
    await hdfs.client.delete(hdfsRoot, true).catch(() => {});
    await hdfs.close();
  });

  // Seeding is itself the filesystem → kind column of the matrix.
  for (const to of KINDS) {
    test(`filesystem → ${to}`, async () => {
      const destination = location(to, `seed-${to}`);
      await copy(location('filesystem', 'src'), destination);
      await verify(destination);
      seeds.set(to, destination);
    });
  }

  for (const from of KINDS.filter((k) => k !== 'filesystem')) {
    describe(`from ${from}`, { concurrency: 2 }, () => {
      for (const to of KINDS) {
        test(`${from} → ${to}`, async (t) => {
          const source = seeds.get(from);
          if (!source) return t.skip(`seeding ${from} failed`);
          const destination = location(to, `from-${from}-to-${to}`);
          await copy(source, destination);
          await verify(destination);
        });
      }
    });
  }
});
