// Triggers and deletion on the real control plane: a cron schedule fires at its time and
// nextScheduleTime is right; suspend starts nothing; each new manual trigger value starts exactly
// one run; a DataSync deleted mid-run leaves no Jobs or pods and its finalizer is released.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { CronExpressionParser } from 'cron-parser';
import { GROUP, VERSION, PLURAL, type DataSyncSpec } from '../../api/types.ts';
import { MERGE_PATCH, isNotFound } from '../../operator/kube.ts';
import { LABEL_NAME, LABEL_RUN, FINALIZER } from '../../operator/names.ts';
import { cluster, cleanupApi, cleanupNamespace, installApi, createNamespace, startOperator, createDataSync, getDataSync, waitFor, type Cluster, type OperatorProcess } from './cluster.ts';

let c: Cluster;
let ns: string;
let op: OperatorProcess;
before(async () => {
  c = cluster();
  await installApi(c);
  ns = await createNamespace(c, 'optrig');
  op = startOperator(c, ['--namespaces', ns, '--leader-elect', 'false']);
});
after(async () => { await cleanupNamespace(c, ns); await op?.stop(); await cleanupApi(c); });

const spec = (over: Partial<DataSyncSpec> = {}): DataSyncSpec => ({
  source: { filesystem: { path: '/data/in' } },
  destination: { filesystem: { path: '/data/out' } },
  ...over,
});

async function runIds(name: string): Promise<string[]> {
  const jobs = (await c.kube.batch.listNamespacedJob({ namespace: ns, labelSelector: `${LABEL_NAME}=${name}` })).items;
  return [...new Set(jobs.map((j) => j.metadata?.labels?.[LABEL_RUN] ?? ''))].sort();
}

test('schedule fires at its time with the right nextScheduleTime; suspend starts nothing; manual values start one run each', { timeout: 150_000 }, async () => {
  // Create well before a minute boundary, so the first observation precedes the first firing.
  while (new Date().getUTCSeconds() > 40) await sleep(1000);
  await createDataSync(c, ns, 'every-minute', spec({ schedule: '* * * * *' }));
  await createDataSync(c, ns, 'suspended', spec({ schedule: '* * * * *', suspend: true }));
  await createDataSync(c, ns, 'manual', spec({ schedule: '0 0 1 1 *', trigger: { manual: 'first' } }));

  // nextScheduleTime is the next minute boundary after creation, before anything ran.
  const first = await waitFor('nextScheduleTime', async () => (await getDataSync(c, ns, 'every-minute')).status?.nextScheduleTime, 20_000);
  const created = new Date(String((await getDataSync(c, ns, 'every-minute')).metadata['creationTimestamp']));
  const expectedNext = CronExpressionParser.parse('* * * * *', { currentDate: created, tz: 'UTC' }).next().toDate();
  assert.equal(new Date(first).toISOString(), expectedNext.toISOString());
  assert.deepEqual(await runIds('every-minute'), [], 'no run before the schedule time');

  // The manual value started exactly one run, echoed into status.
  await waitFor('manual run recorded', async () => (await getDataSync(c, ns, 'manual')).status?.lastManualTrigger === 'first', 20_000);
  assert.equal((await runIds('manual')).length, 1);
  assert.match((await getDataSync(c, ns, 'manual')).status?.currentRun?.id ?? (await getDataSync(c, ns, 'manual')).status?.lastRun?.id ?? '', /^m\d+-/);

  // At the scheduled time one run starts, named after that time; nextScheduleTime moves on a minute.
  const fired = await waitFor('scheduled run', async () => {
    const ids = await runIds('every-minute');
    return ids.length ? ids : undefined;
  }, expectedNext.getTime() - Date.now() + 20_000, 500);
  const stamp = expectedNext.toISOString().replace(/[-:T]/g, '').slice(0, 12);
  assert.deepEqual(fired, [`s${stamp}`]);
  const after = await waitFor('nextScheduleTime advanced', async () => {
    const s = (await getDataSync(c, ns, 'every-minute')).status;
    return s?.nextScheduleTime && new Date(s.nextScheduleTime).getTime() > expectedNext.getTime() ? s : undefined;
  }, 15_000);
  assert.equal(new Date(after.nextScheduleTime!).getTime(), expectedNext.getTime() + 60_000);
  assert.equal(after.lastScheduleTime && new Date(after.lastScheduleTime).toISOString(), expectedNext.toISOString());

  // Suspended: the same minute passed and nothing started.
  assert.deepEqual(await runIds('suspended'), []);
  const suspended = await getDataSync(c, ns, 'suspended');
  assert.equal(suspended.status?.phase, 'Suspended');
  assert.equal(suspended.status?.nextScheduleTime, undefined);

  // A new manual value: exactly one more run; re-reconciles do not add a third.
  await c.kube.custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: 'manual', body: { spec: { trigger: { manual: 'second' } } } }, MERGE_PATCH);
  await waitFor('second manual run', async () => (await runIds('manual')).length === 2 || ((await getDataSync(c, ns, 'manual')).status?.lastManualTrigger === 'second'), 20_000);
  await sleep(4000);
  assert.equal((await getDataSync(c, ns, 'manual')).status?.lastManualTrigger, 'second');
  const history = (await getDataSync(c, ns, 'manual')).status?.history ?? [];
  const allRuns = new Set([...history.map((r) => r.id), ...(await runIds('manual'))]);
  assert.equal(allRuns.size, 2, `runs: ${[...allRuns].join(', ')}`);
});

/** A run that stays in Copying for a while: hostPath source → hostPath destination, throttled. */
function slowSpec(dir: string): DataSyncSpec {
  const src = path.join(dir, 'src');
  for (let i = 0; i < 6; i++) {
    mkdirSync(src, { recursive: true });
    writeFileSync(path.join(src, `f${i}.bin`), randomBytes(256 * 1024));
  }
  return spec({
    source: { filesystem: { path: '/data/in', volume: { hostPath: { path: src } } } },
    destination: { filesystem: { path: '/data/out', volume: { hostPath: { path: path.join(dir, 'dst') } } } },
    parallelism: { shards: 2 },
    bandwidthLimit: '64Ki',
  });
}

async function waitGone(namespace: string, name: string): Promise<void> {
  await waitFor(`${name} gone`, async () => {
    try {
      await c.kube.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name });
      return false;
    } catch (err) { return isNotFound(err); }
  }, 60_000, 500);
}

test('deleting a DataSync mid-run removes its Jobs and pods and releases the finalizer', { timeout: 150_000 }, async () => {
  await createDataSync(c, ns, 'doomed', slowSpec(path.join(c.env.podRunner?.hostRoot ?? '/tmp', 'data', ns, 'doomed')));
  await waitFor('copying with running pods', async () => {
    const ds = await getDataSync(c, ns, 'doomed');
    const pods = (await c.kube.core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_NAME}=doomed,datasync.dev/step=copy` })).items;
    return ((ds.metadata['finalizers'] as string[] | undefined) ?? []).includes(FINALIZER) && ds.status?.phase === 'Copying' && pods.some((p) => p.status?.phase === 'Running');
  }, 90_000, 300);
  await c.kube.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: 'doomed' });
  await waitGone(ns, 'doomed');
  const selector = `${LABEL_NAME}=doomed`;
  await waitFor('no Jobs or pods left', async () => {
    const jobs = (await c.kube.batch.listNamespacedJob({ namespace: ns, labelSelector: selector })).items;
    const pods = (await c.kube.core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
    return jobs.length === 0 && pods.length === 0;
  }, 30_000);
});
