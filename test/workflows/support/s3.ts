// S3 access for the workflow tests through the AWS SDK directly (not the copier's backend).
import { S3Client, CreateBucketCommand, ListObjectsV2Command, GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { TestEndpoints } from '../../env/endpoints.ts';

export function s3Client(env: TestEndpoints['s3'], endpoint = env.endpoint): S3Client {
  return new S3Client({
    endpoint, region: env.region, forcePathStyle: true,
    credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
  });
}

export async function createBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
}

/** Every key under prefix (prefix stripped), with size, sorted. */
export async function listKeys(s3: S3Client, bucket: string, prefix = ''): Promise<Array<{ path: string; size: number }>> {
  const out: Array<{ path: string; size: number }> = [];
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of r.Contents ?? []) out.push({ path: (o.Key ?? '').slice(prefix.length), size: o.Size ?? 0 });
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export async function getObject(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

export async function storageClassOf(s3: S3Client, bucket: string, key: string): Promise<string> {
  const r = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  // S3 omits the header for STANDARD.
  return r.StorageClass ?? 'STANDARD';
}
