// Seed-workflow features through the operator, not only the CLI: a partitioned DataSync publishes
// the ready partition with its marker, leaves the waiting one alone, and carries the watermark into
// status; a webhook that keeps failing sets Degraded (WebhookFailed) without failing the data run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { cluster, cleanupApi, cleanupNamespace, installApi, createNamespace, startOperator, createDataSync, getDataSync, waitFor, type Cluster, type OperatorProcess } from './cluster.ts';
import { s3Client, createBucket, readBucket } from './s3.ts';

let c: Cluster;
let ns: string;
let op: OperatorProcess;
let receiver: Server;
const received: string[] = [];

before(async () => {
  c = cluster();
  await installApi(c);
  ns = await createNamespace(c, 'opflow');
  op = startOperator(c, ['--namespaces', ns, '--leader-elect', 'false']);
  await c.kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'minio' }, stringData: { accessKeyId: c.env.s3.accessKeyId, secretAccessKey: c.env.s3.secretAccessKey } } });
  // A receiver that is down for good: every delivery is answered 503 after its body was read.
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => { body += chunk.toString('utf8'); });
    req.on('end', () => { received.push(body); res.writeHead(503).end(); });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/datasync`;
  await c.kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'hooks' }, stringData: { url } } });
});
after(async () => { await cleanupNamespace(c, ns); await op?.stop(); await cleanupApi(c); receiver?.close(); });

const day = (offsetDays: number): string => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '/');

test('partitions and a failing webhook through the operator: marker, waiting partition, watermark, Degraded WebhookFailed', { timeout: 240_000 }, async () => {
  const srcDir = path.join(c.env.podRunner?.hostRoot ?? '/tmp', 'data', ns, 'clicks');
  const ready = day(-1);
  const waiting = day(0);
  const expected = new Map<string, Buffer>();
  for (const [partition, files] of [[ready, 3], [waiting, 2]] as const) {
    mkdirSync(path.join(srcDir, partition), { recursive: true });
    for (let i = 0; i < files; i++) {
      const rel = `${partition}/events-${i}.json`;
      const data = randomBytes(4096 + i);
      writeFileSync(path.join(srcDir, rel), data);
      if (partition === ready) expected.set(rel, data);
    }
  }
  writeFileSync(path.join(srcDir, ready, '_SUCCESS'), ''); // the waiting partition has no ready marker
  const bucket = `flow-${ns}`.slice(0, 63);
  const s3 = s3Client(c.env);
  await createBucket(s3, bucket);

  await createDataSync(c, ns, 'clicks', {
    source: { filesystem: { path: '/data/clicks', volume: { hostPath: { path: srcDir } } } },
    destination: { s3: { bucket, prefix: 'raw', endpoint: c.env.s3.endpoint, region: c.env.s3.region, forcePathStyle: true, credentialsSecretRef: { name: 'minio' } } },
    partitions: { layout: '{yyyy}/{MM}/{dd}', lookback: '72h', readyMarker: '_SUCCESS', publish: 'Atomic', successMarker: '_SUCCESS' },
    notify: { webhook: { urlSecretRef: { name: 'hooks', key: 'url' } }, on: ['Succeeded', 'Failed', 'PartiallyFailed'] },
  });

  const ds = await waitFor('the run recorded', async () => {
    const d = await getDataSync(c, ns, 'clicks');
    return d.status?.lastRun ? d : undefined;
  }, 200_000, 500);
  const st = ds.status!;
  assert.equal(st.lastRun!.outcome, 'Succeeded', `the data run succeeds whatever the webhook does: ${st.lastRun!.message ?? ''}`);

  // Only the ready partition landed, byte for byte, with its success marker written by the committer.
  const landed = await readBucket(s3, bucket, 'raw/');
  const marker = landed.get(`${ready}/_SUCCESS`);
  assert.ok(marker, `the ready partition has its success marker; landed: ${[...landed.keys()].join(', ')}`);
  landed.delete(`${ready}/_SUCCESS`);
  assert.deepEqual([...landed.keys()].sort(), [...expected.keys()].sort());
  for (const [k, v] of expected) assert.ok(landed.get(k)!.equals(v), `${k} byte for byte`);
  assert.equal(JSON.parse(marker.toString('utf8')).fileCount, expected.size);

  assert.deepEqual(st.lastRun!.partitions?.waiting, [waiting]);
  assert.deepEqual(st.lastRun!.partitions?.published, [ready]);
  assert.deepEqual(st.watermark, { partition: ready });

  // The webhook: every attempt reached the receiver with the run report, all answered 503.
  assert.equal(st.lastRun!.notification?.state, 'Failed');
  assert.ok(received.length >= 2, `delivery was retried (${received.length} attempts received)`);
  assert.equal(JSON.parse(received[0]!).id, st.lastRun!.id, 'the POST body is the run report');
  const degraded = st.conditions?.find((x) => x.type === 'Degraded');
  assert.equal(degraded?.status, 'True');
  assert.equal(degraded?.reason, 'WebhookFailed');
  assert.match(degraded!.message, /webhook notification failed/);
  assert.doesNotMatch(JSON.stringify(st), /\/hooks\/datasync/, 'the webhook URL (a secret) never reaches status');
});
