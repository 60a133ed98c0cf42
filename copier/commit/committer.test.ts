// The commit's deletions (Sync's destination extras, Move's verified sources) go several at a
// time: one round trip each, so thousands of them must not run one after another.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import type { DataSyncSpec } from '../../api/types.ts';
import type { Backend } from '../backends/backend.ts';
import type { RunConfig } from '../runtime/run-config.ts';
import { commitWith, copyPhase, openRun, planPhase } from '../phases.ts';

const log = pino({ level: 'silent' });

function tree(files: Record<string, number>) {
  const dir = mkdtempSync(path.join(tmpdir(), 'commit-'));
  const src = path.join(dir, 'src');
  const dst = path.join(dir, 'dst');
  mkdirSync(src, { recursive: true });
  mkdirSync(dst, { recursive: true });
  for (const [rel, n] of Object.entries(files)) {
    const file = path.join(rel.startsWith('dst/') ? dst : src, rel.replace(/^(src|dst)\//, ''));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, Buffer.alloc(n, 7));
  }
  return { dir, src, dst, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Slows and counts one backend's deletes of paths under `under`; returns the peak in flight. */
function countDeletes(b: Backend, under: string) {
  const del = b.delete.bind(b);
  const seen = { now: 0, peak: 0, total: 0 };
  b.delete = async (p: string) => {
    if (!p.startsWith(under)) return del(p);
    seen.peak = Math.max(seen.peak, ++seen.now);
    seen.total++;
    try { await sleep(3); return await del(p); } finally { seen.now--; }
  };
  return seen;
}

/** Plans and copies every shard, then commits with `side`'s deletes under `under` counted. */
async function runCountingDeletes(spec: DataSyncSpec, side: 'source' | 'destination', under: string) {
  const cfg: RunConfig = { runId: 'r1', trigger: 'Cli', spec };
  const plan = await planPhase(cfg);
  for (const s of plan.shards) await copyPhase(cfg, s.index, log);
  const opened = await openRun(cfg);
  const seen = countDeletes(opened[side], under);
  const report = await commitWith(opened, cfg, log).finally(() => opened.close());
  assert.ok(seen.peak > 1 && seen.peak <= 16, `deletes in flight peaked at ${seen.peak}`);
  return { report, seen };
}

test('Sync deletes the destination extras several at a time, every one of them', async () => {
  const files: Record<string, number> = { 'src/keep.bin': 10 };
  for (let i = 0; i < 40; i++) files[`dst/extra/e${String(i).padStart(2, '0')}.bin`] = 5;
  const t = tree(files);
  try {
    const spec: DataSyncSpec = { source: { filesystem: { path: t.src } }, destination: { filesystem: { path: t.dst } }, mode: 'Sync', deletion: { maxDelete: '100%' } };
    const { report, seen } = await runCountingDeletes(spec, 'destination', 'extra/');
    assert.equal(report.outcome, 'Succeeded');
    assert.equal(report.filesDeleted, 40);
    assert.equal(report.bytesDeleted, 200);
    assert.equal(seen.total, 40);
    assert.ok(!existsSync(path.join(t.dst, 'extra')) || readdirSync(path.join(t.dst, 'extra')).length === 0, 'every extra is gone');
    assert.ok(existsSync(path.join(t.dst, 'keep.bin')));
  } finally { t.done(); }
});

test('Move deletes the verified sources several at a time, and only those', async () => {
  const files: Record<string, number> = {};
  for (let i = 0; i < 30; i++) files[`src/d${i % 3}/f${String(i).padStart(2, '0')}.bin`] = 100 + i;
  files['dst/d0/f00.bin'] = 100; // already there, same size: skipped, and its source goes too
  const t = tree(files);
  try {
    const spec: DataSyncSpec = { source: { filesystem: { path: t.src } }, destination: { filesystem: { path: t.dst } }, mode: 'Move', parallelism: { shards: 2 }, deletion: { maxDelete: '100%' } };
    const { report, seen } = await runCountingDeletes(spec, 'source', 'd');
    assert.equal(report.outcome, 'Succeeded');
    assert.equal(report.filesCopied, 29);
    assert.equal(report.filesSkipped, 1);
    assert.equal(report.filesDeleted, 30);
    assert.equal(seen.total, 30);
    assert.deepEqual(readdirSync(t.src), [], 'sources and their emptied directories are gone');
    for (let i = 0; i < 30; i++) assert.equal(readdirSync(path.join(t.dst, `d${i % 3}`)).includes(`f${String(i).padStart(2, '0')}.bin`), true);
  } finally { t.done(); }
});
