// The shared backend conformance suite (test/conformance/suite.ts) run against the filesystem
// backend on a scratch directory and the S3 backend on the test environment's MinIO.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, DeleteBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { testEnv, uniqueName } from '../env/endpoints.ts';
import { FilesystemBackend } from '../../copier/backends/filesystem/filesystem.ts';
import { S3Backend } from '../../copier/backends/s3/s3.ts';
import { runConformance } from '../conformance/suite.ts';
import { listKeys, s3Client } from './helpers.ts';

runConformance('filesystem', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'conf-fs-'));
  return {
    backend: new FilesystemBackend(root, 'destination'),
    cleanup: async () => rmSync(root, { recursive: true, force: true }),
    makeDirectory: async (dir) => void mkdirSync(path.join(root, dir), { recursive: true }),
  };
});

const env = testEnv().s3;
const bucket = uniqueName('conf-s3');
const client = s3Client();
const wrongSecret = `wrong-${randomBytes(12).toString('hex')}`;
const secretsRoot = mkdtempSync(path.join(tmpdir(), 'conf-s3-secrets-'));
mkdirSync(path.join(secretsRoot, 'destination'));
writeFileSync(path.join(secretsRoot, 'destination/accessKeyId'), env.accessKeyId);
writeFileSync(path.join(secretsRoot, 'destination/secretAccessKey'), wrongSecret);
const emptySecrets = mkdtempSync(path.join(tmpdir(), 'conf-s3-nosecrets-'));
const at = (endpoint: string, opts: { maxAttempts?: number; secretsRoot?: string } = {}) => {
  if (!opts.secretsRoot) {
    process.env['AWS_ACCESS_KEY_ID'] = env.accessKeyId;
    process.env['AWS_SECRET_ACCESS_KEY'] = env.secretAccessKey;
  }
  return new S3Backend({ bucket, prefix: 'root', endpoint, region: env.region, forcePathStyle: true }, {
    side: 'destination', partSize: 5 * 1024 * 1024, secretsRoot: opts.secretsRoot ?? emptySecrets, maxAttempts: opts.maxAttempts ?? 3,
  });
};

runConformance(
  's3',
  async () => {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    return {
      backend: at(env.endpoint),
      cleanup: async () => {
        const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
        for (const key of await listKeys(client, bucket)) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
        await client.send(new DeleteBucketCommand({ Bucket: bucket }));
        client.destroy();
      },
      makeDirectory: async (dir) => void (await client.send(new PutObjectCommand({ Bucket: bucket, Key: `root/${dir}/`, Body: '' }))),
    };
  },
  {
    partSize: 5 * 1024 * 1024,
    storageClass: 'REDUCED_REDUNDANCY',
    secrets: [wrongSecret],
    makeDeniedBackend: async () => ({ backend: at(env.endpoint, { secretsRoot }), cleanup: async () => {} }),
    via: { upstream: env.endpoint, makeBackendAt: async (url) => ({ backend: at(url, { maxAttempts: 1 }), cleanup: async () => {} }) },
  },
);
