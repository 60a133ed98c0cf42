// Watch mode over a simulated week, through the real engine (plan → shard worker processes →
// commit) with an injected clock: 24 files land at irregular times over seven days in a landing
// directory, plus one file that is still being written for a while. Every pass runs "as of" the
// simulated time, so filters.minAge is judged against it. Each file must reach S3 in the first
// pass after it is minAge old (never earlier), its local copy must be gone afterwards, and the
// landing root must survive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testEnv, uniqueName } from '../env/endpoints.ts';
import { createBucket, getObject, listKeys, s3Client } from './support/s3.ts';
import { manualClock } from '../../copier/watch/clock.ts';
import { watchLocally } from '../../copier/watch/local.ts';
import { runLocally } from '../../copier/local-run.ts';
import { createLogger } from '../../copier/log.ts';
import type { DataSyncSpec, RunReport } from '../../api/types.ts';
import { sha256 as sha } from '../engine/helpers.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const BIN = path.resolve(import.meta.dirname, '../../bin/datasync.js');

test('a simulated week of landings drained by watch passes with Move and minAge', { timeout: 300_000 }, async () => {
  const env = testEnv();
  const s3 = s3Client(env.s3);
  const bucket = uniqueName('week');
  await createBucket(s3, bucket);
  const work = mkdtempSync(path.join(tmpdir(), 'wf-week-'));
  const landing = path.join(work, 'landing');
  mkdirSync(landing);
  const secrets = path.join(work, 'secrets', 'destination');
  mkdirSync(secrets, { recursive: true });
  writeFileSync(path.join(secrets, 'accessKeyId'), env.s3.accessKeyId);
  writeFileSync(path.join(secrets, 'secretAccessKey'), env.s3.secretAccessKey);
  process.env['DATASYNC_SECRETS_DIR'] = path.join(work, 'secrets');
  process.env['DATASYNC_LOG_LEVEL'] ??= 'warn';

  const interval = 6 * HOUR;
  const minAge = 30 * MIN;
  // The week lies in the past, so simulated modification times never lie in the real future.
  const start = Math.floor((Date.now() - 9 * DAY) / HOUR) * HOUR;
  const rng = (i: number) => ((i * 2654435761) % 997) / 997; // deterministic "irregular"
  const landings = Array.from({ length: 24 }, (_, i) => ({
    rel: `${['cam-a', 'cam-b', 'sensor/x'][i % 3]}/d${Math.floor((i * 7) / 24)}/f${String(i).padStart(2, '0')}.bin`,
    at: start + Math.floor(i * (7 * DAY / 24) + rng(i) * 5 * HOUR),
    data: randomBytes(500 + Math.floor(rng(i + 7) * 20_000)),
  }));
  // Three landings just before a pass: too young for that pass, taken by the next one.
  for (const i of [3, 11, 19]) landings[i]!.at = start + Math.ceil((landings[i]!.at - start) / interval) * interval - 10 * MIN;
  // One file is written slowly from day 2 for ten hours: appended every hour, complete after that.
  const growing = { rel: 'cam-a/slow/upload.bin', from: start + 2 * DAY + HOUR, chunks: 10, data: Buffer.alloc(0) };
  const landed = new Map<string, number>();
  const writeAt = (rel: string, data: Buffer, at: number, append = false) => {
    const f = path.join(landing, rel);
    mkdirSync(path.dirname(f), { recursive: true });
    if (append) appendFileSync(f, data); else writeFileSync(f, data);
    utimesSync(f, new Date(at), new Date(at));
  };
  const clock = manualClock(start, {
    beforeWake: (_from, to) => {
      for (const l of landings) if (l.at <= to && !landed.has(l.rel)) { writeAt(l.rel, l.data, l.at); landed.set(l.rel, l.at); }
      for (let c = 0; c < growing.chunks; c++) {
        const at = growing.from + c * HOUR;
        if (at > to || at <= (landed.get(`${growing.rel}#${c}`) ?? -1)) continue;
        if (landed.has(`${growing.rel}#${c}`)) continue;
        const chunk = randomBytes(4096);
        growing.data = Buffer.concat([growing.data, chunk]);
        writeAt(growing.rel, chunk, at, true);
        landed.set(`${growing.rel}#${c}`, at);
      }
    },
  });
  const spec: DataSyncSpec = {
    source: { filesystem: { path: landing } },
    destination: { s3: { bucket, prefix: 'in', endpoint: env.s3.endpoint, region: env.s3.region, forcePathStyle: true } },
    mode: 'Move', verify: 'Checksum', filters: { minAge: '30m' }, watch: { interval: '6h' },
    deletion: { maxDelete: '100%' }, parallelism: { shards: 1, transfersPerShard: 4 },
  };
  const log = createLogger('watch-week', 'warn');
  const firstSeen = new Map<string, number>(); // S3 key → simulated time of the pass that copied it
  const reports: RunReport[] = [];
  try {
    const result = await watchLocally({
      spec, clock, maxPasses: (7 * DAY) / interval + 2,
      newRunId: (at) => `week-${at.toISOString().replace(/[-:.TZ]/g, '')}`,
      runPass: async ({ runId, asOfMs }) => {
        const report = await runLocally({ runId, trigger: 'Watch', spec, asOf: new Date(asOfMs).toISOString() }, { quiet: true, log, cliScript: BIN });
        reports.push(report);
        if (report.filesCopied > 0) {
          for (const k of await listKeys(s3, bucket, 'in/')) if (!k.path.startsWith('.datasync/') && !firstSeen.has(k.path)) firstSeen.set(k.path, asOfMs);
        }
        return report;
      },
    });
    assert.equal(result.stoppedBy, 'maxPasses');
    assert.ok(reports.every((r) => r.outcome === 'Succeeded'), JSON.stringify(reports.filter((r) => r.outcome !== 'Succeeded')));
    assert.equal(landings.length, 24);
    for (const l of landings) {
      const copiedAt = firstSeen.get(l.rel);
      assert.ok(copiedAt !== undefined, `${l.rel} never reached S3`);
      assert.ok(copiedAt - l.at >= minAge, `${l.rel} was copied ${(copiedAt - l.at) / MIN} min after landing, before minAge`);
      // The first pass on the grid at or after landing + minAge.
      const due = start + Math.ceil((l.at + minAge - start) / interval) * interval;
      assert.equal(copiedAt, due, `${l.rel} was not taken by the first eligible pass`);
      assert.equal(sha(await getObject(s3, bucket, `in/${l.rel}`)), sha(l.data), l.rel);
    }
    // The slow upload is copied only after its last append is minAge old, and complete.
    const lastAppend = growing.from + (growing.chunks - 1) * HOUR;
    assert.ok(firstSeen.get(growing.rel)! - lastAppend >= minAge, 'a file still being written was copied');
    assert.equal(sha(await getObject(s3, bucket, `in/${growing.rel}`)), sha(growing.data));
    // Moved: the landing directory is empty but still there.
    assert.ok(existsSync(landing));
    assert.deepEqual(readdirSync(landing), []);
    const moved = reports.reduce((n, r) => n + r.filesDeleted, 0);
    assert.equal(moved, 25);
    assert.ok(reports.length >= 28, `${reports.length} passes over the week`);
  } finally {
    delete process.env['DATASYNC_SECRETS_DIR'];
    rmSync(work, { recursive: true, force: true });
  }
});
