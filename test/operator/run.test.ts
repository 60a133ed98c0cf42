// A real run on the test cluster: filesystem (hostPath) → MinIO with 4 shards, the copier executed by
// the local pod runner. Status moves through the phases with rising counts, the final counts equal
// what landed in MinIO byte for byte, the Jobs have the promised shape, and no credential leaks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSync } from '../../api/types.ts';
import { cluster, cleanupApi, cleanupNamespace, installApi, createNamespace, startOperator, createDataSync, getDataSync, waitFor, type Cluster, type OperatorProcess } from './cluster.ts';
import { s3Client, createBucket, readBucket } from './s3.ts';
import { LABEL_NAME, LABEL_RUN } from '../../operator/names.ts';
import { MERGE_PATCH } from '../../operator/kube.ts';
import { parseSummary, runProgress } from '../../operator/policy/run-state.ts';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';

let c: Cluster;
let ns: string;
let op: OperatorProcess;
before(async () => {
  c = cluster();
  await installApi(c);
  ns = await createNamespace(c, 'oprun');
  op = startOperator(c, ['--namespaces', ns, '--leader-elect', 'false', '--log-level', 'debug']);
  await c.kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'minio' }, stringData: { accessKeyId: c.env.s3.accessKeyId, secretAccessKey: c.env.s3.secretAccessKey } } });
});
after(async () => { await cleanupNamespace(c, ns); await op?.stop(); await cleanupApi(c); });

function makeSourceTree(dir: string, files: number, size: number): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (let i = 0; i < files; i++) {
    const rel = `day=${String(i % 3).padStart(2, '0')}/part-${String(i).padStart(4, '0')}.bin`;
    const data = randomBytes(size + i * 1024);
    mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), data);
    out.set(rel, data);
  }
  return out;
}

test('filesystem → MinIO with 4 shards: phases, rising progress, exact final counts and bytes', { timeout: 240_000 }, async () => {
  const hostRoot = c.env.podRunner?.hostRoot ?? '/tmp';
  const srcDir = path.join(hostRoot, 'data', ns, 'src');
  const expected = makeSourceTree(srcDir, 24, 256 * 1024);
  const totalBytes = [...expected.values()].reduce((n, b) => n + b.length, 0);
  const bucket = `run-${ns}`.slice(0, 63);
  const s3 = s3Client(c.env);
  await createBucket(s3, bucket);

  await createDataSync(c, ns, 'fs-to-minio', {
    source: { filesystem: { path: '/data/src', volume: { hostPath: { path: srcDir } } } },
    destination: { s3: { bucket, prefix: 'landing', endpoint: c.env.s3.endpoint, region: c.env.s3.region, forcePathStyle: true, credentialsSecretRef: { name: 'minio' } } },
    parallelism: { shards: 4, transfersPerShard: 2 },
    // Slow enough that status is sampled mid-copy.
    bandwidthLimit: '1Mi',
  });

  const phases: string[] = [];
  const copied: number[] = [];
  let sawLiveShard = false;
  let ds: DataSync | undefined;
  const deadline = Date.now() + 200_000;
  while (Date.now() < deadline) {
    ds = await getDataSync(c, ns, 'fs-to-minio');
    const phase = ds.status?.phase;
    if (phase && phases.at(-1) !== phase) phases.push(phase);
    const b = ds.status?.currentRun?.progress?.bytesCopied;
    if (b !== undefined && copied.at(-1) !== b) copied.push(b);
    // A running shard's numbers can only come from its pod's live progress annotation.
    if (ds.status?.currentRun?.shards?.some((s) => s.state === 'Running' && s.bytesDone > 0)) sawLiveShard = true;
    if (phase === 'Succeeded' || phase === 'Failed') break;
    await sleep(300);
  }
  assert.ok(ds?.status, 'status written');
  const st = ds.status;
  assert.equal(st.phase, 'Succeeded', `phases ${phases.join(' → ')}; lastRun ${JSON.stringify(st.lastRun)}\n${op.logs().slice(-3000)}`);
  assert.ok(phases.includes('Copying'), `phases ${phases.join(' → ')}`);
  assert.ok(copied.length >= 2, `progress samples ${copied.join(', ')}`);
  assert.ok(sawLiveShard, 'live per-shard progress of a running shard appeared in status');
  for (let i = 1; i < copied.length; i++) assert.ok((copied[i] ?? 0) >= (copied[i - 1] ?? 0), `progress never decreases: ${copied.join(', ')}`);

  const last = st.lastRun!;
  assert.equal(last.outcome, 'Succeeded');
  assert.equal(last.filesCopied, expected.size);
  assert.equal(last.bytesCopied, totalBytes);
  assert.equal(last.filesFailed, 0);
  assert.equal(st.history?.[0]?.id, last.id);
  assert.equal(st.lastRunGeneration, 1);
  assert.ok(st.lastSuccessfulTime);
  const ready = st.conditions?.find((x) => x.type === 'Ready');
  assert.equal(ready?.status, 'True');
  assert.equal(ready?.observedGeneration, 1);

  const landed = await readBucket(s3, bucket, 'landing/');
  assert.equal(landed.size, expected.size);
  assert.equal([...landed.values()].reduce((n, b) => n + b.length, 0), last.bytesCopied);
  for (const [rel, data] of expected) assert.ok(landed.get(rel)?.equals(data), `${rel} landed byte for byte`);

  // The Jobs: plan, one Indexed copy Job with 4 completions, commit — each exactly once.
  const jobs = (await c.kube.batch.listNamespacedJob({ namespace: ns, labelSelector: `${LABEL_NAME}=fs-to-minio` })).items;
  assert.deepEqual(jobs.map((j) => j.metadata?.name).sort(), [`fs-to-minio-${last.id}-commit`, `fs-to-minio-${last.id}-copy`, `fs-to-minio-${last.id}-plan`]);
  const copyJob = jobs.find((j) => j.metadata?.name?.endsWith('-copy'))!;
  assert.equal(copyJob.spec?.completionMode, 'Indexed');
  assert.equal(copyJob.spec?.completions, 4);
  assert.ok(copyJob.spec?.backoffLimitPerIndex !== undefined);
  assert.deepEqual(copyJob.spec?.podFailurePolicy?.rules[0]?.onExitCodes?.values, [3]);
  assert.equal(copyJob.spec?.podFailurePolicy?.rules[0]?.action, 'FailIndex');
  const pod = copyJob.spec?.template.spec;
  assert.equal(pod?.securityContext?.runAsNonRoot, true);
  assert.equal(pod?.containers[0]?.securityContext?.readOnlyRootFilesystem, true);
  assert.deepEqual(pod?.containers[0]?.securityContext?.capabilities?.drop, ['ALL']);

  const events = (await c.kube.core.listNamespacedEvent({ namespace: ns })).items.filter((e) => e.involvedObject.name === 'fs-to-minio');
  assert.ok(events.some((e) => e.reason === 'RunStarted'));
  assert.ok(events.some((e) => e.reason === 'RunSucceeded'));

  // No credential text in status, events or operator logs.
  const secret = c.env.s3.secretAccessKey;
  assert.ok(!JSON.stringify(st).includes(secret));
  assert.ok(!JSON.stringify(events).includes(secret));
  assert.ok(!op.logs().includes(secret));

  // Level-triggered and idempotent: nothing new happens on its own, and no second run starts.
  await sleep(3000);
  const again = await getDataSync(c, ns, 'fs-to-minio');
  assert.equal(again.status?.lastRun?.id, last.id);
  assert.equal(again.status?.currentRun, undefined);
});

test('1 file with the default 4 shards runs 1 copy pod; a run with nothing to copy runs no copy Job', { timeout: 240_000 }, async () => {
  const hostRoot = c.env.podRunner?.hostRoot ?? '/tmp';
  const srcDir = path.join(hostRoot, 'data', ns, 'single-src');
  const expected = makeSourceTree(srcDir, 1, 64 * 1024);
  const bucket = `one-${ns}`.slice(0, 63);
  const s3 = s3Client(c.env);
  await createBucket(s3, bucket);
  await createDataSync(c, ns, 'single', {
    source: { filesystem: { path: '/data/src', volume: { hostPath: { path: srcDir } } } },
    destination: { s3: { bucket, endpoint: c.env.s3.endpoint, region: c.env.s3.region, forcePathStyle: true, credentialsSecretRef: { name: 'minio' } } },
  });
  const ended = async (id: string) => waitFor(`run ${id} ended`, async () => {
    const s = (await getDataSync(c, ns, 'single')).status;
    return s?.lastRun?.id === id && !s.currentRun ? s : undefined;
  }, 180_000, 500);
  const runObjects = async (id: string) => {
    const selector = `${LABEL_NAME}=single,${LABEL_RUN}=${id}`;
    const jobs = (await c.kube.batch.listNamespacedJob({ namespace: ns, labelSelector: selector })).items;
    const copyPods = (await c.kube.core.listNamespacedPod({ namespace: ns, labelSelector: `${selector},datasync.dev/step=copy` })).items;
    return { jobs: jobs.map((j) => j.metadata?.name?.replace(`single-${id}-`, '')).sort(), copyJob: jobs.find((j) => j.metadata?.name?.endsWith('-copy')), copyPods };
  };

  const first = await ended('g1');
  assert.equal(first.lastRun?.outcome, 'Succeeded', JSON.stringify(first.lastRun));
  assert.equal(first.lastRun?.filesCopied, expected.size);
  const one = await runObjects('g1');
  assert.deepEqual(one.jobs, ['commit', 'copy', 'plan']);
  assert.equal(one.copyJob?.spec?.completions, 1, 'one index: the plan has work for one shard');
  assert.equal(one.copyJob?.spec?.parallelism, 1);
  assert.equal(one.copyPods.length, 1, 'one copy pod, not parallelism.shards of them');

  // A spec change starts run g2; the file is already there, so there is nothing to copy.
  await c.kube.custom.patchNamespacedCustomObject({ group: 'datasync.dev', version: 'v1alpha1', namespace: ns, plural: 'datasyncs', name: 'single', body: { spec: { historyLimit: 5 } } }, MERGE_PATCH);
  const second = await ended('g2');
  assert.equal(second.lastRun?.outcome, 'Succeeded', JSON.stringify(second.lastRun));
  assert.equal(second.lastRun?.filesCopied, 0);
  assert.equal(second.lastRun?.filesSkipped, 1);
  const none = await runObjects('g2');
  assert.deepEqual(none.jobs, ['commit', 'plan'], 'no copy Job');
  assert.equal(none.copyPods.length, 0);
  assert.equal((await readBucket(s3, bucket)).size, 1);
});

test('the operator killed mid-run and restarted creates no duplicate Jobs and the run completes', { timeout: 240_000 }, async () => {
  const hostRoot = c.env.podRunner?.hostRoot ?? '/tmp';
  const srcDir = path.join(hostRoot, 'data', ns, 'restart-src');
  const expected = makeSourceTree(srcDir, 16, 256 * 1024);
  const bucket = `rs-${ns}`.slice(0, 63);
  const s3 = s3Client(c.env);
  await createBucket(s3, bucket);
  await createDataSync(c, ns, 'restart', {
    source: { filesystem: { path: '/data/src', volume: { hostPath: { path: srcDir } } } },
    destination: { s3: { bucket, endpoint: c.env.s3.endpoint, region: c.env.s3.region, forcePathStyle: true, credentialsSecretRef: { name: 'minio' } } },
    parallelism: { shards: 4 },
    bandwidthLimit: '1Mi',
  });
  await waitFor('Copying', async () => (await getDataSync(c, ns, 'restart')).status?.phase === 'Copying', 90_000, 200);
  op.child.kill('SIGKILL');
  await op.stop();
  await sleep(2000);
  op = startOperator(c, ['--namespaces', ns, '--leader-elect', 'false']);
  const done = await waitFor('run ended', async () => {
    const s = (await getDataSync(c, ns, 'restart')).status;
    return s?.phase === 'Succeeded' || s?.phase === 'Failed' ? s : undefined;
  }, 180_000, 500);
  assert.equal(done.phase, 'Succeeded', JSON.stringify(done.lastRun));
  assert.equal(done.history?.length, 1);
  assert.equal(done.lastRun?.filesCopied, expected.size);
  const jobs = (await c.kube.batch.listNamespacedJob({ namespace: ns, labelSelector: `${LABEL_NAME}=restart` })).items;
  assert.equal(jobs.length, 3, jobs.map((j) => j.metadata?.name).join(', '));
  const pods = (await c.kube.core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_NAME}=restart,datasync.dev/step=copy` })).items;
  assert.equal(pods.length, 4, 'one copy pod per shard: nothing was created twice');
  assert.equal((await readBucket(s3, bucket)).size, expected.size);
});

test('bad credentials and unreachable storage set Degraded naming the endpoint, with no credential text anywhere', { timeout: 180_000 }, async () => {
  const wrongSecret = `wrong-${randomBytes(12).toString('hex')}`;
  await c.kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'bad-creds' }, stringData: { accessKeyId: c.env.s3.accessKeyId, secretAccessKey: wrongSecret } } });
  const bucket = `bad-${ns}`.slice(0, 63);
  await createBucket(s3Client(c.env), bucket);
  const hostRoot = c.env.podRunner?.hostRoot ?? '/tmp';
  const srcDir = path.join(hostRoot, 'data', ns, 'bad-src');
  makeSourceTree(srcDir, 2, 1024);
  const source = { filesystem: { path: '/data/src', volume: { hostPath: { path: srcDir } } } };
  await createDataSync(c, ns, 'bad-creds', { source, destination: { s3: { bucket, endpoint: c.env.s3.endpoint, region: c.env.s3.region, forcePathStyle: true, credentialsSecretRef: { name: 'bad-creds' } } } });
  await createDataSync(c, ns, 'unreachable', { source, destination: { s3: { bucket: 'nowhere', endpoint: 'http://127.0.0.1:9', region: 'us-east-1', forcePathStyle: true, credentialsSecretRef: { name: 'minio' } } } });

  for (const [name, endpointText] of [['bad-creds', bucket], ['unreachable', '127.0.0.1:9']] as const) {
    const degraded = await waitFor(`${name} Degraded`, async () => {
      const cond = (await getDataSync(c, ns, name)).status?.conditions?.find((x) => x.type === 'Degraded');
      return cond?.status === 'True' ? cond : undefined;
    }, 150_000, 500);
    assert.ok(degraded.message.includes(endpointText), `${name}: ${degraded.message}`);
  }
  const statusText = JSON.stringify([await getDataSync(c, ns, 'bad-creds'), await getDataSync(c, ns, 'unreachable')]);
  const events = JSON.stringify((await c.kube.core.listNamespacedEvent({ namespace: ns })).items);
  const podLogs = readdirSync(path.join(hostRoot, 'logs')).filter((f) => f.startsWith(`${ns}_`)).map((f) => readFileSync(path.join(hostRoot, 'logs', f), 'utf8')).join('\n');
  for (const secret of [wrongSecret, c.env.s3.secretAccessKey]) {
    assert.ok(!statusText.includes(secret), 'no credential in status');
    assert.ok(!events.includes(secret), 'no credential in events');
    assert.ok(!op.logs().includes(secret), 'no credential in operator logs');
    assert.ok(!podLogs.includes(secret), 'no credential in copier logs');
  }
});

test('a shard that keeps failing leaves the run Failed, naming the file in status and in an Event', { timeout: 240_000 }, async () => {
  const hostRoot = c.env.podRunner?.hostRoot ?? '/tmp';
  const srcDir = path.join(hostRoot, 'data', ns, 'fail-src');
  makeSourceTree(srcDir, 3, 1024);
  // MinIO refuses object names over 1024 bytes: a permanent per-file failure.
  const longDir = Array.from({ length: 5 }, (_, i) => `${String(i)}${'d'.repeat(230)}`).join('/');
  mkdirSync(path.join(srcDir, longDir), { recursive: true });
  writeFileSync(path.join(srcDir, longDir, 'too-long.bin'), randomBytes(100));
  const bucket = `fl-${ns}`.slice(0, 63);
  await createBucket(s3Client(c.env), bucket);
  await createDataSync(c, ns, 'failing', {
    source: { filesystem: { path: '/data/src', volume: { hostPath: { path: srcDir } } } },
    destination: { s3: { bucket, endpoint: c.env.s3.endpoint, region: c.env.s3.region, forcePathStyle: true, credentialsSecretRef: { name: 'minio' } } },
    retry: { attemptsPerFile: 2, backoffLimitPerShard: 1 },
  });
  const st = await waitFor('run ended', async () => {
    const s = (await getDataSync(c, ns, 'failing')).status;
    return s?.phase === 'Succeeded' || s?.phase === 'Failed' ? s : undefined;
  }, 200_000, 500);
  assert.equal(st.phase, 'Failed', JSON.stringify(st.lastRun));
  assert.ok(st.lastRun?.failedFiles.some((f) => f.path.endsWith('too-long.bin')), JSON.stringify(st.lastRun));
  assert.equal(st.conditions?.find((x) => x.type === 'Degraded')?.status, 'True');
  const events = (await c.kube.core.listNamespacedEvent({ namespace: ns })).items.filter((e) => e.involvedObject.name === 'failing' && e.reason === 'RunFailed');
  assert.equal(events.length, 1);
  assert.match(events[0]?.message ?? '', /too-long\.bin/);
  const copyPods = (await c.kube.core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_NAME}=failing,datasync.dev/step=copy` })).items;
  const failedIndex = copyPods.filter((p) => p.status?.phase === 'Failed').map((p) => p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index']);
  assert.equal(failedIndex.length, 2, 'the failing shard was retried once (backoffLimitPerShard: 1)');
  assert.equal(new Set(failedIndex).size, 1, 'both failures are the same shard');
});

test('a spec change during a run: the run finishes with its frozen spec, then the new generation runs once', { timeout: 240_000 }, async () => {
  const hostRoot = c.env.podRunner?.hostRoot ?? '/tmp';
  const srcDir = path.join(hostRoot, 'data', ns, 'change-src');
  const expected = makeSourceTree(srcDir, 8, 256 * 1024);
  const bucket = `ch-${ns}`.slice(0, 63);
  const s3 = s3Client(c.env);
  await createBucket(s3, bucket);
  const destination = (prefix: string) => ({ s3: { bucket, prefix, endpoint: c.env.s3.endpoint, region: c.env.s3.region, forcePathStyle: true, credentialsSecretRef: { name: 'minio' } } });
  await createDataSync(c, ns, 'changing', {
    source: { filesystem: { path: '/data/src', volume: { hostPath: { path: srcDir } } } },
    destination: destination('v1'),
    parallelism: { shards: 2 },
    bandwidthLimit: '1Mi',
  });
  await waitFor('Copying', async () => (await getDataSync(c, ns, 'changing')).status?.phase === 'Copying', 90_000, 200);
  await c.kube.custom.patchNamespacedCustomObject({ group: 'datasync.dev', version: 'v1alpha1', namespace: ns, plural: 'datasyncs', name: 'changing', body: { spec: { destination: destination('v2') } } }, (await import('../../operator/kube.ts')).MERGE_PATCH);
  const st = await waitFor('second run ended', async () => {
    const s = (await getDataSync(c, ns, 'changing')).status;
    return s?.lastRun?.id === 'g2' && !s.currentRun ? s : undefined;
  }, 200_000, 500);
  assert.deepEqual(st.history?.map((r) => [r.id, r.outcome]), [['g2', 'Succeeded'], ['g1', 'Succeeded']]);
  assert.equal((await readBucket(s3, bucket, 'v1/')).size, expected.size, 'the first run wrote where its spec said');
  assert.equal((await readBucket(s3, bucket, 'v2/')).size, expected.size, 'the new generation ran once with the new spec');
  assert.equal(st.lastRunGeneration, 2);
});

test('a missing credentials Secret sets Degraded (PodsNotStarting) naming it, and the run waits', { timeout: 60_000 }, async () => {
  await createDataSync(c, ns, 'no-secret', {
    source: { filesystem: { path: '/data/src' } },
    destination: { s3: { bucket: 'whatever', endpoint: c.env.s3.endpoint, credentialsSecretRef: { name: 'not-created-yet' } } },
  });
  const cond = await waitFor('Degraded', async () => {
    const d = (await getDataSync(c, ns, 'no-secret')).status?.conditions?.find((x) => x.type === 'Degraded');
    return d?.status === 'True' ? d : undefined;
  }, 45_000, 500);
  assert.equal(cond.reason, 'PodsNotStarting');
  assert.match(cond.message, /not-created-yet/);
  assert.equal((await getDataSync(c, ns, 'no-secret')).status?.phase, 'Planning');
});

test('a shard whose pod dies once resumes on retry, the run completes, and status counts the resumed files', { timeout: 240_000 }, async () => {
  const hostRoot = c.env.podRunner?.hostRoot ?? '/tmp';
  const srcDir = path.join(hostRoot, 'data', ns, 'retry-src');
  const expected = makeSourceTree(srcDir, 8, 256 * 1024);
  const bucket = `rt-${ns}`.slice(0, 63);
  const s3 = s3Client(c.env);
  await createBucket(s3, bucket);
  await createDataSync(c, ns, 'retrying', {
    source: { filesystem: { path: '/data/src', volume: { hostPath: { path: srcDir } } } },
    destination: { s3: { bucket, endpoint: c.env.s3.endpoint, region: c.env.s3.region, forcePathStyle: true, credentialsSecretRef: { name: 'minio' } } },
    parallelism: { shards: 2 },
    bandwidthLimit: '256Ki', // 128 KiB/s per shard: about 2 s per file, 8 s per shard
    retry: { backoffLimitPerShard: 2 },
  });
  // The pod runner reports containerID local://<pid>: kill the first running copy container, as a node crash would.
  const victim = await waitFor('a running copy pod', async () => {
    const pods = (await c.kube.core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_NAME}=retrying,datasync.dev/step=copy` })).items;
    const running = pods.find((p) => p.status?.containerStatuses?.[0]?.state?.running && p.status.containerStatuses[0].containerID?.startsWith('local://'));
    return running;
  }, 90_000, 100);
  const index = victim.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'];
  // Once its shard has journalled a finished file, so that the next pod has something to resume.
  await waitFor('a journalled file', async () => {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: '.datasync/runs/' }));
    return page.Contents?.some((o) => o.Key?.includes(`/journal/shard-${String(index).padStart(4, '0')}/`)) || undefined;
  }, 60_000, 100);
  const pid = Number(victim.status?.containerStatuses?.[0]?.containerID?.slice('local://'.length));
  process.kill(pid, 'SIGKILL');
  // Sampled while the retried pod starts and runs: the run's percentage must not drop back.
  const percents: number[] = [];
  const st = await waitFor('run ended', async () => {
    const s = (await getDataSync(c, ns, 'retrying')).status;
    if (s?.currentRun?.progress?.percent !== undefined) percents.push(s.currentRun.progress.percent);
    return s?.phase === 'Succeeded' || s?.phase === 'Failed' ? s : undefined;
  }, 200_000, 100);
  assert.equal(st.phase, 'Succeeded', JSON.stringify(st.lastRun));
  // The killed pod's last report also counted the bytes of the file it was writing, which the
  // retried pod copies again: at most one file's share may be given back.
  const totalBytes = [...expected.values()].reduce((n, b) => n + b.length, 0);
  const oneFile = (100 * Math.max(...[...expected.values()].map((b) => b.length))) / totalBytes;
  for (let i = 1; i < percents.length; i++) assert.ok(percents[i]! >= percents[i - 1]! - oneFile - 0.1, `the percentage dropped: ${percents.join(', ')}`);
  const ofIndex = (await c.kube.core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_NAME}=retrying,datasync.dev/step=copy` })).items
    .filter((p) => p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index'] === index);
  assert.deepEqual(ofIndex.map((p) => p.status?.phase).sort(), ['Failed', 'Succeeded']);
  // The retried pod found the first one's files in the journal, and the status totals taken from
  // these pods count them as copied, as the commit's report does (not only the retried pod's own).
  const retried = ofIndex.find((p) => p.status?.phase === 'Succeeded')!;
  const summary = parseSummary(retried.status?.containerStatuses?.[0]?.state?.terminated?.message);
  assert.ok((summary?.filesResumed ?? 0) >= 1, `the retried pod resumed: ${JSON.stringify(summary?.raw)}`);
  const allCopyPods = (await c.kube.core.listNamespacedPod({ namespace: ns, labelSelector: `${LABEL_NAME}=retrying,datasync.dev/step=copy` })).items;
  const totals = runProgress({ files: expected.size, bytes: totalBytes, shards: 2 }, undefined, allCopyPods, new Date());
  assert.deepEqual([totals.filesCopied, totals.bytesCopied, totals.percent], [expected.size, totalBytes, 100]);
  assert.equal(st.lastRun?.filesCopied, expected.size);
  const landed = await readBucket(s3, bucket);
  assert.equal(landed.size, expected.size);
  for (const [rel, data] of expected) assert.ok(landed.get(rel)?.equals(data), rel);
});
