// Installed as users install it: `helm install` into the real control plane, the operator run by
// the local pod runner as the Deployment's pod with its projected ServiceAccount token (so the
// chart's RBAC is what it has: a missing permission fails this test), a credentials Secret and a
// DataSync from a PVC to MinIO applied with kubectl, the objects compared byte for byte with an
// independent S3 client; `helm upgrade` rolls the operator and the DataSync keeps working;
// `helm uninstall` leaves no operator resources and keeps the CRD.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { S3Client, CreateBucketCommand, ListObjectsV2Command, GetObjectCommand } from '@aws-sdk/client-s3';
import { stringify } from 'yaml';
import { testEnv, uniqueName } from '../env/endpoints.ts';
import { adminClient, createNamespace, listPods, type PodSummary } from '../env/kit.ts';
import type { KubeClient } from '../env/kube.ts';
import { freePort } from '../env/process.ts';
import { CHART, helm, helmOk, kubectl, kubectlOk, waitFor } from './helpers.ts';

const RELEASE = 'ds';
const FULLNAME = 'ds-datasync';
const DS = 'pvc-to-minio';
let kube: KubeClient;
let ops: string;
let tenant: string;
const cleanups: Array<() => Promise<void>> = [];

before(async () => {
  kube = adminClient();
  ops = await createNamespace(kube, uniqueName('chart-ops'), (fn) => cleanups.push(fn));
  tenant = await createNamespace(kube, uniqueName('chart-tenant'), (fn) => cleanups.push(fn));
});
after(async () => {
  helm(['uninstall', RELEASE, '--namespace', ops, '--wait', '--timeout', '60s']);
  // The DataSync keeps its finalizer once the operator is gone; release it so the namespace can go.
  kubectl(['patch', 'datasync', DS, '--namespace', tenant, '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}']);
  for (const c of cleanups) await c().catch(() => {});
  kube?.close();
});

function s3(): S3Client {
  const e = testEnv().s3;
  return new S3Client({ endpoint: e.endpoint, region: e.region, forcePathStyle: true, credentials: { accessKeyId: e.accessKeyId, secretAccessKey: e.secretAccessKey } });
}

async function readBucket(client: S3Client, bucket: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of page.Contents ?? []) {
      if (!o.Key || o.Key.startsWith('.datasync/') || o.Key.includes('/.datasync/')) continue;
      const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
      out.set(o.Key, Buffer.from(await body.Body!.transformToByteArray()));
    }
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

function operatorPods(all: PodSummary[]): PodSummary[] {
  return all.filter((p) => p.metadata.labels?.['app.kubernetes.io/component'] === 'operator');
}

/** The operator pod's log (the pod runner writes it to a host file named in an annotation). */
function operatorLog(pods: PodSummary[]): string {
  return pods.map((p) => {
    const f = p.metadata.annotations?.['datasync.dev/local-log'];
    const text = f && existsSync(f) ? readFileSync(f, 'utf8') : '(no log)';
    return `--- ${p.metadata.name} (${p.status?.phase}):\n${text.slice(-4000)}`;
  }).join('\n');
}

async function diagnostics(): Promise<string> {
  const pods = await listPods(kube, ops).catch(() => []);
  const ds = kubectl(['get', 'datasync', DS, '--namespace', tenant, '-o', 'yaml']).stdout;
  const tenantPods = kubectl(['get', 'pods', '--namespace', tenant, '-o', 'wide']).stdout;
  const events = kubectl(['get', 'events', '--namespace', tenant]).stdout;
  return `operator pods:\n${operatorLog(pods)}\nDataSync:\n${ds}\ntenant pods:\n${tenantPods}\nevents:\n${events}`;
}

interface DsStatus { phase?: string; lastRun?: { id: string; outcome: string; filesCopied: number; bytesCopied: number; filesFailed: number; filesSkipped?: number; message?: string } }
function dsStatus(): DsStatus | undefined {
  const r = kubectl(['get', 'datasync', DS, '--namespace', tenant, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as { status?: DsStatus }).status : undefined;
}

async function leaseHolder(): Promise<string | undefined> {
  const r = kubectl(['get', 'lease', `${FULLNAME}-operator`, '--namespace', ops, '-o', 'jsonpath={.spec.holderIdentity}']);
  return r.code === 0 ? r.stdout : undefined;
}

function writeTree(dir: string, files: Record<string, Buffer>): void {
  for (const [rel, data] of Object.entries(files)) {
    mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), data);
  }
}

test('helm install → DataSync PVC → MinIO → helm upgrade → helm uninstall', { timeout: 420_000 }, async (t) => {
  const env = testEnv();
  const hostRoot = env.podRunner!.hostRoot;
  const [port1, port2] = [await freePort(), await freePort()];

  // A copier ClusterRole left by a run without Helm (the operator suites create it) would block the
  // install ("exists and cannot be imported"); hand it to the release as `helm` documents.
  if (kubectl(['get', 'clusterrole', 'datasync-copier']).code === 0) {
    kubectlOk(['label', '--overwrite', 'clusterrole', 'datasync-copier', 'app.kubernetes.io/managed-by=Helm']);
    kubectlOk(['annotate', '--overwrite', 'clusterrole', 'datasync-copier', `meta.helm.sh/release-name=${RELEASE}`, `meta.helm.sh/release-namespace=${ops}`]);
  }

  // 1. helm install: the operator watches only the tenant namespace (other suites' DataSyncs in this
  // cluster are not its business). Pods share the host network under the pod runner: a free port.
  const t0 = Date.now();
  helmOk(['install', RELEASE, CHART, '--namespace', ops, '--set-json', `watchNamespaces=["${tenant}"]`,
    '--set', `metrics.port=${port1}`, '--set', 'logLevel=info', '--wait', '--timeout', '120s']);
  const crd = kubectl(['get', 'crd', 'datasyncs.datasync.dev', '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']);
  assert.equal(crd.stdout, 'True', 'the chart installed (or found) the CRD');
  const pod1 = await waitFor('the operator pod running', async () => {
    const pods = operatorPods(await listPods(kube, ops)).filter((p) => p.status?.phase === 'Running');
    return pods.length === 1 ? pods[0] : undefined;
  }, 60_000, 300, () => kubectl(['get', 'pods,deploy,rs', '-n', ops, '-o', 'wide']).stdout);
  const podSpec = JSON.parse(kubectlOk(['get', 'pod', pod1.metadata.name, '-n', ops, '-o', 'json'])).spec;
  assert.equal(podSpec.serviceAccountName, FULLNAME);
  assert.ok(podSpec.volumes.some((v: { projected?: { sources: Array<{ serviceAccountToken?: unknown }> } }) => v.projected?.sources.some((s) => s.serviceAccountToken)), 'projected ServiceAccount token');
  // Leader election through the chart's Lease Role, then /readyz and /metrics on the chart's port.
  const holder = await waitFor('the operator to take the Lease', async () => {
    const h = await leaseHolder();
    return h?.startsWith(pod1.metadata.name) ? h : undefined;
  }, 60_000, 500, () => {
    const log = operatorLog([pod1]);
    const hint = /HTTP protocol is not allowed|localhost:8080/.test(log)
      ? 'the operator did not load the in-cluster config from its projected token (under the pod runner the files are below $DATASYNC_PATH_PREFIX: operator/kube.ts must call kc.loadFromCluster(prefix))\n' : '';
    return hint + log;
  });
  t.diagnostic(`installed and leading (${holder}) after ${Date.now() - t0} ms`);
  await waitFor('/readyz 200', async () => (await fetch(`http://127.0.0.1:${port1}/readyz`)).status === 200, 60_000, 500, () => operatorLog([pod1]));
  const metrics = await (await fetch(`http://127.0.0.1:${port1}/metrics`)).text();
  assert.match(metrics, /^datasync_leader 1$/m);

  // 2. The credentials Secret, the PVC (its host directory holds the data), the bucket, the DataSync.
  const files: Record<string, Buffer> = {
    'README.txt': Buffer.from('hello from a PVC\n'),
    'empty.dat': Buffer.alloc(0),
    'day=01/part-0000.bin': randomBytes(300 * 1024),
    'day=01/part-0001.bin': randomBytes(70 * 1024 + 3),
    'day=02/deep/er/part-0002.bin': randomBytes(1024 * 1024 + 17),
  };
  writeTree(path.join(hostRoot, 'pvc', tenant, 'landing'), files);
  const bucket = uniqueName('chart-e2e');
  const client = s3();
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const manifests = [
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's3-creds', namespace: tenant }, stringData: { accessKeyId: env.s3.accessKeyId, secretAccessKey: env.s3.secretAccessKey } },
    { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'landing', namespace: tenant }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
    {
      apiVersion: 'datasync.dev/v1alpha1', kind: 'DataSync', metadata: { name: DS, namespace: tenant },
      spec: {
        source: { filesystem: { path: '/landing', volume: { persistentVolumeClaim: { claimName: 'landing', readOnly: true } } } },
        destination: { s3: { bucket, endpoint: env.s3.endpoint, region: env.s3.region, forcePathStyle: true, credentialsSecretRef: { name: 's3-creds' } } },
        mode: 'Copy', verify: 'Checksum', parallelism: { shards: 2 },
      },
    },
  ];
  kubectlOk(['apply', '-f', '-'], manifests.map((m) => `---\n${stringify(m)}`).join(''));

  const first = await waitFor('status.lastRun.outcome', () => {
    const s = dsStatus();
    return s?.lastRun?.outcome ? s : undefined;
  }, 180_000, 1000, () => '(see below)').catch(async (err: Error) => { throw new Error(`${err.message}\n${await diagnostics()}`); });
  assert.equal(first.lastRun!.outcome, 'Succeeded', `${JSON.stringify(first.lastRun)}\n${await diagnostics()}`);
  assert.equal(first.lastRun!.filesCopied, Object.keys(files).length);
  assert.equal(first.lastRun!.bytesCopied, Object.values(files).reduce((n, b) => n + b.length, 0));
  const landed = await readBucket(client, bucket);
  assert.deepEqual([...landed.keys()].sort(), Object.keys(files).sort());
  for (const [rel, data] of Object.entries(files)) assert.ok(landed.get(rel)!.equals(data), `${rel} byte for byte`);
  const table = kubectlOk(['get', 'datasync', '--namespace', tenant]);
  assert.match(table, new RegExp(`${DS}\\s+Succeeded\\s+100%`), table);
  // What the chart's RBAC let the operator do in the tenant namespace: the copier ServiceAccount and
  // its RoleBinding to the chart's datasync-copier ClusterRole ('bind' only), with which the copy
  // pods patched their progress annotation.
  const rb = JSON.parse(kubectlOk(['get', 'rolebinding', 'datasync-copier', '-n', tenant, '-o', 'json']));
  assert.deepEqual(rb.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'datasync-copier' });
  const copyPods = await listPods(kube, tenant, `datasync.dev/name=${DS},datasync.dev/step=copy`);
  assert.ok(copyPods.length >= 1);
  for (const p of copyPods) assert.ok(p.metadata.annotations?.['datasync.dev/progress'], `${p.metadata.name} reported progress`);

  // 3. helm upgrade with changed values: the operator rolls (a new pod) and the DataSync keeps working.
  helmOk(['upgrade', RELEASE, CHART, '--namespace', ops, '--reuse-values', '--set', 'logLevel=debug', '--set', `metrics.port=${port2}`, '--wait', '--timeout', '120s']);
  const pod2 = await waitFor('the old operator pod gone and a new one running', async () => {
    const pods = operatorPods(await listPods(kube, ops));
    const running = pods.filter((p) => p.status?.phase === 'Running');
    return pods.length === 1 && running.length === 1 && running[0]!.metadata.name !== pod1.metadata.name ? running[0] : undefined;
  }, 90_000, 500, () => kubectl(['get', 'pods,rs', '-n', ops, '-o', 'wide']).stdout);
  const args: string[] = JSON.parse(kubectlOk(['get', 'pod', pod2.metadata.name, '-n', ops, '-o', 'json'])).spec.containers[0].args;
  assert.ok(args.includes('--log-level=debug'), args.join(' '));
  await waitFor('the new operator to take the Lease', async () => (await leaseHolder())?.startsWith(pod2.metadata.name), 60_000, 500, () => operatorLog([pod2]));

  const added = { 'day=03/part-0003.bin': randomBytes(200 * 1024) };
  writeTree(path.join(hostRoot, 'pvc', tenant, 'landing'), added);
  kubectlOk(['patch', 'datasync', DS, '--namespace', tenant, '--type', 'merge', '-p', JSON.stringify({ spec: { trigger: { manual: 'after-upgrade' } } })]);
  const second = await waitFor('a second run to end', () => {
    const s = dsStatus();
    return s?.lastRun && s.lastRun.id !== first.lastRun!.id ? s : undefined;
  }, 180_000, 1000).catch(async (err: Error) => { throw new Error(`${err.message}\n${await diagnostics()}`); });
  assert.equal(second.lastRun!.outcome, 'Succeeded', `${JSON.stringify(second.lastRun)}\n${await diagnostics()}`);
  assert.equal(second.lastRun!.filesCopied, 1, JSON.stringify(second.lastRun));
  const landed2 = await readBucket(client, bucket);
  for (const [rel, data] of Object.entries({ ...files, ...added })) assert.ok(landed2.get(rel)?.equals(data), `${rel} byte for byte after the upgrade`);

  // 4. helm uninstall: no operator resources left; the CRD (and the DataSync) stay.
  helmOk(['uninstall', RELEASE, '--namespace', ops, '--wait', '--timeout', '90s']);
  const selector = `app.kubernetes.io/instance=${RELEASE}`;
  await waitFor('operator pods gone', async () => operatorPods(await listPods(kube, ops)).length === 0, 60_000, 500);
  for (const [kind, ns] of [['deployments,replicasets,services,serviceaccounts,roles,rolebindings,poddisruptionbudgets', ops], ['roles,rolebindings', tenant]] as const) {
    const left = kubectlOk(['get', kind, '-n', ns, '-l', selector, '-o', 'name']).trim();
    assert.equal(left, '', `left in ${ns}: ${left}`);
  }
  assert.equal(kubectl(['get', 'serviceaccount', FULLNAME, '-n', ops]).code, 1, 'operator ServiceAccount deleted');
  const clusterLeft = kubectlOk(['get', 'clusterroles,clusterrolebindings', '-l', selector, '-o', 'name']).trim();
  assert.equal(clusterLeft, '', `cluster-scoped objects left: ${clusterLeft}`);
  for (const name of ['datasync-copier', `${FULLNAME}-bind-copier`, FULLNAME]) {
    assert.equal(kubectl(['get', 'clusterrole', name]).code, 1, `ClusterRole ${name} deleted`);
  }
  assert.equal(kubectl(['get', 'crd', 'datasyncs.datasync.dev']).code, 0, 'the CRD stays');
  assert.equal(kubectl(['get', 'datasync', DS, '-n', tenant]).code, 0, 'DataSyncs stay');
  t.diagnostic(`whole lifecycle in ${Date.now() - t0} ms`);
});
