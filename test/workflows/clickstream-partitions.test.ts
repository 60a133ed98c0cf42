// Seed workflow 1: incremental, date-partitioned clickstream sync from HDFS (WebHDFS) to S3, run
// daily over four simulated days (each run "as of" its day via --as-of):
//   - dt=2026-10-31 arrives late (after 11-01 was already published);
//   - dt=2026-11-01 gets a late file on day 3 (published again, marker rewritten);
//   - dt=2026-11-02 has no _SUCCESS until day 3 (waiting, never half-copied);
//   - dt=2026-11-03 is in the skip list;
//   - dt=2026-10-20 is older than the lookback and never copied.
// The destination must hold exactly the ready and allowed partitions, each with its marker, and
// the watermark must advance as the README defines it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testEnv, uniqueName } from '../env/endpoints.ts';
import { hdfsClient } from './support/webhdfs.ts';
import { createBucket, getObject, listKeys, s3Client } from './support/s3.ts';
import { reportOf, runCli, writeSpec } from './support/cli.ts';
import type { RunReport } from '../../api/types.ts';
import { sha256 as sha } from '../engine/helpers.ts';

test('clickstream: WebHDFS → S3, partitioned, four simulated days', { timeout: 300_000 }, async () => {
  const env = testEnv();
  const hdfs = hdfsClient(env.webhdfs.url, env.webhdfs.user);
  const s3 = s3Client(env.s3);
  const bucket = uniqueName('clickstream');
  await createBucket(s3, bucket);
  const root = `/${uniqueName('clickstream')}`;
  const work = mkdtempSync(path.join(tmpdir(), 'wf-clickstream-'));
  const source = new Map<string, Buffer>(); // partition-relative source files (data only)
  const put = async (rel: string, size: number) => {
    const data = randomBytes(size);
    await hdfs.put(`${root}/${rel}`, data);
    source.set(rel, data);
  };
  const marker = (partition: string) => hdfs.put(`${root}/${partition}/_SUCCESS`, Buffer.alloc(0));

  const spec = writeSpec(path.join(work, 'clickstream.yaml'), {
    source: { webhdfs: { namenodes: [env.webhdfs.url], path: root, user: env.webhdfs.user } },
    destination: { s3: { bucket, prefix: 'raw/clickstream', endpoint: env.s3.endpoint, region: env.s3.region, forcePathStyle: true } },
    mode: 'Copy', compare: 'SizeAndModTime', verify: 'Checksum',
    partitions: { layout: 'dt={yyyy}-{MM}-{dd}', lookback: '72h', readyMarker: '_SUCCESS', publish: 'Atomic', successMarker: '_SUCCESS', skip: ['dt=2026-11-03'] },
    parallelism: { shards: 2, transfersPerShard: 4 },
  });
  const cliEnv = { AWS_ACCESS_KEY_ID: env.s3.accessKeyId, AWS_SECRET_ACCESS_KEY: env.s3.secretAccessKey, DATASYNC_SECRETS_DIR: path.join(work, 'no-secrets') };
  const runDay = async (asOf: string): Promise<RunReport> => {
    const r = await runCli(['run', '-f', spec, '--as-of', asOf, '--quiet'], { env: cliEnv });
    const report = reportOf(r);
    assert.equal(report.outcome, 'Succeeded', `${asOf}: ${r.stderr}`);
    return report;
  };
  /** The destination's partitions: data files and whether the marker is there. */
  const destination = async () => {
    const keys = (await listKeys(s3, bucket, 'raw/clickstream/')).filter((k) => !k.path.startsWith('.datasync/'));
    return keys.map((k) => k.path);
  };
  const expectDestination = async (partitions: string[], day: string) => {
    const want = [...source.keys()].filter((rel) => partitions.some((p) => rel.startsWith(`${p}/`)));
    want.push(...partitions.map((p) => `${p}/_SUCCESS`));
    assert.deepEqual(await destination(), want.sort(), `destination after ${day}`);
    for (const rel of want) {
      if (rel.endsWith('/_SUCCESS')) continue;
      assert.equal(sha(await getObject(s3, bucket, `raw/clickstream/${rel}`)), sha(source.get(rel)!), rel);
    }
    for (const p of partitions) {
      const m = JSON.parse((await getObject(s3, bucket, `raw/clickstream/${p}/_SUCCESS`)).toString()) as { partition: string; files: Array<{ path: string; size: number }> };
      assert.equal(m.partition, p);
      const files = [...source.entries()].filter(([rel]) => rel.startsWith(`${p}/`)).map(([rel, d]) => ({ path: rel.slice(p.length + 1), size: d.length }));
      assert.deepEqual(m.files.map((f) => ({ path: f.path, size: f.size })), files, `marker of ${p} lists its files`);
    }
  };

  try {
    // Before day 1: an old partition (outside the lookback) and 11-01, complete.
    await put('dt=2026-10-20/part-0000.json.gz', 3000); await marker('dt=2026-10-20');
    await put('dt=2026-11-01/part-0000.json.gz', 20_000); await put('dt=2026-11-01/part-0001.json.gz', 7000); await marker('dt=2026-11-01');
    const day1 = await runDay('2026-11-02T02:00:00Z');
    assert.deepEqual(day1.partitions, { published: ['dt=2026-11-01'], waiting: [], skipped: [] });
    assert.equal(day1.watermark, 'dt=2026-11-01');
    assert.equal(day1.filesCopied, 2);
    await expectDestination(['dt=2026-11-01'], 'day 1');

    // Day 2: 11-02 is still being written (no _SUCCESS); 10-31 arrives late, complete.
    await put('dt=2026-11-02/part-0000.json.gz', 15_000);
    await put('dt=2026-10-31/part-0000.json.gz', 9000); await marker('dt=2026-10-31');
    const day2 = await runDay('2026-11-03T02:00:00Z');
    assert.deepEqual(day2.partitions, { published: ['dt=2026-10-31'], waiting: ['dt=2026-11-02'], skipped: [] });
    assert.equal(day2.watermark, 'dt=2026-11-01', 'a waiting partition holds the watermark');
    assert.equal(day2.filesCopied, 1, 'nothing of the waiting partition was copied');
    source.delete('dt=2026-11-02/part-0000.json.gz'); // not expected at the destination yet
    await expectDestination(['dt=2026-10-31', 'dt=2026-11-01'], 'day 2');
    source.set('dt=2026-11-02/part-0000.json.gz', await hdfs.get(`${root}/dt=2026-11-02/part-0000.json.gz`));

    // Day 3: 11-02 completes (a second file, then _SUCCESS); 11-03 lands but is in the skip list;
    // a late file lands in the already-published 11-01.
    await put('dt=2026-11-02/part-0001.json.gz', 1000); await marker('dt=2026-11-02');
    await put('dt=2026-11-03/part-0000.json.gz', 5000); await marker('dt=2026-11-03');
    await put('dt=2026-11-01/part-0002-late.json.gz', 4000);
    const day3 = await runDay('2026-11-04T02:00:00Z');
    assert.deepEqual(day3.partitions, { published: ['dt=2026-11-01', 'dt=2026-11-02'], waiting: [], skipped: ['dt=2026-11-03'] });
    assert.equal(day3.watermark, 'dt=2026-11-02');
    assert.equal(day3.filesCopied, 3);
    const skippedFile = source.get('dt=2026-11-03/part-0000.json.gz');
    source.delete('dt=2026-11-03/part-0000.json.gz');
    await expectDestination(['dt=2026-10-31', 'dt=2026-11-01', 'dt=2026-11-02'], 'day 3');
    assert.ok(skippedFile);

    // Day 4: 11-04 lands complete; the watermark passes the skipped 11-03.
    await put('dt=2026-11-04/part-0000.json.gz', 12_000); await marker('dt=2026-11-04');
    const day4 = await runDay('2026-11-05T02:00:00Z');
    assert.deepEqual(day4.partitions, { published: ['dt=2026-11-04'], waiting: [], skipped: ['dt=2026-11-03'] });
    assert.equal(day4.watermark, 'dt=2026-11-04');
    await expectDestination(['dt=2026-10-31', 'dt=2026-11-01', 'dt=2026-11-02', 'dt=2026-11-04'], 'day 4');

    // Running day 4 again changes nothing: no copies, no marker rewrites, same watermark.
    const again = await runDay('2026-11-05T02:00:00Z');
    assert.equal(again.filesCopied, 0);
    assert.deepEqual(again.partitions?.published, []);
    assert.equal(again.watermark, 'dt=2026-11-04');
  } finally {
    await hdfs.remove(root).catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
});

test('clickstream into HDFS: Atomic publish stages under .datasync and renames into place on WebHDFS', { timeout: 180_000 }, async () => {
  const env = testEnv();
  const hdfs = hdfsClient(env.webhdfs.url, env.webhdfs.user);
  const root = `/${uniqueName('atomic-hdfs')}`;
  const work = mkdtempSync(path.join(tmpdir(), 'wf-atomic-hdfs-'));
  try {
    const files: Record<string, Buffer> = {
      'dt=2026-11-01/a.json': randomBytes(3000),
      'dt=2026-11-01/sub/b.json': randomBytes(10),
      'dt=2026-11-02/c.json': randomBytes(700), // no _SUCCESS: waits
    };
    for (const [rel, data] of Object.entries(files)) await hdfs.put(`${root}/src/${rel}`, data);
    await hdfs.put(`${root}/src/dt=2026-11-01/_SUCCESS`, Buffer.alloc(0));
    const spec = writeSpec(path.join(work, 'atomic.yaml'), {
      source: { webhdfs: { namenodes: [env.webhdfs.url], path: `${root}/src`, user: env.webhdfs.user } },
      destination: { webhdfs: { namenodes: [env.webhdfs.url], path: `${root}/dst`, user: env.webhdfs.user } },
      partitions: { layout: 'dt={yyyy}-{MM}-{dd}', readyMarker: '_SUCCESS', publish: 'Atomic' },
      parallelism: { shards: 1, transfersPerShard: 2 },
    });
    const r = await runCli(['run', '-f', spec, '--quiet', '--as-of', '2026-11-02T12:00:00Z'], { env: { DATASYNC_LOG_LEVEL: 'info' } });
    const report = reportOf(r);
    assert.equal(report.outcome, 'Succeeded', r.stderr);
    assert.deepEqual(report.partitions, { published: ['dt=2026-11-01'], waiting: ['dt=2026-11-02'], skipped: [] });
    assert.match(r.stderr, /"partition":"dt=2026-11-01","promoted":2/, 'the files were staged and renamed');
    const listed = await hdfs.listFiles(`${root}/dst`);
    assert.deepEqual(listed.filter((f) => !f.path.startsWith('.datasync/')).map((f) => f.path), ['dt=2026-11-01/_SUCCESS', 'dt=2026-11-01/a.json', 'dt=2026-11-01/sub/b.json']);
    assert.deepEqual(listed.filter((f) => f.path.includes('/staging/')), [], 'nothing left in staging');
    for (const rel of ['dt=2026-11-01/a.json', 'dt=2026-11-01/sub/b.json']) {
      assert.equal(sha(await hdfs.get(`${root}/dst/${rel}`)), sha(files[rel]!), rel);
    }
  } finally {
    await hdfs.remove(root).catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
});
