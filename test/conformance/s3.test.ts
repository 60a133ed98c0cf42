// The conformance suite against MinIO. Credentials reach the backend the way the copier pod gets
// them: as files of a mounted Secret; the denied backend gets a wrong secret key the same way.
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { S3Client, CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { testEnv, uniqueName } from '../env/endpoints.ts';
import { S3Backend } from '../../copier/backends/s3/s3.ts';
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
