// Seed workflow 2: a landing directory drained to S3 by watch mode with Move and a storage class.
// Files keep arriving while a pass runs, one upload fails transiently (a fault proxy in front of
// MinIO), and every file must end in S3 with the right bytes and storage class, each local copy
// deleted only after its upload was verified, and the landing root kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testEnv, uniqueName } from '../env/endpoints.ts';
import { createBucket, getObject, listKeys, s3Client, storageClassOf } from './support/s3.ts';
import { startWorkflowProxy } from './support/fault-proxy.ts';
import { runCli, writeSpec } from './support/cli.ts';
import type { WatchPassLine } from '../../copier/watch/local.ts';
import { sha256 as sha } from '../engine/helpers.ts';

const STORAGE_CLASS = 'REDUCED_REDUNDANCY'; // MinIO accepts STANDARD and REDUCED_REDUNDANCY

test('landing directory → S3 with Move, watch passes, a transient upload failure and files landing mid-pass', { timeout: 180_000 }, async () => {
  const env = testEnv();
  const s3 = s3Client(env.s3);
  const bucket = uniqueName('landing');
  await createBucket(s3, bucket);
  const work = mkdtempSync(path.join(tmpdir(), 'wf-landing-'));
  const landing = path.join(work, 'landing');
  const expected = new Map<string, string>(); // relative path → sha256
  const land = (rel: string, size: number) => {
    const data = randomBytes(size);
    mkdirSync(path.dirname(path.join(landing, rel)), { recursive: true });
    writeFileSync(path.join(landing, rel), data);
    expected.set(rel, sha(data));
  };
  try {
    // Backdated a minute, so the first pass sees them as old enough for minAge.
    const initial: Array<[string, number]> = [['top.csv', 1500], ['a/1.bin', 70_000], ['a/b/2.bin', 3000], ['c/3.bin', 200_000], ['c/d/e/4.bin', 0], ['hello wörld/5 +.txt', 42]];
    for (const [rel, size] of initial) land(rel, size);
    const old = new Date(Date.now() - 60_000);
    for (const [rel] of initial) { const f = path.join(landing, rel); statSync(f); (await import('node:fs')).utimesSync(f, old, old); }

    const uploadsSeenWithoutLocal: string[] = [];
    const lines: WatchPassLine[] = [];
    let midPassLanded = false;
    const proxy = await startWorkflowProxy({
      upstream: env.s3.endpoint,
      // S3 is "down" for this one object until the first pass has given up on it (the SDK's and
      // the copier's retries included); the next pass must retry it by itself.
      failWhen: (r) => r.method === 'PUT' && r.path.endsWith('/c/3.bin') && lines.length === 0,
      failTimes: Number.POSITIVE_INFINITY,
      observe: (r) => {
        const prefix = `/${bucket}/landing/`;
        if (r.method !== 'PUT' || !r.path.startsWith(prefix)) return;
        const rel = r.path.slice(prefix.length);
        if (rel.startsWith('.datasync/')) return;
        // The local file must still exist when its upload starts: Move deletes only after verifying.
        if (!existsSync(path.join(landing, rel))) uploadsSeenWithoutLocal.push(rel);
        if (!midPassLanded) {
          midPassLanded = true;
          land('late/arrived-during-pass-1.bin', 5000);
          land('a/b/arrived-too.txt', 10);
        }
      },
    });
    const secrets = path.join(work, 'secrets', 'destination');
    mkdirSync(secrets, { recursive: true });
    writeFileSync(path.join(secrets, 'accessKeyId'), env.s3.accessKeyId);
    writeFileSync(path.join(secrets, 'secretAccessKey'), env.s3.secretAccessKey);
    const spec = writeSpec(path.join(work, 'landing.yaml'), {
      source: { filesystem: { path: landing } },
      destination: { s3: { bucket, prefix: 'landing', endpoint: proxy.url, region: env.s3.region, forcePathStyle: true, storageClass: STORAGE_CLASS } },
      mode: 'Move',
      verify: 'Checksum',
      filters: { minAge: '1s' },
      watch: { interval: '3s' },
      deletion: { maxDelete: '100%' },
      retry: { attemptsPerFile: 2 },
      parallelism: { shards: 2, transfersPerShard: 2 },
    });
    let failedFileStillLocalAfterPass1: boolean | undefined;
    const result = await runCli(['run', '-f', spec, '--passes', '3', '--quiet'], {
      env: { DATASYNC_SECRETS_DIR: path.join(work, 'secrets') },
      onStdoutLine: (l) => {
        const line = JSON.parse(l) as WatchPassLine;
        lines.push(line);
        if (line.pass === 1) failedFileStillLocalAfterPass1 = existsSync(path.join(landing, 'c/3.bin'));
      },
    });
    await proxy.close();
    assert.equal(result.code, 0, `${result.stderr}\n${result.stdout}`);
    assert.equal(lines.length, 3, result.stdout);
    const [p1, p2, p3] = lines;

    // Pass 1: everything but the faulted file; that one failed after its attempts and stayed local.
    assert.ok(proxy.failed() >= 2, `the fault proxy failed ${proxy.failed()} uploads`);
    assert.equal(p1?.report?.filesFailed, 1);
    assert.deepEqual(p1?.report?.failedFiles.map((f) => f.path), ['c/3.bin']);
    assert.equal(p1?.report?.outcome, 'PartiallyFailed');
    assert.equal(failedFileStillLocalAfterPass1, true, 'a failed upload must not delete the local file');
    // Pass 2: the failed file is retried and recovers; the files that landed mid-pass are picked up.
    assert.equal(p2?.retries.filesRetried, 1);
    assert.equal(p2?.retries.filesRecovered, 1);
    assert.equal(p2?.retries.filesStillFailing, 0);
    assert.equal(p2?.report?.filesFailed, 0);
    // The same counts as the run report carries them (persisted at the state location, so the
    // operator's separate watch Jobs report them too).
    assert.deepEqual((p2?.report as { retries?: unknown } | undefined)?.retries, { filesRetried: 1, filesRecovered: 1, filesStillFailing: 0, totalRetried: 1, totalRecovered: 1 });
    assert.equal((p1?.report?.filesCopied ?? 0) + (p2?.report?.filesCopied ?? 0) + (p3?.report?.filesCopied ?? 0), expected.size);
    assert.equal(p3?.report?.filesExpected, 0, 'nothing left for the third pass');

    // S3 holds exactly the landed files, byte for byte, in the storage class asked for.
    const keys = (await listKeys(s3, bucket, 'landing/')).filter((k) => !k.path.startsWith('.datasync/'));
    assert.deepEqual(keys.map((k) => k.path), [...expected.keys()].sort());
    for (const [rel, digest] of expected) {
      assert.equal(sha(await getObject(s3, bucket, `landing/${rel}`)), digest, rel);
      assert.equal(await storageClassOf(s3, bucket, `landing/${rel}`), STORAGE_CLASS, rel);
    }
    assert.deepEqual(uploadsSeenWithoutLocal, [], 'a local file was gone before its upload started');

    // The landing directory is drained, its emptied subdirectories removed, the root kept.
    assert.ok(existsSync(landing), 'the watched root survives');
    assert.deepEqual(readdirSync(landing), []);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
