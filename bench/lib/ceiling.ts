// MinIO's own ceiling for B1 and B2: PUTs of random bytes straight from memory with fixed concurrency,
// no disk reads, no listing, no planning: what the server accepts from a client on this machine.
// Stands in for warp, which does not build here (see bench/provision-peers.sh).
// Usage: node bench/lib/ceiling.ts ENDPOINT BUCKET OBJECTS SIZE_MIB CONCURRENCY  → JSON on stdout.
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import { randomFillSync } from 'node:crypto';

const [endpoint, bucket, objectsArg, sizeArg, concArg] = process.argv.slice(2);
if (!endpoint || !bucket || !objectsArg || !sizeArg || !concArg) {
  console.error('usage: ceiling.ts ENDPOINT BUCKET OBJECTS SIZE_MIB CONCURRENCY');
  process.exit(2);
}
const objects = Number(objectsArg);
const size = Number(sizeArg) * 1024 * 1024;
const client = new S3Client({
  endpoint, forcePathStyle: true, region: process.env['AWS_REGION'] ?? 'us-east-1',
  // No extra client-side checksum pass: the ceiling is the server's, not the SDK's hashing.
  requestChecksumCalculation: 'WHEN_REQUIRED',
});
const body = randomFillSync(Buffer.allocUnsafe(size));
let next = 0;
const t0 = performance.now();
await Promise.all(Array.from({ length: Number(concArg) }, async () => {
  while (next < objects) {
    const i = next++;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: `ceiling/${i}`, Body: body, ContentLength: size }));
  }
}));
const ms = performance.now() - t0;
console.log(JSON.stringify({ objects, bytes: objects * size, ms, mibPerSec: (objects * size) / 2 ** 20 / (ms / 1000), objectsPerSec: objects / (ms / 1000) }));
