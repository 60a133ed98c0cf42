import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { runStage, groupRunObjects, shardStatuses, runProgress, parsePlanResult, parseIndexSet, buildReport, failureMessage } from './run-state.ts';
import { runJob } from '../resources.ts';
import type { DataSync } from '../../api/types.ts';

const job = (step: string, state?: 'Complete' | 'Failed', extra: Partial<V1Job> = {}): V1Job => ({
  metadata: { name: `x-${step}`, labels: { 'datasync.dev/step': step } },
  status: { ...(state ? { conditions: [{ type: state, status: 'True' }] } : {}), ...(extra.status ?? {}) },
  ...(extra.metadata ? { metadata: { ...extra.metadata, labels: { 'datasync.dev/step': step } } } : {}),
});
const pod = (step: string, opts: { index?: number; exitCode?: number; message?: string; progress?: object; phase?: string; created?: string } = {}): V1Pod => ({
  metadata: {
    name: `p-${step}-${opts.index ?? 0}-${opts.created ?? ''}`,
    labels: { 'datasync.dev/step': step },
    creationTimestamp: new Date(opts.created ?? '2026-01-01T00:00:00Z'),
    annotations: {
      ...(opts.index !== undefined ? { 'batch.kubernetes.io/job-completion-index': String(opts.index) } : {}),
      ...(opts.progress ? { 'datasync.dev/progress': JSON.stringify(opts.progress) } : {}),
    },
  },
  status: {
    phase: opts.phase ?? (opts.exitCode === undefined ? 'Running' : opts.exitCode === 0 ? 'Succeeded' : 'Failed'),
    ...(opts.exitCode !== undefined ? { containerStatuses: [{ name: 'copier', image: '', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: opts.exitCode, ...(opts.message ? { message: opts.message } : {}) } } }] } : {}),
  },
});

const planMsg = JSON.stringify({ phase: 'plan', filesExpected: 12, filesToCopy: 10, bytesToCopy: 1000, shards: 2 });

test('stages follow the Jobs: plan → copy → commit', () => {
  assert.equal(runStage(groupRunObjects([], [])).kind, 'NeedPlan');
  assert.equal(runStage(groupRunObjects([job('plan')], [])).kind, 'Planning');
  const planned = groupRunObjects([job('plan', 'Complete')], [pod('plan', { exitCode: 0, message: planMsg })]);
  assert.deepEqual(runStage(planned), { kind: 'NeedCopy', plan: { files: 10, bytes: 1000, shards: 2 } });
  assert.equal(runStage(groupRunObjects([job('plan', 'Complete'), job('copy')], [pod('plan', { exitCode: 0, message: planMsg })])).kind, 'Copying');
  assert.equal(runStage(groupRunObjects([job('plan', 'Complete'), job('copy', 'Complete')], [pod('plan', { exitCode: 0, message: planMsg })])).kind, 'NeedCommit');
  const done = runStage(groupRunObjects([job('plan', 'Complete'), job('copy', 'Complete'), job('commit', 'Complete')], [pod('plan', { exitCode: 0, message: planMsg }), pod('commit', { exitCode: 0, message: '{"outcome":"Succeeded","filesCopied":10}' })]));
  assert.equal(done.kind, 'Succeeded');
});

test('nothing to copy skips the copy Job', () => {
  const empty = JSON.stringify({ filesToCopy: 0, bytesToCopy: 0, shards: 0 });
  assert.equal(runStage(groupRunObjects([job('plan', 'Complete')], [pod('plan', { exitCode: 0, message: empty })])).kind, 'NeedCommit');
});

test('the copy Job runs one pod per shard the plan has work for, not spec.parallelism.shards; none for nothing to copy', () => {
  const ds: DataSync = {
    apiVersion: 'datasync.dev/v1alpha1', kind: 'DataSync', metadata: { name: 'one', namespace: 'ns', uid: 'u', generation: 1 },
    spec: { source: { filesystem: { path: '/in' } }, destination: { filesystem: { path: '/out' } }, parallelism: { shards: 4 } },
  };
  const run = { id: 'g1', trigger: 'Generation' as const, generation: 1, startTime: '2026-01-01T00:00:00Z' };
  // What the plan worker (copier/cli.ts) reports for 1 file to copy: the planner planned 1 shard.
  const oneFile = JSON.stringify({ phase: 'plan', runId: 'g1', filesExpected: 1, bytesExpected: 10, filesToCopy: 1, bytesToCopy: 10, shards: 1 });
  const stage = runStage(groupRunObjects([job('plan', 'Complete')], [pod('plan', { exitCode: 0, message: oneFile })]));
  assert.deepEqual(stage, { kind: 'NeedCopy', plan: { files: 1, bytes: 10, shards: 1 } });
  assert.equal(stage.kind, 'NeedCopy');
  const copy = runJob({ ds, run, step: 'copy', defaults: { image: 'i' }, plan: (stage as Extract<typeof stage, { kind: 'NeedCopy' }>).plan });
  assert.equal(copy.spec?.completions, 1);
  assert.equal(copy.spec?.parallelism, 1);
  // A restarted operator reads the plan back from the copy Job (the plan pod may be gone): same size.
  assert.deepEqual(runStage(groupRunObjects([job('plan', 'Complete'), copy], [])), { kind: 'Copying', plan: { files: 1, bytes: 10, shards: 1 } });
  // Nothing to copy (every file skipped): 0 shards, straight to the commit.
  const nothing = JSON.stringify({ phase: 'plan', runId: 'g2', filesExpected: 3, filesToCopy: 0, bytesToCopy: 0, filesSkipped: 3, shards: 0 });
  assert.deepEqual(runStage(groupRunObjects([job('plan', 'Complete')], [pod('plan', { exitCode: 0, message: nothing })])), { kind: 'NeedCommit', plan: { files: 0, bytes: 0, shards: 0 } });
});

test('the plan survives its pod: the copy Job annotation carries it', () => {
  const copy = job('copy', undefined, { metadata: { annotations: { 'datasync.dev/plan': JSON.stringify({ files: 3, bytes: 30, shards: 1 }) } } });
  copy.metadata!.annotations = { 'datasync.dev/plan': JSON.stringify({ files: 3, bytes: 30, shards: 1 }) };
  assert.deepEqual(runStage(groupRunObjects([job('plan', 'Complete'), copy], [])), { kind: 'Copying', plan: { files: 3, bytes: 30, shards: 1 } });
});

test('a failed step names the worker error; config errors say so', () => {
  const objs = groupRunObjects([job('plan', 'Failed')], [pod('plan', { exitCode: 3, message: JSON.stringify({ error: { endpoint: 's3://lake (http://minio:9000)', message: 'access denied' } }) })]);
  const st = runStage(objs);
  assert.equal(st.kind, 'Failed');
  assert.match(st.kind === 'Failed' ? st.message : '', /plan step failed \(configuration error\): s3:\/\/lake \(http:\/\/minio:9000\): access denied/);
  assert.match(failureMessage('copy', job('copy', 'Failed'), [pod('copy', { exitCode: 4, message: JSON.stringify({ failedFiles: [{ path: 'a/b.bin', error: 'checksum mismatch' }] }) })]), /files failed.*a\/b\.bin: checksum mismatch/);
});

test('per-shard status and totals: newest pod per index, retries counted, summaries win over annotations', () => {
  const plan = { files: 10, bytes: 1000, shards: 2 };
  const copyJob: V1Job = { status: { startTime: new Date('2026-01-01T00:00:00Z'), completedIndexes: '1' } };
  const pods = [
    pod('copy', { index: 0, exitCode: 4, created: '2026-01-01T00:00:01Z', progress: { filesDone: 5, filesTotal: 5, bytesDone: 500, bytesTotal: 500, filesSkipped: 0, filesFailed: 1 } }),
    pod('copy', { index: 0, created: '2026-01-01T00:00:05Z', progress: { filesDone: 2, filesTotal: 5, bytesDone: 200, bytesTotal: 500, filesSkipped: 1, filesFailed: 0 } }),
    pod('copy', { index: 1, exitCode: 0, created: '2026-01-01T00:00:01Z', message: JSON.stringify({ filesCopied: 5, bytesCopied: 500, filesSkipped: 0, filesFailed: 0 }) }),
  ];
  const shards = shardStatuses(plan, copyJob, pods);
  assert.deepEqual(shards.map((s) => [s.index, s.state, s.attempts, s.filesDone]), [[0, 'Running', 2, 2], [1, 'Succeeded', 1, 0]]);
  const p = runProgress(plan, copyJob, pods, new Date('2026-01-01T00:00:10Z'));
  assert.equal(p.filesCopied, 1 + 5);
  assert.equal(p.bytesCopied, 700);
  assert.equal(p.percent, 70);
  assert.equal(p.bytesPerSecond, 70);
  assert.equal(p.etaSeconds, Math.round(300 / 70));
});

test('a shard\'s retried pod resumed its predecessor\'s files: they count as copied and done, from its summary or its last report', () => {
  const plan = { files: 10, bytes: 1000, shards: 1 };
  const copyJob: V1Job = { status: { startTime: new Date('2026-01-01T00:00:00Z') } };
  const first = pod('copy', { index: 0, exitCode: 137, created: '2026-01-01T00:00:01Z', progress: { filesDone: 6, filesTotal: 10, bytesDone: 600, bytesTotal: 1000, filesSkipped: 0, filesFailed: 0 } });
  const summary = { filesCopied: 4, bytesCopied: 400, filesResumed: 6, bytesResumed: 600, filesSkipped: 0, filesFailed: 0 };
  const exited = pod('copy', { index: 0, exitCode: 0, created: '2026-01-01T00:00:05Z', message: JSON.stringify({ phase: 'copy', ...summary }) });
  const lastReport = pod('copy', { index: 0, created: '2026-01-01T00:00:05Z', progress: { filesDone: 10, filesTotal: 10, bytesDone: 1000, bytesTotal: 1000, ...summary } });
  for (const [what, second] of [['summary', exited], ['last report', lastReport]] as const) {
    const p = runProgress(plan, copyJob, [first, second], new Date('2026-01-01T00:00:10Z'));
    assert.deepEqual([p.filesCopied, p.bytesCopied, p.percent], [10, 1000, 100], what);
  }
});

test('a retried pod that has not reported yet: its predecessor\'s last report stands, so status does not drop to zero', () => {
  const plan = { files: 10, bytes: 1000, shards: 1 };
  const copyJob: V1Job = { status: { startTime: new Date('2026-01-01T00:00:00Z') } };
  const first = pod('copy', { index: 0, exitCode: 137, created: '2026-01-01T00:00:01Z', progress: { filesDone: 6, filesTotal: 10, bytesDone: 600, bytesTotal: 1000, filesSkipped: 0, filesFailed: 0 } });
  const starting = pod('copy', { index: 0, created: '2026-01-01T00:00:05Z', phase: 'Pending' });
  const p = runProgress(plan, copyJob, [first, starting], new Date('2026-01-01T00:00:10Z'));
  assert.deepEqual([p.filesCopied, p.bytesCopied, p.percent], [6, 600, 60]);
  // Nor does a pod that died before its first report, with no summary.
  const crashed = pod('copy', { index: 0, exitCode: 1, created: '2026-01-01T00:00:03Z', message: 'Error: out of memory' });
  const q = runProgress(plan, copyJob, [first, crashed, starting], new Date('2026-01-01T00:00:10Z'));
  assert.deepEqual([q.filesCopied, q.bytesCopied, q.percent], [6, 600, 60]);
  const [shard] = shardStatuses(plan, copyJob, [first, starting]);
  assert.deepEqual([shard!.state, shard!.attempts, shard!.filesDone, shard!.bytesDone, shard!.filesTotal], ['Pending', 2, 6, 600, 10]);
});

test('progress is a function of the pods\' reports, not of the reconcile\'s clock: unchanged reports, unchanged status', () => {
  // Otherwise every reconcile (including the one our own status write triggers) rewrites status.
  const plan = { files: 4, bytes: 4000, shards: 1 };
  const copyJob: V1Job = { status: { startTime: new Date('2026-01-01T00:00:00Z') } };
  const pods = [pod('copy', { index: 0, progress: { filesDone: 2, filesTotal: 4, bytesDone: 2000, bytesTotal: 4000, filesSkipped: 0, filesFailed: 0, updatedAt: '2026-01-01T00:00:04Z' } })];
  const a = runProgress(plan, copyJob, pods, new Date('2026-01-01T00:00:05Z'));
  const b = runProgress(plan, copyJob, pods, new Date('2026-01-01T00:00:09Z'));
  assert.deepEqual(a, b);
  assert.equal(a.bytesPerSecond, 500, '2000 bytes in the 4 s up to the report');
  assert.equal(a.etaSeconds, 4);
});

test('plan results and index sets parse leniently', () => {
  assert.deepEqual(parsePlanResult('{"planned":{"files":1,"bytes":2,"shards":3}}'), { files: 1, bytes: 2, shards: 3 });
  assert.equal(parsePlanResult('not json'), undefined);
  assert.equal(parsePlanResult('{"files":1}'), undefined);
  assert.deepEqual([...parseIndexSet('0,2-4')], [0, 2, 3, 4]);
});

test('the final report prefers the commit report and marks failed files as PartiallyFailed', () => {
  const r = buildReport({ id: 'g1', trigger: 'Generation', startTime: '2026-01-01T00:00:00.000Z', now: new Date('2026-01-01T00:01:00Z'), outcome: 'Succeeded', plan: { files: 2, bytes: 20, shards: 1 }, copyJob: undefined, copyPods: [], commit: { filesCopied: 1, bytesCopied: 10, filesFailed: 1, failedFiles: [{ path: 'x', error: 'boom' }], raw: {} } });
  assert.equal(r.outcome, 'PartiallyFailed');
  assert.equal(r.durationSeconds, 60);
  assert.equal(r.filesExpected, 2);
  assert.deepEqual(r.failedFiles, [{ path: 'x', error: 'boom' }]);
});

test('the final report carries the watermark, retries and what became of the webhook', () => {
  const commitMessage = JSON.stringify({
    outcome: 'Succeeded', filesCopied: 3, watermark: '2026/11/20', retries: { filesRetried: 1, filesRecovered: 1 },
    notify: { state: 'Failed', attempts: 5, reason: 'WebhookFailed', error: 'http://127.0.0.1:9 answered 503' },
  });
  const done = runStage(groupRunObjects([job('plan', 'Complete'), job('copy', 'Complete'), job('commit', 'Complete')], [
    pod('plan', { exitCode: 0, message: '{"filesToCopy":3,"bytesToCopy":30,"shards":1}' }), pod('commit', { exitCode: 0, message: commitMessage }),
  ]));
  assert.equal(done.kind, 'Succeeded');
  const r = buildReport({ id: 'g1', trigger: 'Generation', startTime: '2026-01-01T00:00:00.000Z', now: new Date('2026-01-01T00:01:00Z'), outcome: 'Succeeded', plan: { files: 3, bytes: 30, shards: 1 }, copyJob: undefined, copyPods: [], commit: 'commit' in done ? done.commit : undefined });
  assert.equal(r.outcome, 'Succeeded');
  assert.equal(r.watermark, '2026/11/20');
  assert.deepEqual(r.retries, { filesRetried: 1, filesRecovered: 1 });
  assert.deepEqual(r.notification, { state: 'Failed', attempts: 5, reason: 'WebhookFailed', error: 'http://127.0.0.1:9 answered 503' });
});
