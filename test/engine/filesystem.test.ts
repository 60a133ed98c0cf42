// `datasync run` between two local directories: the engine end to end, through the real CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, rmSync, utimesSync, writeFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { cli, hostileTree, makeTree, readTree, runSync, tempDir, treeHashes, writeManifest } from './helpers.ts';

function setup(tree: Record<string, string | Buffer>) {
  const dir = tempDir('fs');
  const src = path.join(dir, 'src');
  const dst = path.join(dir, 'dst');
  makeTree(src, tree);
  return { dir, src, dst };
}

test('copies a tree with hostile names byte for byte; a re-run copies nothing and reports them skipped', async () => {
  const tree = hostileTree();
  const { dir, src, dst } = setup(tree);
  const manifest = writeManifest(dir, { source: { filesystem: { path: src } }, destination: { filesystem: { path: dst } }, parallelism: { shards: 3, transfersPerShard: 4 } });
  const first = await runSync(manifest);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(first.report.outcome, 'Succeeded');
  assert.equal(first.report.filesCopied, Object.keys(tree).length);
  assert.deepEqual(readTree(dst), treeHashes(tree));
  // mtimes are kept, so the next run can skip by size and modification time
  const rel = Object.keys(tree)[0]!;
  assert.equal(Math.floor(statSync(path.join(dst, rel)).mtimeMs / 1000), Math.floor(statSync(path.join(src, rel)).mtimeMs / 1000));

  const second = await runSync(manifest);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.report.filesCopied, 0);
  assert.equal(second.report.filesSkipped, Object.keys(tree).length);
  assert.equal(second.report.bytesCopied, 0);
  assert.doesNotMatch(first.stderr + second.stderr, /pending:/, '--quiet silences the progress line');
});

test('a changed file is copied again: new size, and same size with a newer mtime', async () => {
  const { dir, src, dst } = setup({ 'grow.txt': 'v1', 'same-size.txt': 'aaaa', 'untouched.txt': 'x' });
  const manifest = writeManifest(dir, { source: { filesystem: { path: src } }, destination: { filesystem: { path: dst } } });
  assert.equal((await runSync(manifest)).report.filesCopied, 3);
  writeFileSync(path.join(src, 'grow.txt'), 'version two');
  writeFileSync(path.join(src, 'same-size.txt'), 'bbbb');
  const later = new Date(Date.now() + 60_000);
  utimesSync(path.join(src, 'same-size.txt'), later, later);
  const r = await runSync(manifest);
  assert.equal(r.report.outcome, 'Succeeded', r.stderr);
  assert.equal(r.report.filesCopied, 2);
  assert.equal(r.report.filesSkipped, 1);
  assert.equal(readFileSync(path.join(dst, 'grow.txt'), 'utf8'), 'version two');
  assert.equal(readFileSync(path.join(dst, 'same-size.txt'), 'utf8'), 'bbbb');
});

test('compare Checksum recopies a same-size, same-mtime change that SizeAndModTime would miss', async () => {
  const { dir, src, dst } = setup({ 'f.txt': 'aaaa', 'g.txt': 'same' });
  const manifest = writeManifest(dir, { source: { filesystem: { path: src } }, destination: { filesystem: { path: dst } }, compare: 'Checksum' });
  await runSync(manifest);
  const mtime = statSync(path.join(src, 'f.txt')).mtime;
  writeFileSync(path.join(src, 'f.txt'), 'bbbb');
  utimesSync(path.join(src, 'f.txt'), mtime, mtime);
  const r = await runSync(manifest);
  assert.equal(r.report.filesCopied, 1);
  assert.equal(r.report.filesSkipped, 1);
  assert.equal(readFileSync(path.join(dst, 'f.txt'), 'utf8'), 'bbbb');
});

test('Sync deletes destination extras; filters keep excluded files out of the copy and the deletion', async () => {
  const { dir, src, dst } = setup({ 'keep/a.txt': 'a', 'keep/b.txt': 'b', 'c.txt': 'c', 'skip.tmp': 't' });
  makeTree(dst, { 'extra1.txt': 'x', 'keep/extra2.txt': 'y', 'old.tmp': 'excluded, so left alone' });
  const manifest = writeManifest(dir, {
    source: { filesystem: { path: src } }, destination: { filesystem: { path: dst } },
    mode: 'Sync', filters: { exclude: ['*.tmp'] }, deletion: { maxDelete: '100%' },
  });
  const r = await runSync(manifest);
  assert.equal(r.report.outcome, 'Succeeded', r.stderr);
  assert.equal(r.report.filesDeleted, 2);
  assert.deepEqual([...readTree(dst).keys()], ['c.txt', 'keep/a.txt', 'keep/b.txt', 'old.tmp']);
});

test('an empty source with Sync trips the maxDelete guard: a clear error, nothing deleted', async () => {
  const { dir, src, dst } = setup({});
  makeTree(dst, { 'a.txt': 'a', 'b/c.txt': 'c', 'd.txt': 'd' });
  const { mkdirSync } = await import('node:fs');
  mkdirSync(src, { recursive: true });
  const before = readTree(dst);
  const manifest = writeManifest(dir, { source: { filesystem: { path: src } }, destination: { filesystem: { path: dst } }, mode: 'Sync', deletion: { maxDelete: '10%' } });
  const r = await runSync(manifest);
  assert.notEqual(r.code, 0);
  assert.equal(r.report.outcome, 'Failed');
  assert.equal(r.report.filesDeleted, 0);
  assert.match(r.report.message ?? '', /would delete 3 destination files.*maxDelete.*nothing was deleted/);
  assert.match(r.stderr, /would delete 3 destination files/);
  assert.deepEqual(readTree(dst), before);
});

test('Move deletes sources only after their copy verified, and keeps a source whose copy failed', async () => {
  const { dir, src, dst } = setup({ 'm/1.txt': 'one', 'm/2.txt': 'two', 'locked.txt': 'cannot be read' });
  chmodSync(path.join(src, 'locked.txt'), 0o000);
  chmodSync(path.join(src, 'm'), 0o777);
  chmodSync(src, 0o777);
  const manifest = writeManifest(dir, { source: { filesystem: { path: src } }, destination: { filesystem: { path: dst } }, mode: 'Move', deletion: { maxDelete: '100%' }, retry: { attemptsPerFile: 1 } });
  const r = await runSync(manifest, process.getuid?.() === 0 ? { uid: 65534 } : {});
  assert.equal(r.report.outcome, 'PartiallyFailed', r.stderr);
  assert.equal(r.report.filesCopied, 2);
  assert.equal(r.report.filesDeleted, 2);
  assert.equal(readFileSync(path.join(dst, 'm/1.txt'), 'utf8'), 'one');
  assert.equal(readFileSync(path.join(dst, 'm/2.txt'), 'utf8'), 'two');
  assert.ok(!existsSync(path.join(src, 'm/1.txt')) && !existsSync(path.join(src, 'm/2.txt')));
  assert.ok(existsSync(path.join(src, 'locked.txt')), 'a source whose copy failed is kept');
  assert.ok(!existsSync(path.join(dst, 'locked.txt')));
});

test('an unreadable source file is reported with its path and reason; the others are copied; PartiallyFailed', async () => {
  const { dir, src, dst } = setup({ 'ok/1.txt': '1', 'ok/2.txt': '2', 'secret/unreadable.txt': 'no', 'z.txt': 'z' });
  for (const d of [src, path.join(src, 'ok'), path.join(src, 'secret')]) chmodSync(d, 0o777);
  chmodSync(path.join(src, 'secret/unreadable.txt'), 0o000);
  const manifest = writeManifest(dir, { source: { filesystem: { path: src } }, destination: { filesystem: { path: dst } }, retry: { attemptsPerFile: 2 } });
  const r = await runSync(manifest, process.getuid?.() === 0 ? { uid: 65534 } : {});
  assert.equal(r.code, 4, r.stderr);
  assert.equal(r.report.outcome, 'PartiallyFailed');
  assert.equal(r.report.filesCopied, 3);
  assert.equal(r.report.filesFailed, 1);
  assert.equal(r.report.failedFiles.length, 1);
  assert.equal(r.report.failedFiles[0]!.path, 'secret/unreadable.txt');
  assert.match(r.report.failedFiles[0]!.error, /EACCES|permission denied/i);
  assert.deepEqual([...readTree(dst).keys()], ['ok/1.txt', 'ok/2.txt', 'z.txt']);
});

test('plan is a dry run that says what and why; validate reports every problem', async () => {
  const { dir, src, dst } = setup({ 'new.txt': 'n', 'same.txt': 's' });
  const manifest = writeManifest(dir, { source: { filesystem: { path: 'src' } }, destination: { filesystem: { path: 'dst' } }, mode: 'Sync', deletion: { maxDelete: 5 } }, false);
  await runSync(writeManifest(dir, { source: { filesystem: { path: src } }, destination: { filesystem: { path: dst } } }));
  writeFileSync(path.join(src, 'new2.txt'), 'n2');
  makeTree(dst, { 'extra.txt': 'e' });
  const before = readTree(dst);
  const p = await cli(['plan', '-f', manifest]);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /^copy +new2\.txt +\(new\)$/m);
  assert.match(p.stdout, /^skip +same\.txt +\(same size and modification time\)$/m);
  assert.match(p.stdout, /^delete +extra\.txt +\(not in source \(Sync\)\)$/m);
  assert.match(p.stderr, /would copy 1 files \(2 bytes\), skip 2, delete 1/);
  assert.deepEqual(readTree(dst), before, 'a dry run changes nothing');
  assert.ok(!existsSync(path.join(dst, '.datasync/runs/dry-run')));

  const reportFile = path.join(dir, 'report.json');
  const run = await cli(['run', '-f', manifest, '--quiet', '--report', reportFile]);
  assert.equal(run.code, 0, run.stderr);
  const fromFile = JSON.parse(readFileSync(reportFile, 'utf8'));
  assert.deepEqual(fromFile, JSON.parse(run.stdout), '--report holds the same report as stdout');
  assert.equal(fromFile.filesCopied, 1);
  assert.equal(fromFile.filesDeleted, 1);

  const ok = await cli(['validate', '-f', manifest]);
  assert.equal(ok.code, 0, ok.stderr);
  const bad = writeManifest(dir, { source: { filesystem: { path: src }, s3: { bucket: 'b' } }, destination: { s3: { bucket: '' } }, mode: 'Move', verify: 'None', parallelism: { partSize: '1Mi' } } as never);
  const v = await cli(['validate', '-f', bad]);
  assert.equal(v.code, 3);
  assert.match(v.stderr, /source must set exactly one of/);
  assert.match(v.stderr, /destination\.s3\.bucket is required/);
  assert.match(v.stderr, /Move with verify None/);
  assert.match(v.stderr, /partSize: 1Mi is below 5Mi/);
  if (existsSync(path.resolve(import.meta.dirname, '../../api/schema.ts'))) {
    // validated against the CRD's own schema too: unknown fields are reported, not ignored
    const typo = writeManifest(dir, { source: { filesystem: { path: src, bogus: 1 } }, destination: { filesystem: { path: dst } } } as never);
    const t = await cli(['validate', '-f', typo]);
    assert.equal(t.code, 3);
    assert.match(t.stderr, /source\.filesystem: must NOT have additional properties 'bogus'/);
  }
  rmSync(dir, { recursive: true, force: true });
});

test('datasync run starts each shard worker while it plans; when the plan fails, no worker outlives the run', async () => {
  const tree = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`d/f${i}.bin`, randomBytes(1000 + i)]));
  const { dir, src, dst } = setup(tree);
  const logs = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; shard?: number; afterPlan?: boolean; workerPid?: number });
  const env = { DATASYNC_LOG_LEVEL: 'info' };
  const ok = await runSync(writeManifest(dir, { source: { filesystem: { path: src } }, destination: { filesystem: { path: dst } }, parallelism: { shards: 3, transfersPerShard: 2 } }), { env });
  assert.equal(ok.report.outcome, 'Succeeded', ok.stderr);
  assert.deepEqual(readTree(dst), treeHashes(tree));
  const lines = logs(ok.stderr);
  const started = lines.filter((l) => l.msg === 'shard worker started');
  assert.deepEqual(started.map((l) => [l.shard, l.afterPlan]), [[0, true], [1, true], [2, true]]);
  assert.ok(lines.indexOf(started.at(-1)!) < lines.findIndex((l) => l.msg === 'planned'), 'every worker started before the plan was written');

  // A plan that fails after its shards got files: a file stands where the run state's directory goes.
  const blocked = path.join(dir, 'blocked');
  makeTree(blocked, { '.datasync': 'not a directory' });
  const failed = await runSync(writeManifest(dir, { source: { filesystem: { path: src } }, destination: { filesystem: { path: blocked } }, parallelism: { shards: 3 } }), { env });
  assert.equal(failed.report.outcome, 'Failed', failed.stderr);
  assert.match(failed.report.message ?? '', /blocked\/\.datasync\/runs\/[^ ]*\/ is not a directory, or a file stands where one of its directories should be/);
  const workers = logs(failed.stderr).filter((l) => l.msg === 'shard worker started').map((l) => l.workerPid!);
  assert.equal(workers.length, 3, 'the workers had started');
  for (const pid of workers) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `worker ${pid} ended with the run`);
  assert.deepEqual([...readTree(blocked).keys()], [], 'nothing was copied');
});
