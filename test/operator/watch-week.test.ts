// Watch mode through the operator over a simulated week, with no manual step: the production
// Controller runs in this process on an injected clock; the test only lands files (with their
// modification times in simulated time) and moves the clock. Every pass is a real run of Jobs on the
// pod runner: filesystem landing directory (hostPath) → MinIO, Move, verify Checksum, minAge 30m.
// Each file must reach S3 in the first pass at which it is minAge old (never earlier), byte for byte;
// its local copy must be gone after that pass, directories it emptied removed, the landing root kept.
// The CLI version of this workflow is test/workflows/watch-week.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DataSyncStatus } from '../../api/types.ts';
import { runObjectName } from '../../operator/names.ts';
import {
  cluster, cleanupApi, cleanupNamespace, installApi, createNamespace, createDataSync, getDataSync, startInProcessOperator, waitFor,
  MIN, HOUR, DAY, iso, type Cluster, type InProcessOperator,
} from './cluster.ts';
import { s3Client, createBucket, listKeys, readBucket, sha256 } from './s3.ts';

const INTERVAL = 12 * HOUR; // watch.interval below: 15 passes over the week
const MIN_AGE = 30 * MIN; // filters.minAge below
/** The operator's watch run ID, written out here rather than imported: w + yyyymmddhhmmss (UTC). */
const watchRunId = (ms: number): string => `w${iso(ms).replace(/[-:T]/g, '').slice(0, 14)}`;

let c: Cluster;
let ns: string;
let op: InProcessOperator | undefined;
// Passes start on the clock's grid T0 + k × interval. T0 lies 1–2 hours after real now, so every
// Job completion time (real, and the operator's lastRun.endTime) is earlier than every pass: the
// next pass is then due exactly interval after the last one started, on the grid.
const T0 = Math.ceil(Date.now() / HOUR) * HOUR + HOUR;
const PASSES = Math.ceil((7 * DAY) / INTERVAL) + 1; // T0 … T0 + 7 days
const passAt = (k: number): number => T0 + k * INTERVAL;

before(async () => {
  c = cluster();
  await installApi(c);
  ns = await createNamespace(c, 'opweek');
  await c.kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'minio' }, stringData: { accessKeyId: c.env.s3.accessKeyId, secretAccessKey: c.env.s3.secretAccessKey } } });
  op = startInProcessOperator(c, ns, T0);
});
after(async () => {
  if (c && ns) await cleanupNamespace(c, ns); // while the controller runs: it releases the finalizer
  await op?.stop();
  if (c) await cleanupApi(c);
});

interface Landing { rel: string; at: number; data: Buffer; pass: number }

/** Regular files and directories under dir, as paths relative to it. */
function walk(dir: string, rel = ''): { files: string[]; dirs: string[] } {
  const out = { files: [] as string[], dirs: [] as string[] };
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      out.dirs.push(r);
      const sub = walk(dir, r);
      out.files.push(...sub.files);
      out.dirs.push(...sub.dirs);
    } else {
      out.files.push(r);
    }
  }
  return out;
}

const ancestors = (rel: string): string[] => rel.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'));

test('watch through the operator: a simulated week of landings, Move to MinIO, each file in the first pass it is minAge old', { timeout: 600_000 }, async () => {
  assert.ok(op);
  const hostRoot = c.env.podRunner?.hostRoot ?? '/tmp';
  const landingDir = path.join(hostRoot, 'data', ns, 'landing');
  mkdirSync(landingDir, { recursive: true });
  const bucket = `week-${ns}`.slice(0, 63);
  const s3 = s3Client(c.env);
  await createBucket(s3, bucket);

  // 24 landings at irregular times over the week (deterministic), in nested directories that
  // fill up and empty again, some directly in the root.
  const rng = (i: number): number => ((i * 2654435761) % 997) / 997;
  const nextPass = (at: number): number => passAt(Math.max(0, Math.ceil((at - T0) / INTERVAL)));
  const ats = Array.from({ length: 24 }, (_, i) => T0 - 2 * HOUR + i * 7 * HOUR + Math.floor(rng(i) * 5 * HOUR));
  // Four land just before a pass. Younger than minAge at that pass: not taken by it, but by the next.
  ats[4] = nextPass(ats[4]!) - 10 * MIN;
  ats[9] = nextPass(ats[9]!) - 1 * MIN;
  ats[15] = nextPass(ats[15]!) - 29 * MIN;
  // Exactly minAge old at its pass: old enough (a file is left alone only while younger than minAge).
  ats[20] = nextPass(ats[20]!) - MIN_AGE;
  const landings: Landing[] = ats.map((at, i) => {
    const name = `f${String(i).padStart(2, '0')}.bin`;
    const rel = i % 4 === 0 ? name : `${['cam-a', 'cam-b', 'sensor/x'][i % 3]}/${iso(at).slice(0, 10)}/${name}`;
    // The first pass at or after the moment the file is minAge old.
    const pass = Math.max(0, Math.ceil((at + MIN_AGE - T0) / INTERVAL));
    return { rel, at, data: randomBytes(500 + Math.floor(rng(i + 7) * 20_000)), pass };
  });
  for (const i of [4, 9, 15]) assert.equal(landings[i]!.pass, Math.ceil((landings[i]!.at - T0) / INTERVAL) + 1, 'test setup: a late landing waits one pass');
  assert.ok(landings.every((l) => l.pass < PASSES), 'test setup: every landing is due within the week');
  assert.ok(landings.length >= 20);

  const written = new Set<string>();
  /** Lands every file due by `until`, with its simulated modification time. */
  const landUntil = (until: number): void => {
    for (const l of landings) {
      if (l.at > until || written.has(l.rel)) continue;
      const f = path.join(landingDir, l.rel);
      mkdirSync(path.dirname(f), { recursive: true });
      writeFileSync(f, l.data);
      utimesSync(f, new Date(l.at), new Date(l.at));
      written.add(l.rel);
    }
  };

  const seen = new Set<string>(); // S3 keys copied by the passes so far
  let status: DataSyncStatus | undefined;
  for (let k = 0; k < PASSES; k++) {
    const at = passAt(k);
    landUntil(at);
    if (k === 0) {
      // The clock already reads T0: the first pass starts as soon as the operator sees the DataSync.
      await createDataSync(c, ns, 'week', {
        source: { filesystem: { path: '/data/landing', volume: { hostPath: { path: landingDir } } } },
        destination: { s3: { bucket, prefix: 'in', endpoint: c.env.s3.endpoint, region: c.env.s3.region, forcePathStyle: true, credentialsSecretRef: { name: 'minio' } } },
        mode: 'Move', verify: 'Checksum', filters: { minAge: `${MIN_AGE / MIN}m` }, watch: { interval: `${INTERVAL / HOUR}h` },
        parallelism: { shards: 1 }, historyLimit: 30,
      });
    } else {
      op.clock.set(at);
      op.poke('week');
    }
    const id = watchRunId(at);
    status = await waitFor(`pass ${k} (${id}) recorded`, async () => {
      const s = (await getDataSync(c, ns, 'week')).status;
      return s?.lastRun?.id === id ? s : undefined;
    }, 150_000, 300);
    const run = status.lastRun!;
    const due = landings.filter((l) => l.pass === k);
    const why = `pass ${k} at ${iso(at)}: ${JSON.stringify(run)}`;
    assert.equal(run.outcome, 'Succeeded', why);
    assert.equal(run.trigger, 'Watch', why);
    assert.equal(run.startTime, iso(at), why);
    // The reconcile that recorded the pass started nothing else, and the next pass is one interval on.
    assert.equal(status.currentRun, undefined, `${why}; currentRun ${JSON.stringify(status.currentRun)}`);
    assert.equal(status.nextScheduleTime, iso(at + INTERVAL), why);

    // Exactly the files that are minAge old by now and were not taken before: no earlier, no later.
    const keys = await listKeys(s3, bucket, 'in/');
    const fresh = keys.filter((key) => !seen.has(key));
    assert.deepEqual(fresh, due.map((l) => l.rel).sort(), `S3 keys new after pass ${k}`);
    for (const key of fresh) seen.add(key);
    assert.equal(keys.length, seen.size, 'nothing disappeared from S3');
    assert.equal(run.filesCopied, due.length, why);
    assert.equal(run.filesDeleted, due.length, `${why}: Move deletes each copied source`);
    assert.equal(run.bytesCopied, due.reduce((n, l) => n + l.data.length, 0), why);
    assert.equal(run.filesFailed, 0, why);

    // Locally: the copied files are gone, the rest untouched, and no directory is left empty
    // (only those that still hold a file remain), while the landing root itself stays.
    const remaining = landings.filter((l) => written.has(l.rel) && l.pass > k).map((l) => l.rel).sort();
    const local = walk(landingDir);
    assert.deepEqual(local.files.sort(), remaining, `local files after pass ${k}`);
    assert.deepEqual(local.dirs.sort(), [...new Set(remaining.flatMap(ancestors))].sort(), `local directories after pass ${k}`);
  }

  // The week: ≥ 20 landings, the clock moved over ≥ 7 days, one recorded run per pass, and every
  // landing in S3 byte for byte.
  assert.ok(landings.length >= 20 && written.size === landings.length, `${written.size} of ${landings.length} landed`);
  assert.ok(passAt(PASSES - 1) - T0 >= 7 * DAY);
  assert.equal(op.clock.ms(), passAt(PASSES - 1));
  assert.deepEqual(status?.history?.map((r) => r.id), Array.from({ length: PASSES }, (_, k) => watchRunId(passAt(PASSES - 1 - k))));
  assert.ok(status?.history?.every((r) => r.outcome === 'Succeeded' && r.trigger === 'Watch'));
  const objects = await readBucket(s3, bucket, 'in/');
  assert.equal(objects.size, landings.length);
  for (const l of landings) assert.equal(sha256(objects.get(l.rel) ?? Buffer.alloc(0)), sha256(l.data), `${l.rel} byte for byte`);
  assert.ok(existsSync(landingDir), 'the landing root survives');
  assert.deepEqual(readdirSync(landingDir), [], 'everything was moved');

  // The operator wrote the pass's start on its clock into the run config as asOf (the last run's
  // objects are kept): that is what the planner measured minAge against.
  const lastId = watchRunId(passAt(PASSES - 1));
  const cm = await c.kube.core.readNamespacedConfigMap({ namespace: ns, name: runObjectName('week', lastId) });
  assert.equal(JSON.parse(cm.data?.['run.json'] ?? '{}').asOf, iso(passAt(PASSES - 1)));
});
