// B7: scaling over shards. Every connection to MinIO goes through a proxy capping each stream at
// CAP; each shard copies one file at a time (transfersPerShard: 1), so the ideal speedup at N shards
// is N. Target: ≥ 3.5× at 4 shards over 1 shard, medians of alternating runs.
import { largeFiles } from '../lib/datasets.ts';
import { startThrottleProxy } from '../lib/throttle-proxy.ts';
import { freshBucket, dropBucket, countObjects } from '../lib/s3.ts';
import { alternate, type Contender } from '../lib/stats.ts';
import { datasync, writeManifest } from '../lib/tools.ts';
import { noisyRounds, row, type Bench } from './common.ts';

const MiB = 2 ** 20;

export async function b7(b: Bench): Promise<void> {
  const capMiB = 4;
  const ds = largeFiles(b.dataRoot, b.quick ? 16 : 32, 4);
  const port = Number(new URL(b.ctx.s3.endpoint).port);
  const proxy = await startThrottleProxy(port, capMiB * MiB);
  b.log(`B7 scaling: ${ds.label} through ${proxy.endpoint}, ${capMiB} MiB/s per stream`);
  const flags = `transfersPerShard: 1, ${capMiB} MiB/s per TCP stream`;
  if (b.datasyncBlocked) {
    b.rows.push(row({ scenario: 'B7 scaling', metric: 'speedup at 4 shards', unit: '×', peer: '1 shard', peerFlags: flags, dataset: ds.label, target: '>= 3.5', ratioOf: 'higher' },
      { samples: [], errors: [b.datasyncBlocked] }, undefined, `datasync not runnable: ${b.datasyncBlocked}`));
    await proxy.close();
    return;
  }
  try {
    const cs: Contender<number>[] = [1, 2, 4].map((shards) => ({
      name: `shards=${shards}`, run: async () => {
        const bucket = await freshBucket(b.s3c, `b7-${shards}`);
        try {
          const m = writeManifest(b.ctx, 'b7', {
            source: { filesystem: { path: ds.dir } },
            destination: { s3: { bucket, endpoint: proxy.endpoint, region: b.ctx.s3.region, forcePathStyle: true } },
            mode: 'Copy', parallelism: { shards, transfersPerShard: 1 },
          });
          const r = (await datasync(b.ctx, 'run', m)).result;
          const got = await countObjects(b.s3c, bucket);
          if (got.count !== ds.files) throw new Error(`copied ${got.count} of ${ds.files}`);
          return ds.bytes / MiB / (r.wallMs / 1000);
        } finally { await dropBucket(b.s3c, bucket); }
      },
    }));
    const out = await alternate(cs, noisyRounds(b), b.log, b.pace);
    for (const n of [2, 4]) {
      b.rows.push(row({
        scenario: 'B7 scaling', metric: `throughput at ${n} shards vs 1 (speedup)`, unit: 'MiB/s', peer: 'datasync, 1 shard', peerFlags: flags, dataset: ds.label,
        target: n === 4 ? '>= 3.5' : null, ratioOf: 'higher',
      }, out.get(`shards=${n}`), out.get('shards=1'), `ideal ${n}×; ${proxy.connections()} proxied connections in total`));
    }
  } finally {
    await proxy.close();
  }
}
