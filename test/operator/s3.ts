// MinIO access for the operator suites (admin credentials from testEnv()).
import { S3Client, CreateBucketCommand, ListObjectsV2Command, GetObjectCommand } from '@aws-sdk/client-s3';
import type { TestEndpoints } from '../env/endpoints.ts';

/** For comparing what readBucket returns with what was written, byte for byte. */
export { sha256 } from '../engine/helpers.ts';

export function s3Client(env: TestEndpoints): S3Client {
  return new S3Client({
    endpoint: env.s3.endpoint, region: env.s3.region, forcePathStyle: true,
    credentials: { accessKeyId: env.s3.accessKeyId, secretAccessKey: env.s3.secretAccessKey },
  });
}

export async function createBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
}

/** Every key under prefix (prefix stripped) except the state location (.datasync/), sorted; no bodies. */
export async function listKeys(s3: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of page.Contents ?? []) {
      const rel = (o.Key ?? '').slice(prefix.length).replace(/^\//, '');
      if (!rel.startsWith('.datasync/')) out.push(rel);
    }
    token = page.NextContinuationToken;
  } while (token);
  return out.sort();
}

/** Every object under prefix except the state location (.datasync/), as key → bytes. */
export async function readBucket(s3: S3Client, bucket: string, prefix = ''): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of page.Contents ?? []) {
      const key = o.Key ?? '';
      const rel = key.slice(prefix.length).replace(/^\//, '');
      if (rel.startsWith('.datasync/')) continue;
      const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      out.set(rel, Buffer.from(await body.Body!.transformToByteArray()));
    }
    token = page.NextContinuationToken;
  } while (token);
  return out;
}
