// kill -9 of a shard worker in the middle of a large file, then a re-run: the destination ends
// complete and correct, nothing partial is ever visible at a final path, and files the killed
// worker finished are not copied again (counted from the worker's summary, and by inode).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Backend } from '../../copier/backends/backend.ts';
import { FilesystemBackend } from '../../copier/backends/filesystem/filesystem.ts';
import { S3Backend } from '../../copier/backends/s3/s3.ts';
import { Journal } from '../../copier/copy/journal.ts';
import { RunState } from '../../copier/runtime/state.ts';
import { cli, makeTree, newBucket, readBucket, readTree, s3Client, s3Endpoint, s3Env, startCli, tempDir, treeHashes, writeManifest } from './helpers.ts';

const MiB = 1024 * 1024;

function sourceTree() {
  const tree: Record<string, Buffer> = {};
  for (let i = 0; i < 6; i++) tree[`a-small-${i}.txt`] = randomBytes(1000 + i);
  tree['zz-large.bin'] = randomBytes(30 * MiB + 123); // sorts last, so the small ones finish first
  return tree;
}

test('worker copy killed with SIGKILL mid multipart upload to S3; a second attempt resumes from the journal', async () => {
  const client = s3Client();
  let state: S3Backend | undefined;
  try {
    const tree = sourceTree();
    const sizes = new Map(Object.entries(tree).map(([p, b]) => [p, b.length]));
    const dir = tempDir('resume-s3');
    makeTree(path.join(dir, 'src'), tree);
    const bucket = await newBucket(client);
    const cfg = path.join(dir, 'run.json');
    writeFileSync(cfg, JSON.stringify({
      runId: 'resume-1', trigger: 'Manual',
      spec: {
        source: { filesystem: { path: path.join(dir, 'src') } }, destination: s3Endpoint(bucket, 'out'),
        parallelism: { shards: 1, transfersPerShard: 1, partSize: '5Mi' }, bandwidthLimit: '8Mi',
      },
    }));
    const env = s3Env();
    // The test reads the journal as a resumed worker would: through the backend, with the same credentials.
    Object.assign(process.env, env);
    state = new S3Backend(s3Endpoint(bucket, 'out').s3!, { side: 'state' });
    const plan = await cli(['worker', 'plan', '--run-config', cfg], { env });
    assert.equal(plan.code, 0, plan.stderr);
    assert.equal(JSON.parse(plan.stdout).filesToCopy, 7);

    // Watch the final paths the whole time: an object there must always be complete.
    let watching = true;
    const partial: string[] = [];
    const watcher = (async () => {
      while (watching) {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'out/' }));
        for (const o of page.Contents ?? []) {
          const rel = o.Key!.slice(4);
          if (!rel.startsWith('.datasync/') && o.Size !== sizes.get(rel)) partial.push(`${rel}:${o.Size}`);
        }
        await sleep(50);
      }
    })();

    const first = startCli(['worker', 'copy', '--run-config', cfg, '--shard', '0'], { env });
    // Kill once the large file's multipart upload has started and holds at least one part.
    const deadline = Date.now() + 60_000;
    let killed = false;
    while (Date.now() < deadline) {
      const ups = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'out/zz-large.bin' }));
      if (ups.Uploads?.length) {
        await sleep(2000); // a few parts in, well before the end at 8 MiB/s
        // and the small files' journal batch stored (it goes out up to a second after they finish)
        while (Date.now() < deadline && await journaled(state, 'resume-1') < 6) await sleep(50);
        first.child.kill('SIGKILL');
        killed = true;
        break;
      }
      await sleep(50);
    }
    const r1 = await first.done;
    assert.ok(killed, `never saw the large upload start: ${r1.stderr}`);
    assert.equal(r1.signal, 'SIGKILL');
    const afterKill = await readBucket(client, bucket, 'out');
    assert.ok(!afterKill.has('zz-large.bin'), 'the killed upload is not visible');
    assert.equal(afterKill.size, 6, 'the small files were finished before the kill');

    const second = await cli(['worker', 'copy', '--run-config', cfg, '--shard', '0'], { env });
    assert.equal(second.code, 0, second.stderr);
    const summary = JSON.parse(second.stdout) as { filesResumed: number; bytesResumed: number; filesCopied: number; filesFailed: number };
    assert.equal(summary.filesResumed, 6, 'finished files are not copied again');
    // What the progress line leaves out of its rate: the six small files' bytes, not the large one's.
    assert.equal(summary.bytesResumed, [...sizes].filter(([rel]) => rel !== 'zz-large.bin').reduce((n, [, size]) => n + size, 0));
    assert.equal(summary.filesCopied, 1, 'only the interrupted file is copied');
    assert.equal(summary.filesFailed, 0);

    const commit = await cli(['worker', 'commit', '--run-config', cfg], { env });
    assert.equal(commit.code, 0, commit.stderr);
    const report = JSON.parse(commit.stdout);
    assert.equal(report.outcome, 'Succeeded');
    assert.equal(report.filesCopied, 7);

    watching = false;
    await watcher;
    assert.deepEqual(partial, [], 'no partial object was ever visible at a final path');
    assert.deepEqual(await readBucket(client, bucket, 'out'), treeHashes(tree));
  } finally {
    await state?.close();
    client.destroy();
  }
});

test('datasync run restarts a shard worker killed with SIGKILL; finished files keep their inode', async () => {
  const tree = sourceTree();
  const dir = tempDir('resume-fs');
  makeTree(path.join(dir, 'src'), tree);
  const dst = path.join(dir, 'dst');
  const manifest = writeManifest(dir, {
    source: { filesystem: { path: 'src' } }, destination: { filesystem: { path: 'dst' } },
    parallelism: { shards: 1, transfersPerShard: 1 }, bandwidthLimit: '10Mi', retry: { backoffLimitPerShard: 2 },
  });
  const run = startCli(['run', '-f', manifest], { env: { DATASYNC_LOG_LEVEL: 'info' } });
  const small = Object.keys(tree).filter((p) => p.startsWith('a-small'));
  const inodes = new Map<string, number>();
  let killedPid: number | undefined;
  const partial: string[] = [];
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && killedPid === undefined) {
    const large = path.join(dst, 'zz-large.bin');
    if (existsSync(large) && statSync(large).size !== tree['zz-large.bin']!.length) partial.push('zz-large.bin');
    const done = small.every((p) => existsSync(path.join(dst, p)));
    const child = childPids(run.child.pid!)[0];
    if (done && child !== undefined && bytesStaged(dst) > 12 * MiB && await journaledInDir(dst) >= small.length) {
      for (const p of small) inodes.set(p, statSync(path.join(dst, p)).ino);
      process.kill(child, 'SIGKILL');
      killedPid = child;
    }
    await sleep(50);
  }
  assert.ok(killedPid, 'found the worker mid large file');
  const r = await run.done;
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.outcome, 'Succeeded');
  assert.equal(report.filesCopied, 7);
  assert.match(r.stderr, /shard worker died; restarting/);
  // stderr is a pipe here, not a TTY: plain progress lines, no carriage-return redraws
  assert.match(r.stderr, /^100\.0% \[pending: 0 \| transferring: 0 \| complete: 7\] [\d.]+ [kMG]?B\/s/m);
  assert.doesNotMatch(r.stderr, /\r/);
  assert.deepEqual(partial, []);
  assert.deepEqual(readTree(dst), treeHashes(tree));
  for (const [p, ino] of inodes) assert.equal(statSync(path.join(dst, p)).ino, ino, `${p} was not copied again`);
});

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Files shard 0's journal holds as done, read as a resumed worker reads them (Journal.loadDone). */
async function journaled(state: Backend, runId: string): Promise<number> {
  return (await new Journal(new RunState(state, '.datasync/', runId), 0).loadDone()).size;
}

/** journaled() for the one run under a filesystem destination; 0 before its state exists. */
async function journaledInDir(dst: string): Promise<number> {
  const runs = existsSync(path.join(dst, '.datasync/runs')) ? readdirSync(path.join(dst, '.datasync/runs')) : [];
  return runs.length === 1 ? journaled(new FilesystemBackend(dst, 'state'), runs[0]!) : 0;
}

/** Bytes in hidden staging files under dir (the in-flight copy). */
function bytesStaged(dir: string): number {
  let total = 0;
  try {
    for (const name of readdirSync(dir)) if (name.startsWith('.datasync-tmp-')) total += statSync(path.join(dir, name)).size;
  } catch {
    return 0;
  }
  return total;
}
