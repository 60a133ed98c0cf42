import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runJob, runConfigMap, copierDefaults } from './resources.ts';
import type { DataSync } from '../api/types.ts';
import type { RunMeta } from './policy/trigger.ts';

const ds: DataSync = {
  apiVersion: 'datasync.dev/v1alpha1', kind: 'DataSync',
  metadata: { name: 'nightly', namespace: 'analytics', uid: 'u-1', generation: 2 },
  spec: {
    source: { filesystem: { path: '/data/in', volume: { persistentVolumeClaim: { claimName: 'landing' } } } },
    destination: { s3: { bucket: 'lake', credentialsSecretRef: { name: 's3-creds' } } },
    mode: 'Move',
    retry: { backoffLimitPerShard: 5 },
  },
};
const run: RunMeta = { id: 'g2', trigger: 'Generation', generation: 2, startTime: '2026-01-01T00:00:00Z' };
const defaults = { image: 'ghcr.io/datasync-dev/datasync:0.1.0' };

test('copy Job: Indexed, completions = shards, backoffLimitPerIndex, exit 3 → FailIndex', () => {
  const job = runJob({ ds, run, step: 'copy', defaults, plan: { files: 1, bytes: 1, shards: 7 } });
  assert.equal(job.metadata?.name, 'nightly-g2-copy');
  assert.equal(job.spec?.completionMode, 'Indexed');
  assert.equal(job.spec?.completions, 7);
  assert.equal(job.spec?.parallelism, 7);
  assert.equal(job.spec?.backoffLimitPerIndex, 5);
  assert.deepEqual(job.spec?.podFailurePolicy?.rules[0], { action: 'FailIndex', onExitCodes: { containerName: 'copier', operator: 'In', values: [3] } });
  assert.equal(job.metadata?.ownerReferences?.[0]?.uid, 'u-1');
  assert.equal(job.metadata?.ownerReferences?.[0]?.controller, true);
  assert.deepEqual(job.spec?.template.spec?.containers[0]?.args, ['worker', 'copy', '--run-config', '/etc/datasync/run.json']);
});

test('copier pods are hardened and get credentials only by mounting the Secret', () => {
  const pod = runJob({ ds, run, step: 'plan', defaults }).spec!.template.spec!;
  const c = pod.containers[0]!;
  assert.equal(pod.securityContext?.runAsNonRoot, true);
  assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
  assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
  assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL']);
  assert.equal(pod.automountServiceAccountToken, false, 'plan pods need no API token');
  assert.equal(runJob({ ds, run, step: 'copy', defaults, plan: { files: 1, bytes: 1, shards: 1 } }).spec!.template.spec!.automountServiceAccountToken, true);
  assert.ok(!JSON.stringify(pod).includes('secretKeyRef'), 'no Secret values in env');
  const secretVol = pod.volumes?.find((v) => v.name === 'destination-secrets');
  assert.deepEqual(secretVol?.projected?.sources?.map((s) => s.secret?.name), ['s3-creds']);
  assert.equal(c.volumeMounts?.find((m) => m.name === 'destination-secrets')?.mountPath, '/var/run/datasync/secrets/destination');
  const data = c.volumeMounts?.find((m) => m.name === 'source-data');
  assert.equal(data?.mountPath, '/data/in');
  assert.equal(data?.readOnly, true, 'the planner only reads the source');
  const commit = runJob({ ds, run, step: 'commit', defaults }).spec!.template.spec!.containers[0]!;
  assert.equal(commit.volumeMounts?.find((m) => m.name === 'source-data')?.readOnly, false, 'Move deletes sources in commit');
  assert.ok(c.volumeMounts?.some((m) => m.mountPath === '/tmp'), 'writable /tmp with a read-only root');
});

test('run config freezes the spec for the run', () => {
  const cm = runConfigMap(ds, run);
  assert.equal(cm.metadata?.name, 'nightly-g2');
  assert.deepEqual(JSON.parse(cm.data?.['run.json'] ?? '{}'), { runId: 'g2', trigger: 'Generation', namespace: 'analytics', name: 'nightly', spec: ds.spec, asOf: '2026-01-01T00:00:00Z' });
});

test('run config asOf: a scheduled run plans as of its slot, every other run as of its start', () => {
  const asOf = (meta: RunMeta): unknown => JSON.parse(runConfigMap(ds, meta).data?.['run.json'] ?? '{}').asOf;
  // Started 47 minutes late (e.g. Forbid waited for the previous run): minAge and lookback still
  // count from 02:00, the time the run stands for.
  assert.equal(asOf({ id: 's202611210200', trigger: 'Schedule', generation: 2, startTime: '2026-11-21T02:47:13.000Z', scheduledTime: '2026-11-21T02:00:00.000Z' }), '2026-11-21T02:00:00.000Z');
  assert.equal(asOf({ id: 'w20261121024713', trigger: 'Watch', generation: 2, startTime: '2026-11-21T02:47:13.000Z' }), '2026-11-21T02:47:13.000Z');
  assert.equal(asOf({ id: 'm2-abcd', trigger: 'Manual', generation: 2, startTime: '2026-11-21T02:47:13.000Z', manual: 'x' }), '2026-11-21T02:47:13.000Z');
});

test('copier defaults: flag, then DATASYNC_COPIER_IMAGE, then the released image; resources as JSON', () => {
  assert.deepEqual(copierDefaults('img:flag', { DATASYNC_COPIER_IMAGE: 'img:env' }), { image: 'img:flag' });
  assert.deepEqual(copierDefaults(undefined, { DATASYNC_COPIER_IMAGE: 'img:env' }), { image: 'img:env' });
  assert.deepEqual(copierDefaults(undefined, {}), { image: 'ghcr.io/datasync-dev/datasync:0.1.0' });
  assert.deepEqual(copierDefaults(undefined, { DATASYNC_COPIER_RESOURCES: '{"limits":{"memory":"1Gi"}}' }).resources, { limits: { memory: '1Gi' } });
  assert.throws(() => copierDefaults(undefined, { DATASYNC_COPIER_RESOURCES: '{' }), /DATASYNC_COPIER_RESOURCES is not valid JSON/);
});

test('long names stay valid label values', async () => {
  const { runObjectName } = await import('./names.ts');
  const name = runObjectName('a'.repeat(80), 's202611211015', 'commit');
  assert.ok(name.length <= 63, name);
  assert.ok(name.endsWith('-s202611211015-commit'));
});
