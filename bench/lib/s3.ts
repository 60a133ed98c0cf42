// Bucket housekeeping between runs. Each run writes into a bucket of its own, so no tool ever finds
// another tool's objects (rclone and s5cmd would skip them and look faster than they are).
import { S3Client, CreateBucketCommand, DeleteBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { S3Server } from './servers.ts';

export function s3Client(s: S3Server): S3Client {
  return new S3Client({
    endpoint: s.endpoint, region: s.region, forcePathStyle: true,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
  });
}

let seq = 0;
export async function freshBucket(c: S3Client, label: string): Promise<string> {
  const name = `${label}-${Date.now().toString(36)}-${(seq++).toString(36)}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63);
  await c.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

/** MinIO deletes a bucket with its content in one call when asked with x-minio-force-delete. */
export async function dropBucket(c: S3Client, bucket: string): Promise<void> {
  const cmd = new DeleteBucketCommand({ Bucket: bucket });
  cmd.middlewareStack.add((next) => async (args) => {
    const req = args.request as { headers?: Record<string, string> };
    if (req.headers) req.headers['x-minio-force-delete'] = 'true';
    return next(args);
  }, { step: 'build', name: 'minioForceDelete' });
  try { await c.send(cmd); } catch { /* already gone; the data dir is removed at the end anyway */ }
}

/** Object count and bytes under a prefix: checks that a tool really copied everything. */
export async function countObjects(c: S3Client, bucket: string, prefix = ''): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  let token: string | undefined;
  do {
    const r = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of r.Contents ?? []) {
      if (o.Key?.startsWith('.datasync/') || o.Key?.includes('/.datasync/')) continue;
      // Directory markers (s3a's mkdir writes `dir/`, zero bytes) are not copied files.
      if (o.Key?.endsWith('/') && (o.Size ?? 0) === 0) continue;
      count++;
      bytes += o.Size ?? 0;
    }
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return { count, bytes };
}
