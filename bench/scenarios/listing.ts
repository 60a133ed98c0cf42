// B4: listing and planning. Peak RSS of `datasync plan` over (a) a SYNTHETIC listing source of
// 1,000,000 objects (bench/lib/synthetic-s3.ts: a real S3 listing protocol, virtual objects) and
// (b) 200,000 real objects in MinIO, each against rclone's peak RSS planning the same copy
// (`rclone copy --dry-run`, its default per-directory listing, which is its low-memory mode).
import { PutObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { startSynthetic } from '../lib/synthetic-s3.ts';
import { freshBucket, dropBucket } from '../lib/s3.ts';
import { alternate, type Contender } from '../lib/stats.ts';
import { datasync, writeManifest, s3Dest, rclone, rcloneEnv, peerAvailable } from '../lib/tools.ts';
import type { RunResult } from '../lib/proc.ts';
import { row, type Bench } from './common.ts';
import type { Endpoint } from '../../api/types.ts';

const rssMiB = (r: RunResult) => {
  if (r.peakRssKiB === null) throw new Error('no peak RSS (is /usr/bin/time installed?)');
  return r.peakRssKiB / 1024;
};

async function compare(b: Bench, label: string, dataset: string, source: Endpoint, rcloneSource: string, env: NodeJS.ProcessEnv): Promise<void> {
  const rcloneFlags = 'copy --dry-run --checkers 8 (per-directory listing)';
  const cs: Contender<number>[] = [];
  if (!b.datasyncBlocked) {
    cs.push({
      name: 'datasync', run: async () => {
        const dst = await freshBucket(b.s3c, 'b4-plan');
        try {
          return rssMiB((await datasync(b.ctx, 'plan', writeManifest(b.ctx, 'b4', { source, destination: s3Dest(b.ctx, dst), mode: 'Copy' }))).result);
        } finally { await dropBucket(b.s3c, dst); }
      },
    });
  }
  if (peerAvailable('rclone')) {
    cs.push({
      name: 'rclone', run: async () => {
        const dst = await freshBucket(b.s3c, 'b4-rclone');
        try {
          return rssMiB(await rclone(b.ctx, ['copy', '--dry-run', '--checkers', '8', rcloneSource, `minio:${dst}`], env));
        } finally { await dropBucket(b.s3c, dst); }
      },
    });
  }
  const out = await alternate(cs, b.rounds, b.log, b.pace);
  const ds = out.get('datasync') ?? { samples: [], errors: [b.datasyncBlocked ?? 'not run'] };
  b.rows.push(row({
    scenario: `B4 ${label}`, metric: 'peak RSS of plan', unit: 'MiB', peer: 'rclone', peerFlags: rcloneFlags, dataset,
    target: '<= 300', targetOn: 'datasync', ratioOf: 'lower',
  }, ds, out.get('rclone'), 'target bounds datasync\'s peak RSS (MiB); ratio = datasync/rclone'));
}

export async function b4(b: Bench): Promise<void> {
  const n = b.quick ? 200_000 : 1_000_000;
  const synth = await startSynthetic(n);
  b.log(`B4 listing: SYNTHETIC source of ${n.toLocaleString('en')} objects at ${synth.endpoint}`);
  try {
    const env = rcloneEnv(b.ctx, { synth: { type: 's3', provider: 'Other', endpoint: synth.endpoint, access_key_id: 'x', secret_access_key: 'x', region: 'us-east-1', force_path_style: 'true', list_version: '2' } });
    await compare(b, 'synthetic listing', `SYNTHETIC listing source, ${n.toLocaleString('en')} objects × 1 KiB`,
      { s3: { bucket: synth.bucket, endpoint: synth.endpoint, region: 'us-east-1', forcePathStyle: true } }, `synth:${synth.bucket}`, env);
  } finally {
    await synth.close();
  }
}

/** B4 (b): run last in a full bench, since its one-time upload must not crowd out B5–B7. */
export async function b4real(b: Bench): Promise<void> {
  if (b.quick) return;
  // (b) 200,000 real objects. MinIO's data directory is kept between bench runs, so the upload
  // (a few minutes) happens once per machine.
  const bucket = 'b4-real-200k';
  const count = 200_000;
  await populate(b, bucket, count);
  await compare(b, 'real listing', `${count.toLocaleString('en')} real objects in MinIO`,
    { s3: { bucket, endpoint: b.ctx.s3.endpoint, region: b.ctx.s3.region, forcePathStyle: true } }, `minio:${bucket}`, rcloneEnv(b.ctx));
}

async function populate(b: Bench, bucket: string, count: number): Promise<void> {
  const marker = '.bench-populated';
  try {
    await b.s3c.send(new HeadObjectCommand({ Bucket: bucket, Key: marker }));
    b.log(`  ${bucket}: already holds ${count} objects`);
    return;
  } catch { /* not yet */ }
  try { await b.s3c.send(new (await import('@aws-sdk/client-s3')).CreateBucketCommand({ Bucket: bucket })); } catch { /* exists */ }
  const t0 = Date.now();
  const body = Buffer.alloc(1024, 7);
  let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < count) {
      const i = next++;
      const k = `p${String(Math.floor(i / 1000)).padStart(4, '0')}/f${String(i).padStart(7, '0')}.bin`;
      await b.s3c.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: body }));
      if (i % 20000 === 0) b.log(`  ${bucket}: ${i} objects uploaded`);
    }
  }));
  // The marker sorts before every key ('.' < 'p'); both tools copy it too, which is one object of 200,001.
  await b.s3c.send(new PutObjectCommand({ Bucket: bucket, Key: marker, Body: 'x' }));
  b.log(`  ${bucket}: ${count} objects uploaded in ${Math.round((Date.now() - t0) / 1000)}s`);
}
