// The chart without a running operator: helm lint, values.schema.json refusing bad values, the
// rendered RBAC (no wildcards, no Secrets, leader election), the Deployment's flags against the
// operator's own --help, a server-side dry run of the rendered chart on the real API server in both
// namespace modes, the chart's CRD against the generator, and the examples/ manifests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { uniqueName } from '../env/endpoints.ts';
import { adminClient, createNamespace } from '../env/kit.ts';
import type { KubeClient } from '../env/kube.ts';
import { parse } from 'yaml';
import { renderCrd, crdObject } from '../../scripts/gen-api.ts';
import { CHART, ROOT, KUBE_VERSION, helm, kubectl, kubectlOk, render, run, parseYamlDocs, valueArgs, waitFor, type Manifest } from './helpers.ts';

let kube: KubeClient;
const cleanups: Array<() => Promise<void>> = [];
before(() => { kube = adminClient(); });
after(async () => {
  for (const c of cleanups) await c().catch(() => {});
  kube?.close();
});
const newNamespace = (prefix: string): Promise<string> => createNamespace(kube, uniqueName(prefix), (fn) => cleanups.push(fn));

const VARIANTS: Array<[string, Record<string, unknown>]> = [
  ['defaults', {}],
  ['namespace list', { watchNamespaces: ['team-a', 'team-b'] }],
  ['three replicas, PDB, ServiceMonitor', { replicaCount: 3, 'podDisruptionBudget.enabled': true, 'metrics.serviceMonitor.enabled': true }],
  ['existing ServiceAccount, no metrics Service, scheduling', {
    'serviceAccount.create': false, 'serviceAccount.name': 'ops-sa', 'metrics.service.enabled': false,
    nodeSelector: { 'kubernetes.io/os': 'linux' }, tolerations: [{ key: 'ops', operator: 'Exists', effect: 'NoSchedule' }],
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'pool', operator: 'In', values: ['ops'] }] }] } } },
    'copier.image': 'registry.example/datasync:custom', 'copier.resources': { requests: { cpu: 1, memory: '2Gi' } }, logLevel: 'debug',
  }],
];

for (const [name, values] of VARIANTS) {
  test(`helm lint is clean: ${name}`, () => {
    const r = helm(['lint', CHART, '--strict', ...valueArgs(values)]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /\[(ERROR|WARNING)\]/, r.stdout);
  });
}

const BAD: Array<[string, Record<string, unknown>, RegExp]> = [
  ['unknown log level', { logLevel: 'loud' }, /logLevel.*value must be one of/],
  ['negative replicas', { replicaCount: -1 }, /replicaCount.*minimum/],
  ['replicas as a string', { replicaCount: 'two' }, /replicaCount.*want integer/],
  ['watchNamespaces as a string', { watchNamespaces: 'team-a' }, /watchNamespaces.*want array/],
  ['invalid namespace name', { watchNamespaces: ['Team_A'] }, /watchNamespaces\/0.*pattern/],
  ['resources as a string', { resources: 'big' }, /resources.*want object/],
  ['bad quantity', { 'copier.resources': { limits: { memory: 'lots' } } }, /copier\/resources\/limits\/memory/],
  ['unknown pull policy', { 'image.pullPolicy': 'Sometimes' }, /pullPolicy.*value must be one of/],
  ['misspelt key', { replicas: 2 }, /additional properties 'replicas' not allowed/],
  ['metrics port out of range', { 'metrics.port': 70000 }, /metrics\/port.*maximum/],
  ['unknown seccomp profile type', { 'securityContext.seccompProfile': { type: 'Loose' } }, /seccompProfile\/type/],
];

for (const [name, values, message] of BAD) {
  test(`bad values fail with a message: ${name}`, () => {
    const t = helm(['template', 'bad', CHART, '--kube-version', KUBE_VERSION, ...valueArgs(values)]);
    assert.notEqual(t.code, 0, `helm template accepted ${JSON.stringify(values)}`);
    assert.match(t.stderr, /values don't meet the specifications of the schema/);
    assert.match(t.stderr, message);
  });
}

test('a bad value fails `helm install` against the server before anything is created', async () => {
  const ns = await newNamespace('chart-bad');
  const r = helm(['install', 'bad', CHART, '--namespace', ns, '--set', 'logLevel=loud']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /logLevel.*value must be one of/);
  assert.equal(helm(['status', 'bad', '--namespace', ns]).code, 1, 'no release recorded');
  assert.equal(kubectl(['get', 'deployment', '--namespace', ns, '-o', 'name']).stdout.trim(), '');
});

function rbacRules(objects: Manifest[]): Array<{ from: string; rule: Record<string, string[] | undefined> }> {
  return objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role').flatMap((o) =>
    ((o['rules'] as Array<Record<string, string[]>>) ?? []).map((rule) => ({ from: `${o.kind}/${o.metadata.name}`, rule })));
}

for (const [name, values] of VARIANTS) {
  test(`RBAC has no wildcard and no Secret access: ${name}`, () => {
    const { objects } = render('r', 'ops', values);
    const rules = rbacRules(objects);
    assert.ok(rules.length > 5);
    for (const { from, rule } of rules) {
      for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames', 'nonResourceURLs']) {
        for (const v of rule[field] ?? []) assert.ok(!v.includes('*'), `${from}: ${field} contains '${v}'`);
      }
      assert.ok(!(rule['resources'] ?? []).some((r) => r === 'secrets' || r.startsWith('pods/')), `${from}: ${JSON.stringify(rule)}`);
      // The only cluster-scoped rights the operator gets over RBAC objects: bind the copier role.
      if ((rule['resources'] ?? []).includes('clusterroles')) {
        assert.deepEqual(rule['verbs'], ['bind'], from);
        assert.deepEqual(rule['resourceNames'], ['datasync-copier'], from);
      }
    }
    const copier = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'datasync-copier');
    assert.deepEqual(copier?.['rules'], [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'patch'] }]);
    // Every Role and ClusterRole is bound to the operator's ServiceAccount, except the copier's (the operator binds it).
    const sa = (values['serviceAccount.name'] as string | undefined) ?? 'r-datasync';
    for (const role of objects.filter((o) => (o.kind === 'Role' || o.kind === 'ClusterRole') && o.metadata.name !== 'datasync-copier')) {
      const bound = objects.some((b) => (b.kind === 'RoleBinding' || b.kind === 'ClusterRoleBinding')
        && (b['roleRef'] as { kind: string; name: string }).name === role.metadata.name && (b['roleRef'] as { kind: string }).kind === role.kind
        && (b['subjects'] as Array<{ name: string; namespace: string }>).some((s) => s.name === sa && s.namespace === 'ops'));
      assert.ok(bound, `${role.kind}/${role.metadata.name} is bound to ServiceAccount ops/${sa}`);
    }
  });
}

test('namespace list: no cluster-wide rights beyond binding the copier role', () => {
  const { objects } = render('r', 'ops', { watchNamespaces: ['team-a', 'team-b'] });
  assert.deepEqual(objects.filter((o) => o.kind === 'ClusterRoleBinding').map((o) => o.metadata.name), []);
  const roles = objects.filter((o) => o.kind === 'Role' && o.metadata.name === 'r-datasync');
  assert.deepEqual(roles.map((o) => o.metadata.namespace).sort(), ['team-a', 'team-b']);
  const bindCopier = objects.filter((o) => o.kind === 'RoleBinding' && o.metadata.name === 'r-datasync-bind-copier');
  assert.deepEqual(bindCopier.map((o) => o.metadata.namespace).sort(), ['team-a', 'team-b']);
  const deploy = objects.find((o) => o.kind === 'Deployment')!;
  assert.ok(containerArgs(deploy).includes('--namespaces=team-a,team-b'));
});

function containerArgs(deploy: Manifest): string[] {
  return (deploy['spec'] as { template: { spec: { containers: Array<{ args: string[] }> } } }).template.spec.containers[0]!.args;
}
function podSpec(deploy: Manifest): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return (deploy['spec'] as { template: { spec: Record<string, unknown> } }).template.spec;
}

test('leader election: on by default, forced on above one replica, its Role only when on', () => {
  const cases: Array<[Record<string, unknown>, boolean]> = [
    [{}, true], [{ 'leaderElection.enabled': false }, false], [{ 'leaderElection.enabled': false, replicaCount: 2 }, true],
  ];
  for (const [values, on] of cases) {
    const { objects } = render('r', 'ops', values);
    const args = containerArgs(objects.find((o) => o.kind === 'Deployment')!);
    assert.ok(args.includes(`--leader-elect=${on}`), `${JSON.stringify(values)}: ${args.join(' ')}`);
    const role = objects.find((o) => o.kind === 'Role' && o.metadata.name === 'r-datasync-leader-election');
    assert.equal(!!role, on, JSON.stringify(values));
    if (on) {
      assert.ok(args.includes('--leader-election-namespace=ops') && args.includes('--leader-election-id=r-datasync-operator'), args.join(' '));
      const named = (role!['rules'] as Array<{ verbs: string[]; resourceNames?: string[] }>).find((r) => r.verbs.includes('update'));
      assert.deepEqual(named?.resourceNames, ['r-datasync-operator']);
    }
  }
});

test('the Deployment passes only flags the operator accepts, with hardened pods', () => {
  const help = run(process.execPath, [path.join(ROOT, 'operator/main.ts'), '--help']);
  assert.equal(help.code, 0, help.stderr);
  const accepted = new Set([...help.stdout.matchAll(/--([a-z][a-z-]+)/g)].map((m) => m[1]));
  for (const [name, values] of VARIANTS) {
    const deploy = render('r', 'ops', values).objects.find((o) => o.kind === 'Deployment')!;
    const spec = podSpec(deploy);
    const c = spec['containers'][0];
    assert.deepEqual(c.command, ['datasync-operator']);
    for (const arg of c.args as string[]) {
      const flag = /^--([a-z-]+)=/.exec(arg)?.[1];
      assert.ok(flag && accepted.has(flag), `${name}: ${arg} is not a flag of datasync-operator --help:\n${help.stdout}`);
    }
    assert.equal(spec['securityContext'].runAsNonRoot, true);
    assert.deepEqual(spec['securityContext'].seccompProfile, { type: 'RuntimeDefault' });
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'] });
    assert.equal(spec['serviceAccountName'], (values['serviceAccount.name'] as string | undefined) ?? 'r-datasync');
    if (values['nodeSelector']) assert.deepEqual(spec['nodeSelector'], values['nodeSelector']);
    if (values['tolerations']) assert.deepEqual(spec['tolerations'], values['tolerations']);
    if (values['affinity']) assert.deepEqual(spec['affinity'], values['affinity']);
    if (values['copier.image']) assert.ok(c.args.includes(`--copier-image=${values['copier.image']}`));
    const res = (c.env as Array<{ name: string; value?: string }>).find((e) => e.name === 'DATASYNC_COPIER_RESOURCES');
    // --set-json merges into the defaults: requests replaced, the default limit kept.
    const expected = values['copier.resources']
      ? { requests: { cpu: 1, memory: '2Gi' }, limits: { memory: '1Gi' } }
      : { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } };
    assert.deepEqual(JSON.parse(res!.value!), expected);
  }
});

async function dryRun(values: Record<string, unknown>, watched: number): Promise<string> {
  const ns = await newNamespace('chart-dry');
  const tenants: string[] = [];
  for (let i = 0; i < watched; i++) tenants.push(await newNamespace(`chart-dry-t${i}`));
  const v = { ...values, ...(tenants.length ? { watchNamespaces: tenants } : {}) };
  const { text, objects } = render('dry', ns, v);
  const r = kubectl(['apply', '--dry-run=server', '-f', '-'], text);
  assert.equal(r.code, 0, `server-side dry run refused the chart (${JSON.stringify(v)}):\n${r.stderr}`);
  const applied = r.stdout.trim().split('\n');
  assert.equal(applied.length, objects.length, r.stdout);
  for (const line of applied) assert.match(line, /(created|configured|unchanged) \(server dry run\)$/);
  return r.stdout;
}

test('server-side dry run on the API server: all namespaces', async () => {
  const out = await dryRun({ 'podDisruptionBudget.enabled': true, replicaCount: 2 }, 0);
  assert.match(out, /clusterrolebinding\.rbac\.authorization\.k8s\.io\/dry-datasync created/);
  assert.match(out, /poddisruptionbudget\.policy\/dry-datasync created/);
});

test('server-side dry run on the API server: a list of namespaces', async () => {
  const out = await dryRun({ logLevel: 'debug' }, 2);
  assert.match(out, /role\.rbac\.authorization\.k8s\.io\/dry-datasync created/);
  assert.doesNotMatch(out, /clusterrolebinding/);
});

test('the chart CRD is the generated one (node scripts/gen-api.ts --out charts/datasync/crds)', () => {
  const chartCrd = readFileSync(path.join(CHART, 'crds/datasync.yaml'), 'utf8');
  const topCrd = readFileSync(path.join(ROOT, 'crds/datasync.yaml'), 'utf8');
  const hint = 'regenerate with: node scripts/gen-api.ts --out charts/datasync/crds';
  assert.equal(chartCrd, renderCrd(), `charts/datasync/crds/datasync.yaml is stale; ${hint}`);
  assert.equal(topCrd, renderCrd(), `crds/datasync.yaml is stale; ${hint}`);
  assert.deepEqual(readdirSync(path.join(CHART, 'crds')), ['datasync.yaml']);
  const check = run(process.execPath, [path.join(ROOT, 'scripts/gen-api.ts'), '--check', '--out', path.join(CHART, 'crds')]);
  assert.equal(check.code, 0, check.stderr);
  // kubectl and Helm read YAML 1.1, where unquoted on/off/yes/no are booleans: the file must mean the
  // same object there (a property named `on` written unquoted would become `true`).
  assert.deepEqual(parse(chartCrd, { version: '1.1' }), crdObject(), 'the CRD reads differently as YAML 1.1 (kubectl, Helm): quote keys such as on/off/yes/no (stringify with version 1.1 in scripts/gen-api.ts)');
  // Helm ships it from crds/ (installed once, never templated, kept on uninstall).
  const { objects } = render('r', 'ops', {}, ['--include-crds']);
  assert.ok(objects.some((o) => o.kind === 'CustomResourceDefinition' && o.metadata.name === 'datasyncs.datasync.dev'));
});

/** The commented Secret templates of an example: the comment block after "The Secret(s) it expects". */
export function secretTemplates(text: string): Manifest[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /The Secrets? it expects/.test(l));
  if (start < 0) return [];
  const block: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (!l.startsWith('#')) break;
    block.push(l.replace(/^# ?/, ''));
  }
  return parseYamlDocs(block.join('\n'));
}

const EXAMPLES = readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.yaml')).sort();

test('the examples: each seed workflow has a manifest the API server accepts, and each Secret it names has a template', async () => {
  assert.ok(EXAMPLES.length >= 5, EXAMPLES.join(', '));
  kubectlOk(['apply', '--server-side', '--force-conflicts', '--field-manager', 'datasync-tests', '-f', path.join(ROOT, 'crds/datasync.yaml')]);
  await waitFor('CRD Established', () => kubectl(['get', 'crd/datasyncs.datasync.dev', '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']).stdout === 'True', 30_000);
  await waitFor('DataSync served', () => kubectl(['get', 'datasyncs', '-A']).code === 0, 30_000);
  const ns = await newNamespace('chart-ex');
  const modes = new Set<string>();
  for (const file of EXAMPLES) {
    const text = readFileSync(path.join(ROOT, 'examples', file), 'utf8');
    const docs = parseYamlDocs(text).filter((d) => d.kind === 'DataSync');
    assert.equal(docs.length, 1, `${file}: one DataSync`);
    const ds = docs[0]!;
    const spec = ds['spec'] as { mode?: string; source: Record<string, { credentialsSecretRef?: { name: string }; delegationTokenSecretRef?: { name: string } }>; destination: Record<string, { credentialsSecretRef?: { name: string } }>; notify?: { webhook?: { urlSecretRef?: { name: string } } } };
    modes.add(`${Object.keys(spec.source)[0]}→${Object.keys(spec.destination)[0]}:${spec.mode ?? 'Copy'}`);
    const manifests = [{ ...ds, metadata: { ...ds.metadata, namespace: ns } }];
    // Every Secret the manifest names comes with a template that parses once uncommented.
    const named = new Set<string>();
    for (const ep of [...Object.values(spec.source), ...Object.values(spec.destination)]) {
      for (const ref of [ep.credentialsSecretRef, (ep as { delegationTokenSecretRef?: { name: string } }).delegationTokenSecretRef]) if (ref) named.add(ref.name);
    }
    if (spec.notify?.webhook?.urlSecretRef) named.add(spec.notify.webhook.urlSecretRef.name);
    const templates = secretTemplates(text);
    for (const t of templates) assert.equal(t.kind, 'Secret', `${file}: template ${t.metadata.name}`);
    assert.deepEqual(templates.map((t) => t.metadata.name).sort(), [...named].sort(), `${file}: Secret templates for ${[...named].join(', ')}`);
    for (const t of templates) manifests.push({ ...t, metadata: { ...t.metadata, namespace: ns } });
    const input = manifests.map((m) => JSON.stringify(m)).join('\n');
    const r = kubectl(['apply', '--dry-run=server', '-f', '-'], input);
    assert.equal(r.code, 0, `${file}: the API server refused it:\n${r.stderr}`);
  }
  for (const seed of ['webhdfs→s3:Copy', 'filesystem→s3:Move', 'gcs→s3:Sync', 'filesystem→azureBlob:Copy']) {
    assert.ok(modes.has(seed), `a seed example for ${seed} (have ${[...modes].join(', ')})`);
  }
});
