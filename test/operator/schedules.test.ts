// Schedules on the real control plane with the production Controller run in this process on an
// injected clock (the pod runner runs the Jobs in real time):
// - startingDeadlineSeconds: a slot missed while the operator was "down" (the clock jumps over it)
//   is skipped when older than the deadline and run once, late but as of its slot, without one;
//   times follow the DataSync's timeZone, across a DST change, as seen in status on the API server.
// - concurrencyPolicy on a run stalled on its store: Replace cancels it at the next slot and the
//   new run succeeds once the store answers; Forbid starts nothing while it is active, and runs the
//   slot it missed after it ends.
// The tests share one clock, which only moves forward: the deadline test needs it at real now when
// it starts (no slot between creation and the clock), so it comes first.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DataSyncSpec, DataSyncStatus } from '../../api/types.ts';
import { LABEL_NAME, LABEL_RUN, runObjectName } from '../../operator/names.ts';
import {
  cluster, cleanupApi, cleanupNamespace, installApi, createNamespace, createDataSync, getDataSync, startInProcessOperator, waitFor,
  MIN, HOUR, DAY, iso, type Cluster, type InProcessOperator,
} from './cluster.ts';
import { s3Client, createBucket, readBucket, sha256 } from './s3.ts';
import { startStallProxy, type StallProxy } from './stall-proxy.ts';

/** The operator's schedule run ID, written out here: s + yyyymmddhhmm (UTC) of the slot. */
const scheduleRunId = (ms: number): string => `s${iso(ms).replace(/[-:T]/g, '').slice(0, 12)}`;

let c: Cluster;
let ns: string;
let op: InProcessOperator | undefined;
const proxies: StallProxy[] = [];

before(async () => {
  c = cluster();
  await installApi(c);
  ns = await createNamespace(c, 'opsched');
  await c.kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'minio' }, stringData: { accessKeyId: c.env.s3.accessKeyId, secretAccessKey: c.env.s3.secretAccessKey } } });
  op = startInProcessOperator(c, ns, Date.now());
});
after(async () => {
  for (const p of proxies) p.release(); // let stalled pods finish or be cancelled
  if (c && ns) await cleanupNamespace(c, ns); // while the controller runs: it releases the finalizers
  await op?.stop();
  for (const p of proxies) await p.close();
  if (c) await cleanupApi(c);
});

async function runIds(name: string): Promise<string[]> {
  const jobs = (await c.kube.batch.listNamespacedJob({ namespace: ns, labelSelector: `${LABEL_NAME}=${name}` })).items;
  return [...new Set(jobs.map((j) => j.metadata?.labels?.[LABEL_RUN] ?? ''))].sort();
}

async function status(name: string): Promise<DataSyncStatus> {
  return (await getDataSync(c, ns, name)).status ?? {};
}

/** Waits until status.lastRun is `id` (recorded, so ended). */
async function ended(name: string, id: string, timeoutMs = 120_000): Promise<DataSyncStatus> {
  return waitFor(`${name}: run ${id} recorded`, async () => {
    const s = await status(name);
    return s.lastRun?.id === id ? s : undefined;
  }, timeoutMs, 300);
}

async function runConfigAsOf(name: string, id: string): Promise<unknown> {
  const cm = await c.kube.core.readNamespacedConfigMap({ namespace: ns, name: runObjectName(name, id) });
  return JSON.parse(cm.data?.['run.json'] ?? '{}').asOf;
}

/** A few random files in a hostPath source directory; returns them by relative path. */
function sourceFiles(dir: string, count: number): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const data = randomBytes(3000 + i * 777);
    writeFileSync(path.join(dir, `part-${i}.bin`), data);
    files.set(`part-${i}.bin`, data);
  }
  return files;
}

// '30 2 * * *' in America/New_York, computed here from the wall clock Intl reports rather than by the
// operator's cron library: each day's 02:30 local time; on the day clocks spring forward, 02:30 does
// not exist and the run is an hour later, 03:30 EDT (not skipped).
const nyClock = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hourCycle: 'h23', hour: '2-digit', minute: '2-digit' });
const nyHHMM = (ms: number): string => nyClock.format(new Date(ms));
const isNySlot = (ms: number): boolean => nyHHMM(ms) === '02:30' || (nyHHMM(ms) === '03:30' && nyHHMM(ms - HOUR) === '01:30');
/** New York's UTC offset is whole hours, so every slot lies at minute 30 of a UTC hour. */
function nySlotAfter(ms: number): number {
  let t = Math.floor(ms / HOUR) * HOUR + 30 * MIN;
  while (t <= ms || !isNySlot(t)) t += HOUR;
  return t;
}
function nySlotAtOrBefore(ms: number): number {
  let t = Math.floor(ms / HOUR) * HOUR + 30 * MIN;
  while (t > ms || !isNySlot(t)) t -= HOUR;
  return t;
}
/** Noon UTC on the Saturday before the next US spring-forward Sunday (second Sunday of March) after `ms`. */
function saturdayBeforeSpringForward(ms: number): number {
  for (let year = new Date(ms).getUTCFullYear(); ; year++) {
    const march1 = new Date(Date.UTC(year, 2, 1));
    const secondSunday = 1 + ((7 - march1.getUTCDay()) % 7) + 7;
    const saturdayNoon = Date.UTC(year, 2, secondSunday - 1, 12);
    if (saturdayNoon > ms + DAY) return saturdayNoon;
  }
}

test('startingDeadlineSeconds skips a slot missed while the operator was down; without it the missed slot runs once, as of its time; America/New_York across the spring-forward change', { timeout: 240_000 }, async () => {
  assert.ok(op);
  const hostRoot = c.env.podRunner?.hostRoot ?? '/tmp';
  const spec = (name: string, over: Partial<DataSyncSpec>): DataSyncSpec => {
    const dir = path.join(hostRoot, 'data', ns, name);
    sourceFiles(path.join(dir, 'in'), 2);
    return {
      source: { filesystem: { path: '/data/in', volume: { hostPath: { path: path.join(dir, 'in') } } } },
      destination: { filesystem: { path: '/data/out', volume: { hostPath: { path: path.join(dir, 'out') } } } },
      schedule: '30 2 * * *', timeZone: 'America/New_York',
      ...over,
    };
  };
  const start = op.clock.ms();
  await createDataSync(c, ns, 'deadline', spec('deadline', { startingDeadlineSeconds: 600 }));
  await createDataSync(c, ns, 'catchup', spec('catchup', {}));

  // Before anything is missed: the next slot, in UTC, from New York's wall clock.
  const first = nySlotAfter(start);
  for (const name of ['deadline', 'catchup']) {
    const s = await waitFor(`${name}: nextScheduleTime`, async () => { const x = await status(name); return x.nextScheduleTime ? x : undefined; }, 30_000);
    assert.equal(s.nextScheduleTime, iso(first), `${name}: 02:30 in New York is ${iso(first)}`);
    assert.deepEqual(await runIds(name), []);
  }

  // The operator is "down" until Saturday noon UTC before the spring-forward Sunday: Saturday's
  // 02:30 EST slot (and every slot since creation) passed without it.
  const saturdayNoon = saturdayBeforeSpringForward(start);
  const missed = nySlotAtOrBefore(saturdayNoon);
  const sunday = nySlotAfter(saturdayNoon);
  const monday = nySlotAfter(sunday);
  assert.equal(sunday - missed, DAY, 'test setup: Saturday 02:30 EST and Sunday 03:30 EDT are 24 h apart');
  assert.equal(monday - sunday, 23 * HOUR, 'test setup: Monday 02:30 EDT is 23 h after Sunday 03:30 EDT');
  assert.ok(saturdayNoon - missed > 600_000, 'test setup: the missed slot is older than the deadline');
  op.clock.set(saturdayNoon);
  op.poke('deadline');
  op.poke('catchup');

  // Without a deadline: the missed slot runs once, late, named after and planned as of its slot.
  const caught = await ended('catchup', scheduleRunId(missed));
  assert.equal(caught.lastRun?.outcome, 'Succeeded', JSON.stringify(caught.lastRun));
  assert.equal(caught.lastRun?.trigger, 'Schedule');
  assert.equal(caught.lastRun?.startTime, iso(saturdayNoon), 'started when the operator came back');
  assert.equal(caught.lastRun?.filesCopied, 2);
  assert.equal(caught.lastScheduleTime, iso(missed));
  assert.equal(await runConfigAsOf('catchup', scheduleRunId(missed)), iso(missed), 'the late run plans as of its slot');
  assert.deepEqual(caught.history?.map((r) => r.id), [scheduleRunId(missed)], 'the missed slots since creation collapse into one run');
  assert.equal(caught.nextScheduleTime, iso(sunday));

  // With the deadline: the same reconcile time starts nothing. Once nextScheduleTime shows the
  // operator decided at Saturday noon, no run exists (Jobs are created before status is written).
  const skipped = await waitFor('deadline: nextScheduleTime moved on', async () => {
    const s = await status('deadline');
    return s.nextScheduleTime === iso(sunday) ? s : undefined;
  }, 30_000);
  assert.deepEqual(await runIds('deadline'), []);
  assert.equal(skipped.currentRun, undefined);
  assert.equal(skipped.lastRun, undefined);
  assert.equal(skipped.lastScheduleTime, undefined);

  // Sunday, the day of the change: the announced 03:30 EDT run starts on time (a minute late is
  // within the deadline), and the next one is 02:30 EDT.
  op.clock.set(sunday + MIN);
  op.poke('deadline');
  op.poke('catchup');
  for (const name of ['deadline', 'catchup']) {
    const s = await ended(name, scheduleRunId(sunday));
    assert.equal(s.lastRun?.outcome, 'Succeeded', `${name}: ${JSON.stringify(s.lastRun)}`);
    assert.equal(s.lastScheduleTime, iso(sunday));
    assert.equal(s.nextScheduleTime, iso(monday), name);
    assert.equal(await runConfigAsOf(name, scheduleRunId(sunday)), iso(sunday), name);
  }
  assert.deepEqual((await status('deadline')).history?.map((r) => r.id), [scheduleRunId(sunday)]);
  assert.deepEqual((await status('catchup')).history?.map((r) => r.id), [scheduleRunId(sunday), scheduleRunId(missed)]);
});

test('concurrencyPolicy with a run stalled on its store: Replace cancels it at the next slot and the new run succeeds; Forbid starts nothing until it ends', { timeout: 240_000 }, async () => {
  assert.ok(op);
  const hostRoot = c.env.podRunner?.hostRoot ?? '/tmp';
  const s3 = s3Client(c.env);
  const setups = new Map<string, { files: Map<string, Buffer>; bucket: string; proxy: StallProxy }>();
  // Slots every hour. The clock is set to one before creation, so each first run starts at once.
  const h1 = Math.floor(op.clock.ms() / HOUR) * HOUR + HOUR;
  const h2 = h1 + HOUR;
  op.clock.set(h1);
  for (const [name, policy] of [['replace', 'Replace'], ['forbid', 'Forbid']] as const) {
    const files = sourceFiles(path.join(hostRoot, 'data', ns, name), 3);
    const bucket = `${name}-${ns}`.slice(0, 63);
    await createBucket(s3, bucket);
    // The store hangs from the start: the first run blocks on its first request.
    const proxy = await startStallProxy(c.env.s3.endpoint, { stalled: true });
    proxies.push(proxy);
    setups.set(name, { files, bucket, proxy });
    await createDataSync(c, ns, name, {
      source: { filesystem: { path: '/data/in', volume: { hostPath: { path: path.join(hostRoot, 'data', ns, name) } } } },
      destination: { s3: { bucket, endpoint: proxy.url, region: c.env.s3.region, forcePathStyle: true, credentialsSecretRef: { name: 'minio' } } },
      schedule: '0 * * * *', concurrencyPolicy: policy,
    });
  }
  const [first, second] = [scheduleRunId(h1), scheduleRunId(h2)];

  // Both first runs are active and stuck on the store.
  for (const [name, { proxy }] of setups) {
    await waitFor(`${name}: run ${first} stalled on the store`, async () => {
      const s = await status(name);
      return s.currentRun?.id === first && proxy.held() > 0;
    }, 90_000, 300);
  }

  // The next slot comes while they are stalled.
  op.clock.set(h2);
  op.poke('replace');
  op.poke('forbid');

  // Replace: the stalled run is cancelled (its Jobs deleted, recorded as replaced) and the new one started.
  const replaced = await waitFor('replace: new run started', async () => {
    const s = await status('replace');
    return s.currentRun?.id === second ? s : undefined;
  }, 30_000);
  assert.equal(replaced.lastRun?.id, first);
  assert.equal(replaced.lastRun?.outcome, 'Failed');
  assert.match(replaced.lastRun?.message ?? '', new RegExp(`replaced by run ${second} \\(concurrencyPolicy Replace\\)`));
  assert.equal(replaced.history?.[0]?.id, first);
  assert.equal(replaced.lastScheduleTime, iso(h2));
  const events = (await c.kube.core.listNamespacedEvent({ namespace: ns })).items.filter((e) => e.involvedObject.name === 'replace');
  assert.ok(events.some((e) => e.reason === 'RunReplaced' && (e.message ?? '').includes(`run ${first} cancelled`)), JSON.stringify(events.map((e) => [e.reason, e.message])));
  // The cancelled run's Jobs and its stalled pod go away.
  await waitFor('replace: the cancelled run\'s Jobs and pods gone', async () => {
    const pods = (await c.kube.core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_NAME}=replace,${LABEL_RUN}=${first}` })).items;
    return JSON.stringify(await runIds('replace')) === JSON.stringify([second]) && pods.length === 0;
  }, 60_000, 500);

  // Forbid: the operator decided at the new slot (nextScheduleTime moved on) and started nothing.
  const forbidden = await waitFor('forbid: reconciled at the new slot', async () => {
    const s = await status('forbid');
    return s.nextScheduleTime === iso(h2 + HOUR) ? s : undefined;
  }, 30_000);
  assert.equal(forbidden.currentRun?.id, first);
  assert.deepEqual(await runIds('forbid'), [first]);
  assert.equal(forbidden.lastRun, undefined);

  // The store answers again.
  for (const { proxy } of setups.values()) proxy.release();

  // Replace: the new run succeeds, byte for byte, planned as of its slot.
  const r = await ended('replace', second);
  assert.equal(r.lastRun?.outcome, 'Succeeded', JSON.stringify(r.lastRun));
  assert.deepEqual(r.history?.map((x) => [x.id, x.outcome]), [[second, 'Succeeded'], [first, 'Failed']]);
  assert.equal(await runConfigAsOf('replace', second), iso(h2));
  // Forbid: the stalled run finishes, then the slot it held back runs once.
  const f = await ended('forbid', second);
  assert.deepEqual(f.history?.map((x) => [x.id, x.outcome]), [[second, 'Succeeded'], [first, 'Succeeded']]);
  assert.equal(f.history?.[1]?.filesCopied, 3, 'the first run copied everything');

  for (const [name, { files, bucket }] of setups) {
    const landed = await readBucket(s3, bucket); // straight from MinIO, not through the proxy
    assert.deepEqual([...landed.keys()].sort(), [...files.keys()].sort(), name);
    for (const [rel, data] of files) assert.equal(sha256(landed.get(rel)!), sha256(data), `${name}: ${rel} byte for byte`);
  }
});
