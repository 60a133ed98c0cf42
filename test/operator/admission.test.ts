// The CRD on a real API server: invalid manifests are refused with their CEL or schema message,
// the examples are accepted, and kubectl explain / get all / the short name work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { GROUP, VERSION, PLURAL, type DataSyncSpec } from '../../api/types.ts';
import { cluster, cleanupApi, cleanupNamespace, installApi, createNamespace, kubectl, ROOT, type Cluster } from './cluster.ts';

let c: Cluster;
let ns: string;
before(async () => {
  c = cluster();
  await installApi(c);
  ns = await createNamespace(c, 'admission');
});
after(async () => { await cleanupNamespace(c, ns); await cleanupApi(c); });

const fsA = { filesystem: { path: '/data/a' } };
const fsB = { filesystem: { path: '/data/b' } };
const s3 = { s3: { bucket: 'lake', endpoint: 'http://minio:9000' } };
const valid = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ source: fsA, destination: s3, ...over });

/** Server-side dry-run create; returns the API server's error message, or undefined when accepted. */
async function admit(spec: Record<string, unknown>): Promise<string | undefined> {
  try {
    await c.kube.custom.createNamespacedCustomObject({
      group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, dryRun: 'All',
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'DataSync', metadata: { name: 'probe' }, spec },
    });
    return undefined;
  } catch (err) {
    const body = (err as { body?: unknown }).body;
    const parsed = typeof body === 'string' ? (JSON.parse(body) as { message?: string }) : (body as { message?: string } | undefined);
    return parsed?.message ?? String(err);
  }
}

const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
  ['no endpoint kind in source', valid({ source: {} }), /source: Invalid value.*exactly one endpoint kind must be set/],
  ['two endpoint kinds in destination', valid({ destination: { ...s3, ...fsB } }), /destination: Invalid value.*exactly one endpoint kind/],
  ['missing destination', { source: fsA }, /spec.destination: Required value/],
  ['cron with 4 fields', valid({ schedule: '*/5 * * *' }), /spec.schedule: Invalid value: "\*\/5 \* \* \*": spec.schedule in body should match/],
  ['cron words', valid({ schedule: 'every hour' }), /spec.schedule in body should match/],
  ['shards 0', valid({ parallelism: { shards: 0 } }), /spec.parallelism.shards: Invalid value: 0: spec.parallelism.shards in body should be greater than or equal to 1/],
  ['shards 1001', valid({ parallelism: { shards: 1001 } }), /spec.parallelism.shards in body should be less than or equal to 1000/],
  ['bandwidthLimit not a quantity', valid({ bandwidthLimit: '10 MB/s' }), /spec.bandwidthLimit/],
  ['partSize not a quantity', valid({ parallelism: { partSize: 'big' } }), /spec.parallelism.partSize/],
  ['schedule and watch together', valid({ schedule: '@hourly', watch: { interval: '5m' } }), /schedule and watch cannot be combined/],
  ['maxDelete with mode Copy', valid({ mode: 'Copy', deletion: { maxDelete: '10%' } }), /deletion.maxDelete guards deletions and applies only with mode Sync or Move/],
  ['maxDelete over 100%', valid({ mode: 'Sync', deletion: { maxDelete: '150%' } }), /spec.deletion.maxDelete/],
  ['Move without verification', valid({ mode: 'Move', verify: 'None' }), /mode Move deletes sources only after a verified copy/],
  ['Move with compare Always', valid({ mode: 'Move', compare: 'Always' }), /mode Move with compare Always/],
  ['partitions without layout', valid({ partitions: { publish: 'Atomic' } }), /spec.partitions.layout: Required value/],
  ['layout without {yyyy}', valid({ partitions: { layout: '{MM}/{dd}' } }), /partitions.layout must contain the \{yyyy\} token/],
  ['successMarker with PerFile publish', valid({ partitions: { layout: '{yyyy}', publish: 'PerFile', successMarker: '_SUCCESS' } }), /successMarker marks a published partition and needs partitions.publish Atomic/],
  ['unknown mode', valid({ mode: 'Mirror' }), /spec.mode: Unsupported value: "Mirror"/],
  ['source equals destination', valid({ destination: fsA }), /source and destination must differ/],
  ['timeZone without schedule', valid({ timeZone: 'Europe/Berlin' }), /timeZone applies only to schedule/],
  ['s3 endpoint not a URL', valid({ destination: { s3: { bucket: 'lake', endpoint: 'minio:9000' } } }), /spec.destination.s3.endpoint in body should match/],
  ['webhdfs without namenodes', valid({ source: { webhdfs: { namenodes: [], path: '/x' } } }), /spec.source.webhdfs.namenodes in body should have at least 1 items/],
  ['bad duration', valid({ filters: { minAge: 'five minutes' } }), /spec.filters.minAge in body should match/],
  ['Sync with maxAge', valid({ mode: 'Sync', filters: { maxAge: '1h' } }), /mode Sync with filters.maxAge/],
];

test(`the API server refuses ${invalid.length} invalid manifests, each with its message`, async () => {
  const failures: string[] = [];
  for (const [what, spec, expected] of invalid) {
    const message = await admit(spec);
    if (message === undefined) failures.push(`${what}: accepted`);
    else if (!expected.test(message)) failures.push(`${what}: ${message}`);
  }
  assert.deepEqual(failures, []);
});

test('valid manifests and every example are accepted', async () => {
  const specs: Array<[string, Record<string, unknown>]> = [
    ['minimal', valid()],
    ['quantities as numbers and strings', valid({ bandwidthLimit: 1048576, parallelism: { shards: 1000, splitFilesLargerThan: '1Gi', partSize: '64Mi' }, filters: { minSize: 1, maxSize: '2G' } })],
    ['schedule macro + timeZone', valid({ schedule: '@daily', timeZone: 'Europe/Berlin', concurrencyPolicy: 'Forbid' })],
    ['Sync with guard', valid({ mode: 'Sync', deletion: { maxDelete: 100 } })],
  ];
  for (const f of readdirSync(path.join(ROOT, 'examples')).filter((x) => x.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(path.join(ROOT, 'examples', f), 'utf8'))) {
      const obj = doc.toJS() as { kind?: string; spec?: DataSyncSpec } | null;
      if (obj?.kind === 'DataSync' && obj.spec) specs.push([f, obj.spec as unknown as Record<string, unknown>]);
    }
  }
  for (const [what, spec] of specs) assert.equal(await admit(spec), undefined, what);
});

test('kubectl explain documents spec.source.s3; short name and categories work', async () => {
  let text = '';
  for (let i = 0; i < 40; i++) {
    try { text = kubectl(c.kubeconfig, ['explain', 'datasync.spec.source.s3']); if (text.includes('forcePathStyle')) break; } catch { /* OpenAPI not published yet */ }
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.match(text, /An S3 or S3-compatible bucket/);
  assert.match(text, /credentialsSecretRef.*\n.*Secret with keys accessKeyId, secretAccessKey/);
  await c.kube.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'DataSync', metadata: { name: 'listed' }, spec: valid({ suspend: true }) } });
  const header = kubectl(c.kubeconfig, ['get', 'dsync', '-n', ns]).split('\n')[0] ?? '';
  for (const col of ['NAME', 'PHASE', 'PROGRESS', 'FILES', 'BYTES', 'LAST SYNC', 'NEXT SYNC', 'AGE']) assert.ok(header.includes(col), `${col} in ${header}`);
  assert.match(kubectl(c.kubeconfig, ['get', 'all', '-n', ns]), /datasync\.datasync\.dev\/listed/);
  assert.match(kubectl(c.kubeconfig, ['get', 'datasync', '-n', ns, '-o', 'name']), /listed/);
});
