// How many TCP connections the Kubernetes clients open against the real API server: a counting TCP
// proxy sits in front of the test cluster's kube-apiserver (TLS passes through it untouched) and
// counts the connections it accepts. client-node alone opens one per API call (a new undici Agent per
// request); through shareConnections (operator/kube.ts) the operator's clients, their watches and the
// copier's progress reporter each keep a handful.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { cluster, createNamespace, waitFor, type Cluster } from './cluster.ts';
import { MERGE_PATCH, loadKubeConfig, makeKube } from '../../operator/kube.ts';
import { PROGRESS_ANNOTATION, podPatcher } from '../../copier/progress/pod-annotation.ts';

const CALLS = 50;
/** A pod bound to a node that does not exist: an object to patch that nothing runs. */
const POD = 'progress-target';

interface CountingProxy { url: string; accepted: number; close(): Promise<void> }

async function countingProxy(target: URL): Promise<CountingProxy> {
  const open = new Set<net.Socket>();
  const proxy = { url: '', accepted: 0, close: async () => {} };
  const server = net.createServer((client) => {
    proxy.accepted++;
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', () => {});
      s.on('close', () => { open.delete(s); client.destroy(); upstream.destroy(); });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  proxy.close = async () => {
    for (const s of open) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}

let c: Cluster;
let ns: string;
let proxy: CountingProxy;

/** The test cluster's kubeconfig (CA, client certificate and key files), pointed at the proxy. */
function throughProxy(): KubeConfig {
  const base = loadKubeConfig(c.kubeconfig);
  const current = base.getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: base.getClusters().map((x) => (x.name === current.name ? { ...x, server: proxy.url } : x)),
    users: base.getUsers(), contexts: base.getContexts(), currentContext: base.getCurrentContext(),
  });
  return kc;
}

/** CALLS requests of the kinds a reconcile makes: create, get, merge patch, list. */
async function apiCalls(core: CoreV1Api, prefix: string): Promise<void> {
  for (let i = 0; i < CALLS; i++) {
    const name = `${prefix}-${Math.floor(i / 4)}`;
    switch (i % 4) {
      case 0: await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name }, data: { n: '0' } } }); break;
      case 1: await core.readNamespacedConfigMap({ namespace: ns, name }); break;
      case 2: await core.patchNamespacedConfigMap({ namespace: ns, name, body: { data: { n: String(i) } } }, MERGE_PATCH); break;
      default: await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'none=none' });
    }
  }
}

before(async () => {
  c = cluster();
  ns = await createNamespace(c, 'connections');
  proxy = await countingProxy(new URL(c.kube.config.getCurrentCluster()!.server));
});

after(async () => {
  await proxy?.close();
  // No kubelet confirms the pod's end on a node that does not exist: delete it at once, or the
  // namespace stays Terminating.
  try { await c.kube.core.deleteNamespacedPod({ namespace: ns, name: POD, gracePeriodSeconds: 0 }); } catch { /* not created */ }
  try { await c.kube.core.deleteNamespace({ name: ns }); } catch { /* already going */ }
});

test(`client-node alone opens a connection per API call: ${CALLS} calls, about ${CALLS} connections`, async (t) => {
  proxy.accepted = 0;
  await apiCalls(throughProxy().makeApiClient(CoreV1Api), 'plain');
  t.diagnostic(`${CALLS} calls without shareConnections: ${proxy.accepted} TCP connections`);
  assert.ok(proxy.accepted >= CALLS - 5, `expected about one connection per call, got ${proxy.accepted}`);
});

test(`the operator's clients (makeKube): ${CALLS} API calls and a watch over a handful of connections`, async (t) => {
  proxy.accepted = 0;
  const kube = makeKube(throughProxy());
  const seen: string[] = [];
  const watch = await kube.watch.watch(`/api/v1/namespaces/${ns}/configmaps`, {}, (type, obj: { metadata?: { name?: string } }) => {
    if (obj.metadata?.name?.startsWith('shared-')) seen.push(`${type} ${obj.metadata.name}`);
  }, () => {});
  try {
    await apiCalls(kube.core, 'shared');
    // The watch is live on the shared pool: it sees the creates and patches just made.
    await waitFor('watch events', async () => seen.filter((e) => e.startsWith('ADDED')).length === Math.ceil(CALLS / 4), 10_000, 50);
  } finally {
    watch.abort();
  }
  t.diagnostic(`${CALLS} calls + 1 watch through makeKube: ${proxy.accepted} TCP connection(s), ${seen.length} watch events`);
  assert.ok(proxy.accepted <= 3, `${proxy.accepted} connections for ${CALLS} calls and a watch`);
});

test(`the copier's progress reporter patches its pod ${CALLS} times over one connection`, async (t) => {
  const pod = POD;
  await c.kube.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: pod }, spec: { nodeName: 'no-such-node', containers: [{ name: 'c', image: 'none' }] } } });
  proxy.accepted = 0;
  const patch = podPatcher(throughProxy(), pod, ns);
  for (let i = 1; i <= CALLS; i++) await patch(JSON.stringify({ filesDone: i }));
  t.diagnostic(`${CALLS} progress patches: ${proxy.accepted} TCP connection(s)`);
  assert.ok(proxy.accepted <= 2, `${proxy.accepted} connections for ${CALLS} patches`);
  const got = await c.kube.core.readNamespacedPod({ namespace: ns, name: pod });
  assert.equal(got.metadata?.annotations?.[PROGRESS_ANNOTATION], JSON.stringify({ filesDone: CALLS }));
});
