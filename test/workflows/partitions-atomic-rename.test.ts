// publish: Atomic on a destination that can rename (the filesystem backend): partition files are
// copied to the run's staging prefix, renamed into place, and the marker is written last. Runs on
// local directories only, through the real CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { reportOf, runCli, writeSpec } from './support/cli.ts';

function filesUnder(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = path.join(dir, d.name);
    return d.isDirectory() ? filesUnder(p, base) : [path.relative(base, p)];
  }).sort();
}

test('Atomic publish on a renaming destination: staged, promoted, marker last; late files re-publish', { timeout: 60_000 }, async () => {
  const work = mkdtempSync(path.join(tmpdir(), 'wf-atomic-'));
  const src = path.join(work, 'src');
  const dst = path.join(work, 'dst');
  const put = (rel: string, content: string) => { mkdirSync(path.dirname(path.join(src, rel)), { recursive: true }); writeFileSync(path.join(src, rel), content); };
  try {
    put('dt=2026-11-01/hour=07/a.json', 'a'.repeat(100));
    put('dt=2026-11-01/hour=07/nested/b.json', 'b'.repeat(10));
    put('dt=2026-11-01/hour=07/_DONE', '');
    put('dt=2026-11-01/hour=08/c.json', 'c'); // no _DONE yet
    const spec = writeSpec(path.join(work, 'spec.yaml'), {
      source: { filesystem: { path: src } },
      destination: { filesystem: { path: dst } },
      partitions: { layout: 'dt={yyyy}-{MM}-{dd}/hour={HH}', lookback: '48h', readyMarker: '_DONE', successMarker: '_SUCCESS', publish: 'Atomic' },
      parallelism: { shards: 2 },
    });
    const run = () => runCli(['run', '-f', spec, '--quiet', '--as-of', '2026-11-01T10:00:00Z'], { env: { DATASYNC_LOG_LEVEL: 'info' } });
    const first = await run();
    const r1 = reportOf(first);
    assert.equal(r1.outcome, 'Succeeded', first.stderr);
    assert.deepEqual(r1.partitions, { published: ['dt=2026-11-01/hour=07'], waiting: ['dt=2026-11-01/hour=08'], skipped: [] });
    assert.match(first.stderr, /"partition":"dt=2026-11-01\/hour=07","promoted":2/, 'both files went through staging');
    const visible = filesUnder(dst).filter((f) => !f.startsWith('.datasync'));
    assert.deepEqual(visible, ['dt=2026-11-01/hour=07/_SUCCESS', 'dt=2026-11-01/hour=07/a.json', 'dt=2026-11-01/hour=07/nested/b.json']);
    assert.deepEqual(filesUnder(path.join(dst, '.datasync')).filter((f) => f.includes('/staging/')), [], 'nothing left in staging');
    const markerFile = path.join(dst, 'dt=2026-11-01/hour=07/_SUCCESS');
    const marker = JSON.parse(readFileSync(markerFile, 'utf8')) as { files: Array<{ path: string; size: number }> };
    assert.deepEqual(marker.files.map((f) => [f.path, f.size]), [['a.json', 100], ['nested/b.json', 10]]);
    // The marker is written after the promoted files.
    for (const f of ['a.json', 'nested/b.json']) {
      assert.ok(statSync(markerFile).mtimeMs >= statSync(path.join(dst, 'dt=2026-11-01/hour=07', f)).ctimeMs, `marker older than ${f}`);
    }

    // A late file in the published hour and hour 08 becoming ready.
    put('dt=2026-11-01/hour=07/late.json', 'late');
    put('dt=2026-11-01/hour=08/_DONE', '');
    const second = await run();
    const r2 = reportOf(second);
    assert.deepEqual(r2.partitions?.published, ['dt=2026-11-01/hour=07', 'dt=2026-11-01/hour=08']);
    assert.equal(r2.filesCopied, 2);
    assert.equal(r2.watermark, 'dt=2026-11-01/hour=08');
    const rewritten = JSON.parse(readFileSync(markerFile, 'utf8')) as { files: Array<{ path: string }> };
    assert.deepEqual(rewritten.files.map((f) => f.path), ['a.json', 'late.json', 'nested/b.json']);
    assert.equal(readFileSync(path.join(dst, 'dt=2026-11-01/hour=07/late.json'), 'utf8'), 'late');
    assert.ok(!existsSync(path.join(dst, 'dt=2026-11-01/hour=08/_DONE')), 'the source ready marker is not copied');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
