// Leader election on a Lease: of two operator processes only the lease holder acts; when it is
// killed (no graceful release), the other takes over after the lease expires.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { cluster, cleanupApi, cleanupNamespace, installApi, createNamespace, startOperator, createDataSync, getDataSync, waitFor, type Cluster, type OperatorProcess } from './cluster.ts';

let c: Cluster;
let ns: string;
const ops: OperatorProcess[] = [];
before(async () => {
  c = cluster();
  await installApi(c);
  ns = await createNamespace(c, 'oplead');
});
after(async () => {
  // The DataSyncs here are suspended; the finalizer needs a live operator, so start one if none is left.
  const finalizer = ops.find((o) => o.child.exitCode === null && o.child.signalCode === null) ?? startOperator(c, ['--namespaces', ns, '--leader-elect', 'false']);
  await cleanupNamespace(c, ns);
  await Promise.all([...ops, finalizer].map((o) => o.stop()));
  await cleanupApi(c);
});

const spec = { source: { filesystem: { path: '/data/in' } }, destination: { filesystem: { path: '/data/out' } }, suspend: true };
const args = (): string[] => ['--namespaces', ns, '--leader-elect', 'true', '--leader-election-namespace', ns, '--lease-duration', '4'];

async function holder(): Promise<string | undefined> {
  try {
    return (await c.kube.coordination.readNamespacedLease({ namespace: ns, name: 'datasync-operator' })).spec?.holderIdentity || undefined;
  } catch { return undefined; }
}
const identityOf = (op: OperatorProcess): string | undefined => /"identity":"([^"]+)"/.exec(op.logs())?.[1];

test('only the lease holder acts; killing it hands over to the other', { timeout: 90_000 }, async () => {
  const a = startOperator(c, args(), 'leader-a');
  ops.push(a);
  const first = await waitFor('a lease holder', holder, 20_000);
  const b = startOperator(c, args(), 'leader-b');
  ops.push(b);
  await waitFor('b started', async () => identityOf(b), 15_000);
  assert.equal(first, identityOf(a));

  await createDataSync(c, ns, 'led-one', spec);
  await waitFor('status from the leader', async () => (await getDataSync(c, ns, 'led-one')).status?.phase, 15_000);
  await sleep(1000);
  assert.match(a.logs(), /became leader/);
  assert.doesNotMatch(b.logs(), /became leader/, 'the standby never leads while the holder renews');
  assert.equal(await holder(), identityOf(a));

  a.child.kill('SIGKILL');
  const next = await waitFor('takeover', async () => { const h = await holder(); return h && h !== first ? h : undefined; }, 30_000);
  assert.equal(next, identityOf(b));
  await createDataSync(c, ns, 'led-two', spec);
  await waitFor('the new leader reconciles', async () => (await getDataSync(c, ns, 'led-two')).status?.phase, 15_000);
  assert.match(b.logs(), /became leader/);

  // Graceful shutdown hands the lease over at once instead of letting it expire.
  await b.stop('SIGTERM');
  assert.equal(b.child.exitCode, 0);
  assert.equal(await holder(), undefined);
});
