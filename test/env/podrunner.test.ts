// The local pod runner behaves like a kubelet toward the real Job controller: success, failure under
// podFailurePolicy, per-index backoff, and everything a copier pod relies on (env, volumes, the
// service-account token under real RBAC, the termination message, deletion with SIGTERM).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testEnv, uniqueName } from './endpoints.ts';
import { eventually, type Json } from './kube.ts';
import { adminClient, condition, createNamespace, listPods, shellJob, waitForJobFinished, type PodSummary } from './kit.ts';

const REPO = path.resolve(import.meta.dirname, '../..');

function terminated(pod: PodSummary): { exitCode: number; message?: string; reason?: string } | undefined {
  return pod.status?.containerStatuses?.[0]?.state?.terminated;
}

test('a pod exiting 0 completes its Job, with env, volumes, workingDir and termination message honoured', async (t) => {
  const kube = adminClient();
  t.after(() => kube.close());
  const ns = await createNamespace(kube, uniqueName('env-pod-ok'), t.after.bind(t));
  const hostDir = mkdtempSync(path.join(os.tmpdir(), 'env-hostpath-'));
  t.after(() => rmSync(hostDir, { recursive: true, force: true }));
  await kube.post(`/api/v1/namespaces/${ns}/secrets`, { metadata: { name: 'creds' }, stringData: { accessKeyId: 'AKID', secretAccessKey: 's3cr3t' } });
  await kube.post(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'run' }, data: { 'run.json': '{"runId":"r1"}', MODE: 'copy' } });
  await kube.post(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
    metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  const script = [
    'set -eu',
    'P="$DATASYNC_PATH_PREFIX"',
    'out="$P/data/out.txt"',
    'echo "pod=$POD_NAME ns=$POD_NAMESPACE key=$KEY mode=$MODE cfg_MODE=$CFG_MODE joined=$JOINED" > "$out"',
    'echo "secret=$(cat "$P/var/run/datasync/secrets/source/accessKeyId")" >> "$out"',
    'echo "config=$(cat "$P/etc/datasync/run.json")" >> "$out"',
    'echo "cwd=$(pwd -P)" >> "$out"',
    'echo scratch > "$P/scratch/x" && echo "scratch=$(cat "$P/scratch/x")" >> "$out"',
    'echo hello > "$P/host/from-pod.txt"',
    'echo "sa=$(cat "$P/var/run/secrets/kubernetes.io/serviceaccount/namespace")" >> "$out"',
    'printf "all good" > /dev/null; printf "summary: all good" > "$P/dev/termination-log"',
  ].join('\n');
  await kube.post(`/apis/batch/v1/namespaces/${ns}/jobs`, shellJob('ok', script, {}, {
    volumes: [
      { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
      { name: 'creds', secret: { secretName: 'creds' } },
      { name: 'run', configMap: { name: 'run', items: [{ key: 'run.json', path: 'run.json' }] } },
      { name: 'scratch', emptyDir: {} },
      { name: 'host', hostPath: { path: hostDir, type: 'Directory' } },
    ],
  }, {
    workingDir: '/work/dir',
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'KEY', valueFrom: { secretKeyRef: { name: 'creds', key: 'secretAccessKey' } } },
      { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'run', key: 'MODE' } } },
      { name: 'JOINED', value: '$(MODE)-$(POD_NAMESPACE)' },
    ],
    envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'run' } }],
    volumeMounts: [
      { name: 'data', mountPath: '/data' },
      { name: 'creds', mountPath: '/var/run/datasync/secrets/source', readOnly: true },
      { name: 'run', mountPath: '/etc/datasync' },
      { name: 'scratch', mountPath: '/scratch' },
      { name: 'host', mountPath: '/host' },
    ],
  }));
  const status = await waitForJobFinished(kube, ns, 'ok');
  assert.ok(condition(status, 'Complete'), JSON.stringify(status));
  assert.equal(status.succeeded, 1);
  const [pod] = await listPods(kube, ns, 'job-name=ok');
  assert.ok(pod);
  assert.equal(pod.status?.phase, 'Succeeded');
  assert.equal(terminated(pod)?.exitCode, 0);
  assert.equal(terminated(pod)?.message, 'summary: all good');

  const pvc = path.join(testEnv().podRunner!.hostRoot, 'pvc', ns, 'data', 'out.txt');
  const lines = readFileSync(pvc, 'utf8').trim().split('\n');
  assert.deepEqual(lines.slice(0, 3), [
    `pod=${pod.metadata.name} ns=${ns} key=s3cr3t mode=copy cfg_MODE=copy joined=copy-${ns}`,
    'secret=AKID',
    'config={"runId":"r1"}',
  ]);
  assert.match(lines[3]!, /^cwd=.*\/work\/dir$/);
  assert.deepEqual(lines.slice(4), ['scratch=scratch', `sa=${ns}`]);
  assert.equal(readFileSync(path.join(hostDir, 'from-pod.txt'), 'utf8'), 'hello\n');
});

test('a pod exiting 3 under a podFailurePolicy FailJob rule fails the Job at once', async (t) => {
  const kube = adminClient();
  t.after(() => kube.close());
  const ns = await createNamespace(kube, uniqueName('env-pod-fail'), t.after.bind(t));
  await kube.post(`/apis/batch/v1/namespaces/${ns}/jobs`, shellJob('bad-config', 'echo "bad spec" > "$DATASYNC_PATH_PREFIX/dev/termination-log"; exit 3', {
    backoffLimit: 6,
    podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { containerName: 'main', operator: 'In', values: [3] } }] },
  }));
  const status = await waitForJobFinished(kube, ns, 'bad-config');
  const failed = condition(status, 'Failed');
  assert.ok(failed, JSON.stringify(status));
  assert.equal(failed.reason, 'PodFailurePolicy');
  assert.match(failed.message ?? '', /exit code 3/);
  const pods = await listPods(kube, ns, 'job-name=bad-config');
  // FailJob: no retry although backoffLimit allows six.
  assert.equal(pods.length, 1);
  assert.equal(terminated(pods[0]!)?.exitCode, 3);
  assert.equal(terminated(pods[0]!)?.message, 'bad spec\n');
});

test('an Indexed Job of 4 with backoffLimitPerIndex: one index fails once and is retried, a FailIndex rule stops another', async (t) => {
  const kube = adminClient();
  t.after(() => kube.close());
  const ns = await createNamespace(kube, uniqueName('env-pod-idx'), t.after.bind(t));
  // The marker lives on the host, outside any pod, so the retry of index 2 sees the first attempt.
  const markers = mkdtempSync(path.join(os.tmpdir(), 'env-markers-'));
  t.after(() => rmSync(markers, { recursive: true, force: true }));
  const script = [
    'm="$DATASYNC_PATH_PREFIX/markers"',
    'echo "$JOB_COMPLETION_INDEX" >> "$m/attempts"',
    'if [ "$JOB_COMPLETION_INDEX" = 2 ] && [ ! -e "$m/failed-once" ]; then touch "$m/failed-once"; exit 1; fi',
    'exit 0',
  ].join('\n');
  await kube.post(`/apis/batch/v1/namespaces/${ns}/jobs`, shellJob('indexed', script, {
    completionMode: 'Indexed', completions: 4, parallelism: 2, backoffLimit: undefined, backoffLimitPerIndex: 1, maxFailedIndexes: 1,
    podFailurePolicy: { rules: [{ action: 'FailIndex', onExitCodes: { operator: 'In', values: [3] } }] },
  }, { volumes: [{ name: 'markers', hostPath: { path: markers } }] }, {
    volumeMounts: [{ name: 'markers', mountPath: '/markers' }],
  }));
  const status = await waitForJobFinished(kube, ns, 'indexed', 120_000);
  assert.ok(condition(status, 'Complete'), JSON.stringify(status));
  assert.equal(status.succeeded, 4);
  assert.equal(status.failed, 1);
  assert.equal(status.completedIndexes, '0-3');
  assert.ok(!status.failedIndexes, `failedIndexes: ${status.failedIndexes}`);
  const attempts = readFileSync(path.join(markers, 'attempts'), 'utf8').trim().split('\n').sort();
  assert.deepEqual(attempts, ['0', '1', '2', '2', '3']);

  // FailIndex under the same policy: exit 3 on index 1 marks that index failed without a retry.
  await kube.post(`/apis/batch/v1/namespaces/${ns}/jobs`, shellJob('failindex', '[ "$JOB_COMPLETION_INDEX" = 1 ] && exit 3; exit 0', {
    completionMode: 'Indexed', completions: 3, parallelism: 3, backoffLimit: undefined, backoffLimitPerIndex: 2,
    podFailurePolicy: { rules: [{ action: 'FailIndex', onExitCodes: { operator: 'In', values: [3] } }] },
  }));
  const fi = await waitForJobFinished(kube, ns, 'failindex', 120_000);
  assert.ok(condition(fi, 'Failed'), JSON.stringify(fi));
  assert.equal(fi.failedIndexes, '1');
  assert.equal(fi.completedIndexes, '0,2');
  assert.equal((await listPods(kube, ns, 'job-name=failindex')).length, 3, 'index 1 was retried despite FailIndex');
});

test('the projected service-account token works with loadFromCluster and is subject to real RBAC', async (t) => {
  const kube = adminClient();
  t.after(() => kube.close());
  const ns = await createNamespace(kube, uniqueName('env-pod-sa'), t.after.bind(t));
  await kube.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'copier' } });
  await kube.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
    metadata: { name: 'pods' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'] }],
  });
  await kube.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
    metadata: { name: 'copier' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pods' },
    subjects: [{ kind: 'ServiceAccount', name: 'copier', namespace: ns }],
  });
  await kube.post(`/api/v1/namespaces/${ns}/secrets`, { metadata: { name: 'private' }, stringData: { k: 'v' } });
  // As the copier does: patch its own pod's annotation, and (not granted) read a Secret.
  const program = `
const { KubeConfig, CoreV1Api } = await import(${JSON.stringify(path.join(REPO, 'node_modules/@kubernetes/client-node/dist/index.js'))});
const kc = new KubeConfig();
kc.loadFromCluster(process.env.DATASYNC_PATH_PREFIX);
const core = kc.makeApiClient(CoreV1Api);
const ns = kc.getContextObject(kc.getCurrentContext()).namespace;
const me = await core.readNamespacedPod({ name: process.env.POD_NAME, namespace: ns });
let secret = 'read';
try { await core.readNamespacedSecret({ name: 'private', namespace: ns }); } catch (e) { secret = String(e.code); }
require('node:fs').writeFileSync(process.env.DATASYNC_PATH_PREFIX + '/dev/termination-log', JSON.stringify({ ns, me: me.metadata.name, sa: me.spec.serviceAccountName, secret }));
`;
  await kube.post(`/apis/batch/v1/namespaces/${ns}/jobs`, shellJob('sa', '', {}, { serviceAccountName: 'copier' }, {
    command: ['node', '--input-type=commonjs', '-e', `(async () => { ${program} })().catch((e) => { console.error(e); process.exit(1); })`],
    env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
  }));
  const status = await waitForJobFinished(kube, ns, 'sa');
  const [pod] = await listPods(kube, ns, 'job-name=sa');
  assert.ok(condition(status, 'Complete'), `${JSON.stringify(status)} ${JSON.stringify(pod?.status)} log: ${readLog(pod)}`);
  const report = JSON.parse(terminated(pod!)?.message ?? '{}') as Json;
  assert.deepEqual(report, { ns, me: pod!.metadata.name, sa: 'copier', secret: '403' });
});

function readLog(pod: PodSummary | undefined): string {
  const file = pod?.metadata.annotations?.['datasync.dev/local-log'];
  return file && existsSync(file) ? readFileSync(file, 'utf8').slice(-2000) : '(no log)';
}

test('deletion sends SIGTERM, then SIGKILL after the grace period, then removes the pod', async (t) => {
  const kube = adminClient();
  t.after(() => kube.close());
  const ns = await createNamespace(kube, uniqueName('env-pod-del'), t.after.bind(t));
  const markers = mkdtempSync(path.join(os.tmpdir(), 'env-del-'));
  t.after(() => rmSync(markers, { recursive: true, force: true }));
  mkdirSync(markers, { recursive: true });
  const pod = (name: string, script: string, grace: number): Json => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name },
    spec: {
      restartPolicy: 'Never', terminationGracePeriodSeconds: grace,
      volumes: [{ name: 'm', hostPath: { path: markers } }],
      containers: [{ name: 'main', image: 'datasync.dev/test-shell:1', command: ['sh', '-c', script], volumeMounts: [{ name: 'm', mountPath: '/m' }] }],
    },
  });
  await kube.post(`/api/v1/namespaces/${ns}/pods`, pod('polite', `trap 'echo term > "$DATASYNC_PATH_PREFIX/m/polite"; exit 0' TERM; touch "$DATASYNC_PATH_PREFIX/m/polite-up"; while :; do sleep 0.1; done`, 30));
  await kube.post(`/api/v1/namespaces/${ns}/pods`, pod('stubborn', `trap '' TERM; touch "$DATASYNC_PATH_PREFIX/m/stubborn-up"; while :; do sleep 0.1; done`, 1));
  await eventually('both pods running', async () => existsSync(path.join(markers, 'polite-up')) && existsSync(path.join(markers, 'stubborn-up')) ? true : undefined, 30_000, 100);

  const t0 = Date.now();
  await kube.delete(`/api/v1/namespaces/${ns}/pods/polite`);
  await kube.delete(`/api/v1/namespaces/${ns}/pods/stubborn`);
  await eventually('pods removed', async () => (await listPods(kube, ns)).length === 0 ? true : undefined, 30_000, 100);
  const elapsed = Date.now() - t0;
  assert.equal(readFileSync(path.join(markers, 'polite'), 'utf8'), 'term\n');
  // The stubborn one needed the SIGKILL after its 1s grace; the polite one did not wait 30s.
  assert.ok(elapsed >= 900 && elapsed < 10_000, `deletion took ${elapsed}ms`);
});

test('an unsupported spec fails the pod with a message naming the field; a missing Secret waits', async (t) => {
  const kube = adminClient();
  t.after(() => kube.close());
  const ns = await createNamespace(kube, uniqueName('env-pod-unsup'), t.after.bind(t));
  const base = (name: string, extra: Json, container: Json = {}): Json => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name },
    spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'datasync.dev/test-shell:1', command: ['sh', '-c', 'exit 0'], ...container }], ...extra },
  });
  await kube.post(`/api/v1/namespaces/${ns}/pods`, base('init', { initContainers: [{ name: 'i', image: 'datasync.dev/test-shell:1' }] }));
  await kube.post(`/api/v1/namespaces/${ns}/pods`, base('image', {}, { image: 'docker.io/library/busybox:1' }));
  await kube.post(`/api/v1/namespaces/${ns}/pods`, base('nfs', { volumes: [{ name: 'n', nfs: { server: 'x', path: '/' } }] }));
  await kube.post(`/api/v1/namespaces/${ns}/pods`, base('missing', {}, { env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 'later', key: 'k' } } }] }));
  const expected: Record<string, RegExp> = { init: /spec\.initContainers/, image: /spec\.containers\[0\]\.image.*busybox/, nfs: /spec\.volumes\[0\]\.nfs/ };
  for (const [name, pattern] of Object.entries(expected)) {
    const pod = await eventually(`pod ${name} failed`, async () => {
      const p = await kube.get<PodSummary>(`/api/v1/namespaces/${ns}/pods/${name}`);
      return p.status?.phase === 'Failed' ? p : undefined;
    }, 30_000, 100);
    assert.match(pod.status?.message ?? '', pattern);
  }
  const waiting = await eventually('pod missing waits', async () => {
    const p = await kube.get<PodSummary>(`/api/v1/namespaces/${ns}/pods/missing`);
    return p.status?.containerStatuses?.[0]?.state?.waiting ? p : undefined;
  }, 30_000, 100);
  assert.equal(waiting.status?.phase, 'Pending');
  assert.equal(waiting.status?.containerStatuses?.[0]?.state?.waiting?.reason, 'CreateContainerConfigError');
  await kube.post(`/api/v1/namespaces/${ns}/secrets`, { metadata: { name: 'later' }, stringData: { k: 'v' } });
  await eventually('pod missing succeeds once the Secret exists', async () => {
    const p = await kube.get<PodSummary>(`/api/v1/namespaces/${ns}/pods/missing`);
    return p.status?.phase === 'Succeeded' ? true : undefined;
  }, 30_000, 100);
});

test('the project image runs this checkout: DATASYNC_PATH_PREFIX and containerPath() find the mounts', async (t) => {
  const kube = adminClient();
  t.after(() => kube.close());
  const ns = await createNamespace(kube, uniqueName('env-pod-img'), t.after.bind(t));
  await kube.post(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'run' }, data: { 'run.json': '{"runId":"r7"}' } });
  const program = [
    `import { containerPath } from ${JSON.stringify(path.join(REPO, 'copier/runtime/container-path.ts'))};`,
    "import { readFileSync, writeFileSync } from 'node:fs';",
    "const run = JSON.parse(readFileSync(containerPath('/etc/datasync/run.json'), 'utf8'));",
    "writeFileSync(containerPath('/dev/termination-log'), JSON.stringify({ runId: run.runId, twice: containerPath(containerPath('/x')) === containerPath('/x') }));",
  ].join('\n');
  await kube.post(`/apis/batch/v1/namespaces/${ns}/jobs`, shellJob('img', '', {}, {
    volumes: [{ name: 'run', configMap: { name: 'run' } }],
  }, {
    image: 'ghcr.io/datasync-dev/datasync:0.1.0',
    command: ['node', '--input-type=module', '-e', program],
    volumeMounts: [{ name: 'run', mountPath: '/etc/datasync' }],
  }));
  const status = await waitForJobFinished(kube, ns, 'img');
  const [pod] = await listPods(kube, ns, 'job-name=img');
  assert.ok(condition(status, 'Complete'), `${JSON.stringify(pod?.status)} log: ${readLog(pod)}`);
  assert.deepEqual(JSON.parse(terminated(pod!)?.message ?? '{}'), { runId: 'r7', twice: true });
});

test('restartPolicy OnFailure restarts in place; a Deployment gets a Ready pod through the ReplicaSet controller', async (t) => {
  const kube = adminClient();
  t.after(() => kube.close());
  const ns = await createNamespace(kube, uniqueName('env-pod-restart'), t.after.bind(t));
  const markers = mkdtempSync(path.join(os.tmpdir(), 'env-restart-'));
  t.after(() => rmSync(markers, { recursive: true, force: true }));
  await kube.post(`/api/v1/namespaces/${ns}/pods`, {
    metadata: { name: 'retry' },
    spec: {
      restartPolicy: 'OnFailure',
      volumes: [{ name: 'm', hostPath: { path: markers } }],
      containers: [{ name: 'main', image: 'datasync.dev/test-shell:1', volumeMounts: [{ name: 'm', mountPath: '/m' }],
        command: ['sh', '-c', 'f="$DATASYNC_PATH_PREFIX/m/tried"; if [ -e "$f" ]; then exit 0; fi; touch "$f"; exit 5'] }],
    },
  });
  const done = await eventually('pod retry Succeeded', async () => {
    const p = await kube.get<PodSummary & { status?: { containerStatuses?: Array<{ restartCount: number; lastState?: { terminated?: { exitCode: number } } }> } }>(`/api/v1/namespaces/${ns}/pods/retry`);
    return p.status?.phase === 'Succeeded' ? p : undefined;
  }, 30_000, 100);
  const cs = done.status?.containerStatuses?.[0] as { restartCount: number; lastState?: { terminated?: { exitCode: number } } } | undefined;
  assert.equal(cs?.restartCount, 1);
  assert.equal(cs?.lastState?.terminated?.exitCode, 5);

  await kube.post(`/apis/apps/v1/namespaces/${ns}/deployments`, {
    metadata: { name: 'web' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'datasync.dev/test-shell:1', command: ['sh', '-c', 'exec sleep 300'] }] },
      },
    },
  });
  await eventually('Deployment available', async () => {
    const d = await kube.get<{ status?: { availableReplicas?: number } }>(`/apis/apps/v1/namespaces/${ns}/deployments/web`);
    return d.status?.availableReplicas === 1 ? true : undefined;
  }, 60_000, 200);
  await kube.delete(`/apis/apps/v1/namespaces/${ns}/deployments/web`, { propagationPolicy: 'Foreground' });
  await eventually('Deployment pods gone', async () => (await listPods(kube, ns, 'app=web')).length === 0 ? true : undefined, 30_000, 200);
});
