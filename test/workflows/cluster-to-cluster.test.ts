// Seed workflow 3: WebHDFS → WebHDFS, 2,000 mixed-size files with 10 parallel transfers
// (2 shards × 5). The progress line shows pending, transferring and complete counts; the report's
// counts and sizes match the files exactly, every byte matches, and a second run skips everything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testEnv, uniqueName } from '../env/endpoints.ts';
import { hdfsClient, mapLimit } from './support/webhdfs.ts';
import { reportOf, runCli, writeSpec } from './support/cli.ts';
import { sha256 as sha } from '../engine/helpers.ts';

const FILES = 2000;
/** Mostly small, some medium, a few larger: about 25 MB in all. */
const sizeOf = (i: number) => (i % 200 === 0 ? 512 * 1024 + i : i % 10 === 0 ? 48 * 1024 + i : (i * 37) % 6000);

test('cluster to cluster: 2,000 files WebHDFS → WebHDFS with 10 transfers, then a no-op rerun', { timeout: 900_000 }, async (t) => {
  const t0 = Date.now();
  const phase = (name: string) => t.diagnostic(`${name}: ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  const env = testEnv();
  const hdfs = hdfsClient(env.webhdfs.url, env.webhdfs.user);
  const id = uniqueName('c2c');
  const src = `/${id}/src`;
  const dst = `/${id}/dst`;
  const work = mkdtempSync(path.join(tmpdir(), 'wf-c2c-'));
  try {
    const files = Array.from({ length: FILES }, (_, i) => ({ rel: `d${i % 17}/sub${i % 5}/file-${String(i).padStart(4, '0')}.dat`, size: sizeOf(i) }));
    const digests = new Map<string, string>();
    await mapLimit(files, 24, async (f) => {
      const data = randomBytes(f.size);
      digests.set(f.rel, sha(data));
      await hdfs.put(`${src}/${f.rel}`, data);
    });
    const totalBytes = files.reduce((n, f) => n + f.size, 0);
    phase('seeded');
    const spec = writeSpec(path.join(work, 'c2c.yaml'), {
      source: { webhdfs: { namenodes: [env.webhdfs.url], path: src, user: env.webhdfs.user } },
      destination: { webhdfs: { namenodes: [env.webhdfs.url], path: dst, user: env.webhdfs.user } },
      mode: 'Copy', verify: 'Checksum',
      parallelism: { shards: 2, transfersPerShard: 5 },
    });

    const first = await runCli(['run', '-f', spec], { timeoutMs: 300_000 });
    phase('first run');
    const report = reportOf(first);
    assert.equal(report.outcome, 'Succeeded', first.stderr);
    assert.equal(report.filesExpected, FILES);
    assert.equal(report.filesCopied, FILES);
    assert.equal(report.filesSkipped, 0);
    assert.equal(report.filesFailed, 0);
    assert.equal(report.bytesExpected, totalBytes);
    assert.equal(report.bytesCopied, totalBytes);
    // The progress line, with its three counts; the last one shows every file complete.
    const progress = first.stderr.split(/[\r\n]+/).filter((l) => /\[pending: \d+ \| transferring: \d+ \| complete: \d+/.test(l));
    assert.ok(progress.length >= 1, `no progress line on stderr:\n${first.stderr.slice(-2000)}`);
    assert.match(progress.at(-1)!, new RegExp(`\\[pending: 0 \\| transferring: 0 \\| complete: ${FILES}\\]`));
    // And a rate: bytes moved since the line before (or since the copy began), not 0.0 B/s.
    const rate = /\] (\d+\.\d) (B|kB|MB|GB)\/s/.exec(progress.at(-1)!);
    assert.ok(rate && Number(rate[1]) > 0, `no transfer rate on the last progress line: ${progress.at(-1)}`);

    const listed = (await hdfs.listFiles(dst)).filter((f) => !f.path.startsWith('.datasync/'));
    assert.deepEqual(listed, files.map((f) => ({ path: f.rel, size: f.size })).sort((a, b) => (a.path < b.path ? -1 : 1)));
    // Sizes of all 2,000 are compared above; bytes are compared for every larger file and a
    // spread sample of the small ones (the copier itself verified each CRC32C on write).
    const readBack = files.filter((f, i) => f.size > 40_000 || i % 10 === 3);
    await mapLimit(readBack, 16, async (f) => {
      assert.equal(sha(await hdfs.get(`${dst}/${f.rel}`)), digests.get(f.rel), f.rel);
    });
    phase(`verified (${readBack.length} files read back)`);

    const second = reportOf(await runCli(['run', '-f', spec, '--quiet'], { timeoutMs: 300_000 }));
    phase('second run');
    assert.equal(second.outcome, 'Succeeded');
    assert.equal(second.filesCopied, 0);
    assert.equal(second.filesSkipped, FILES);
    assert.equal(second.bytesSkipped, totalBytes);
    assert.equal(second.bytesCopied, 0);
  } finally {
    await hdfs.remove(`/${id}`).catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
});
