// The control plane is a real one: CRDs with CEL validation and a status subresource, the Job
// controller creating Indexed Job pods, the garbage collector, RBAC for service accounts, and a
// kubeconfig that @kubernetes/client-node accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig, CoreV1Api } from '@kubernetes/client-node';
import { testEnv, uniqueName } from './endpoints.ts';
import { KubeError, eventually, type Json } from './kube.ts';
import { adminClient, createNamespace, listPods, shellJob } from './kit.ts';

test('the API server reports the pinned version and @kubernetes/client-node accepts the kubeconfig', async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(testEnv().kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const namespaces = await core.listNamespace();
  assert.ok(namespaces.items.some((n) => n.metadata?.name === 'default'));
  const kube = adminClient();
  const version = await kube.get<{ gitVersion: string }>('/version');
  assert.match(version.gitVersion, /^v1\.(3[4-9]|[4-9]\d)\.\d+$/);
  kube.close();
});

test('a CRD with a status subresource and a CEL rule is served and enforced', async (t) => {
  const kube = adminClient();
  t.after(() => kube.close());
  const ns = await createNamespace(kube, uniqueName('env-crd'), t.after.bind(t));
  const plural = `widgets${Date.now().toString(36)}`;
  const group = 'envtest.datasync.dev';
  const crdName = `${plural}.${group}`;
  await kube.post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, singular: plural.slice(0, -1), kind: `Widget${Date.now().toString(36)}`, listKind: `Widget${Date.now().toString(36)}List` },
      versions: [{
        name: 'v1', served: true, storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['min', 'max'],
                properties: { min: { type: 'integer' }, max: { type: 'integer' } },
                'x-kubernetes-validations': [{ rule: 'self.min <= self.max', message: 'min must not exceed max' }],
              },
              status: { type: 'object', properties: { phase: { type: 'string' } } },
            },
          },
        },
      }],
    },
  });
  t.after(async () => { await kube.delete(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`).catch(() => {}); });
  await eventually('CRD Established', async () => {
    const crd = await kube.get<{ status?: { conditions?: Array<{ type: string; status: string }> } }>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`);
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
  }, 30_000, 100);
  const crd = await kube.get<{ spec: { names: { kind: string } } }>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`);
  const base = `/apis/${group}/v1/namespaces/${ns}/${plural}`;
  const obj = (name: string, min: number, max: number): Json => ({ apiVersion: `${group}/v1`, kind: crd.spec.names.kind, metadata: { name }, spec: { min, max } });

  // The discovery document may lag behind Established by a moment.
  await eventually('custom resource served', async () => (await kube.raw('GET', base)).status === 200 ? true : undefined, 30_000, 100);

  await assert.rejects(kube.post(base, obj('bad', 5, 1)), (err: unknown) => {
    assert.ok(err instanceof KubeError);
    assert.equal(err.status, 422);
    assert.match(err.message, /min must not exceed max/);
    return true;
  });

  const created = await kube.post<{ metadata: { generation: number } }>(base, obj('good', 1, 5));
  assert.equal(created.metadata.generation, 1);
  // The main resource ignores status; the status subresource ignores spec.
  await kube.patch(`${base}/good`, { status: { phase: 'Ignored' } });
  await kube.patch(`${base}/good/status`, { spec: { min: 100 }, status: { phase: 'Ready' } });
  const got = await kube.get<{ spec: { min: number }; status?: { phase?: string }; metadata: { generation: number } }>(`${base}/good`);
  assert.equal(got.status?.phase, 'Ready');
  assert.equal(got.spec.min, 1);
  assert.equal(got.metadata.generation, 1);
  // CEL applies on update too.
  await assert.rejects(kube.patch(`${base}/good`, { spec: { min: 9 } }), /min must not exceed max/);
});

test('an Indexed Job gets its pods from the real Job controller', async (t) => {
  const kube = adminClient();
  t.after(() => kube.close());
  const ns = await createNamespace(kube, uniqueName('env-job'), t.after.bind(t));
  // The pods wait in `sleep` so they can be inspected while the Job is active.
  const job = shellJob('indexed', 'sleep 30', { completionMode: 'Indexed', completions: 3, parallelism: 3 });
  await kube.post(`/apis/batch/v1/namespaces/${ns}/jobs`, job);
  const pods = await eventually('3 pods of the Indexed Job', async () => {
    const items = await listPods(kube, ns, 'job-name=indexed');
    return items.length === 3 ? items : undefined;
  }, 30_000, 100);
  const indexes = pods.map((p) => p.metadata.annotations?.['batch.kubernetes.io/job-completion-index']).sort();
  assert.deepEqual(indexes, ['0', '1', '2']);
  for (const p of pods) assert.deepEqual(p.metadata.ownerReferences?.map((o) => [o.kind, o.name]), [['Job', 'indexed']]);
  await kube.delete(`/apis/batch/v1/namespaces/${ns}/jobs/indexed`, { propagationPolicy: 'Background' });
});

test('deleting an owner garbage-collects its dependents', async (t) => {
  const kube = adminClient();
  t.after(() => kube.close());
  const ns = await createNamespace(kube, uniqueName('env-gc'), t.after.bind(t));
  const owner = await kube.post<{ metadata: { uid: string } }>(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'owner' }, data: { a: '1' } });
  const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid, blockOwnerDeletion: true };
  await kube.post(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'dependent', ownerReferences: [ref] }, data: { b: '2' } });
  await kube.post(`/api/v1/namespaces/${ns}/secrets`, { metadata: { name: 'dependent-secret', ownerReferences: [ref] }, stringData: { c: '3' } });
  await kube.post(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'bystander' }, data: { d: '4' } });

  await kube.delete(`/api/v1/namespaces/${ns}/configmaps/owner`, { propagationPolicy: 'Foreground' });
  await eventually('dependents collected', async () => {
    const cm = await kube.getIfExists(`/api/v1/namespaces/${ns}/configmaps/dependent`);
    const secret = await kube.getIfExists(`/api/v1/namespaces/${ns}/secrets/dependent-secret`);
    const ownerLeft = await kube.getIfExists(`/api/v1/namespaces/${ns}/configmaps/owner`);
    return cm === undefined && secret === undefined && ownerLeft === undefined ? true : undefined;
  }, 60_000, 200);
  assert.ok(await kube.getIfExists(`/api/v1/namespaces/${ns}/configmaps/bystander`), 'an unrelated object was collected');
});

test('RBAC denies a service account what it was not granted', async (t) => {
  const kube = adminClient();
  t.after(() => kube.close());
  const ns = await createNamespace(kube, uniqueName('env-rbac'), t.after.bind(t));
  await kube.post(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'reader' } });
  await kube.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
    metadata: { name: 'read-configmaps' },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
  });
  await kube.post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
    metadata: { name: 'reader' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'read-configmaps' },
    subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
  });
  await kube.post(`/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'visible' }, data: { k: 'v' } });
  await kube.post(`/api/v1/namespaces/${ns}/secrets`, { metadata: { name: 'hidden' }, stringData: { k: 'v' } });
  const tr = await kube.post<{ status: { token: string } }>(`/api/v1/namespaces/${ns}/serviceaccounts/reader/token`, {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 },
  });
  const asReader = kube.withToken(tr.status.token);
  t.after(() => asReader.close());

  const cm = await asReader.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/visible`);
  assert.deepEqual(cm.data, { k: 'v' });
  for (const [method, path] of [
    ['GET', `/api/v1/namespaces/${ns}/secrets/hidden`],
    ['GET', `/api/v1/namespaces/${ns}/secrets`],
    ['POST', `/api/v1/namespaces/${ns}/configmaps`],
    ['GET', '/api/v1/namespaces/default/configmaps'],
  ] as const) {
    const res = await asReader.raw(method, path, method === 'POST' ? { body: { metadata: { name: 'x' } } } : {});
    assert.equal(res.status, 403, `${method} ${path} answered ${res.status}`);
    assert.match(res.body, new RegExp(`system:serviceaccount:${ns}:reader`));
  }
  // A token that is not one the API server signed is refused outright.
  const forged = kube.withToken(`${tr.status.token.slice(0, -4)}AAAA`);
  t.after(() => forged.close());
  assert.equal((await forged.raw('GET', `/api/v1/namespaces/${ns}/configmaps/visible`)).status, 401);
});
