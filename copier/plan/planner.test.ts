// The plan lists only the shards that have work: the operator sizes the copy Job from that count
// (copier/cli.ts puts plan.shards.length in the plan's termination message), so a 1-file run starts
// one copy pod, not parallelism.shards of them, and a run with nothing to copy starts none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { DataSyncSpec } from '../../api/types.ts';
import type { RunConfig } from '../runtime/run-config.ts';
import { commitPhase, copyPhase, planPhase } from '../phases.ts';
import { shardFile } from './manifest.ts';

const log = pino({ level: 'silent' });

function setup(files: number, parallelism?: DataSyncSpec['parallelism']) {
  const dir = mkdtempSync(path.join(tmpdir(), 'planner-'));
  const src = path.join(dir, 'src');
  const dst = path.join(dir, 'dst');
  mkdirSync(src, { recursive: true });
  mkdirSync(dst, { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(path.join(src, `f${i}.bin`), Buffer.alloc(1000 + i, i));
  const spec: DataSyncSpec = { source: { filesystem: { path: src } }, destination: { filesystem: { path: dst } }, ...(parallelism ? { parallelism } : {}) };
  const cfg: RunConfig = { runId: 'r1', trigger: 'Cli', spec };
  const runDir = path.join(dst, '.datasync/runs/r1');
  return { dir, src, dst, cfg, runDir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('1 file with the default 4 shards plans 1 shard; copy and commit of that plan land the file', async () => {
  const t = setup(1);
  try {
    const plan = await planPhase(t.cfg);
    assert.deepEqual(plan.shards, [{ index: 0, files: 1, bytes: 1000 }]);
    assert.equal(plan.totals.filesToCopy, 1);
    assert.ok(existsSync(path.join(t.runDir, shardFile(0))));
    assert.ok(!existsSync(path.join(t.runDir, shardFile(1))), 'no list for a shard that does not exist');
    const shard = await copyPhase(t.cfg, 0, log);
    assert.equal(shard.filesCopied, 1);
    const report = await commitPhase(t.cfg, log);
    assert.equal(report.outcome, 'Succeeded');
    assert.equal(report.filesCopied, 1);
    assert.deepEqual(readFileSync(path.join(t.dst, 'f0.bin')), Buffer.alloc(1000, 0));
  } finally { t.done(); }
});

test('nothing to copy plans no shard, and the commit alone finishes the run', async () => {
  const t = setup(2);
  try {
    await planPhase(t.cfg);
    await copyPhase(t.cfg, 0, log);
    await copyPhase(t.cfg, 1, log);
    await commitPhase(t.cfg, log);
    const again = { ...t.cfg, runId: 'r2' };
    const plan = await planPhase(again);
    assert.deepEqual(plan.shards, []);
    assert.equal(plan.totals.filesSkipped, 2);
    const report = await commitPhase(again, log);
    assert.equal(report.outcome, 'Succeeded');
    assert.equal(report.filesSkipped, 2);
    assert.equal(report.filesCopied, 0);
  } finally { t.done(); }
});

test('more files than shards: every shard has work, as before', async () => {
  const t = setup(6, { shards: 4 });
  try {
    const plan = await planPhase(t.cfg);
    assert.equal(plan.shards.length, 4);
    assert.deepEqual(plan.shards.map((s) => s.index), [0, 1, 2, 3]);
    assert.ok(plan.shards.every((s) => s.files > 0));
    assert.equal(plan.shards.reduce((n, s) => n + s.files, 0), 6);
  } finally { t.done(); }
});

test('a repeated plan of the same run (retried plan Job) plans the shards it needs now and leaves no list of the earlier attempt', async () => {
  const t = setup(3);
  try {
    assert.equal((await planPhase(t.cfg)).shards.length, 3);
    rmSync(path.join(t.src, 'f1.bin'));
    rmSync(path.join(t.src, 'f2.bin'));
    const plan = await planPhase(t.cfg);
    assert.deepEqual(plan.shards, [{ index: 0, files: 1, bytes: 1000 }]);
    for (const i of [1, 2]) assert.equal(readFileSync(path.join(t.runDir, shardFile(i)), 'utf8'), '', `shard ${i}'s list of the first attempt is emptied`);
    assert.equal(JSON.parse(readFileSync(path.join(t.runDir, 'plan.json'), 'utf8')).shards.length, 1, 'plan.json, which copy pods and the commit read, says 1 shard');
  } finally { t.done(); }
});
