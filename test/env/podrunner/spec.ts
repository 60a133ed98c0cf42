// Turning a pod spec into a local process: the checks for what the runner cannot honour, the
// environment (env, envFrom, secretKeyRef, configMapKeyRef, fieldRef, $(VAR) expansion), the volumes
// and the command line.
import { mkdirSync, writeFileSync, symlinkSync, existsSync, lstatSync, rmSync } from 'node:fs';
import path from 'node:path';
import { KubeError, type KubeClient } from '../kube.ts';
import { resolveImage, KNOWN_IMAGES } from './images.ts';
import { hostPathOf, pvcDir, volumeDir, PATH_PREFIX_ENV } from './paths.ts';

/** The spec asks for something the runner cannot do: the pod fails with this message. */
export class UnsupportedSpec extends Error {
  constructor(field: string, detail: string) {
    super(`unsupported by the local pod runner: ${field}: ${detail}`);
    this.name = 'UnsupportedSpec';
  }
}

/** Something the pod needs does not exist yet (a Secret, a ConfigMap, a PVC): the pod waits, as with a kubelet. */
export class ConfigNotReady extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigNotReady';
  }
}

export interface KeyToPath { key: string; path: string; mode?: number }
export interface ObjectFieldSelector { fieldPath: string }
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: ObjectFieldSelector;
    resourceFieldRef?: unknown;
  };
}
export interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}
export interface VolumeMount { name: string; mountPath: string; subPath?: string; subPathExpr?: string; readOnly?: boolean }
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  volumeMounts?: VolumeMount[];
  volumeDevices?: unknown[];
  lifecycle?: unknown;
  terminationMessagePath?: string;
  terminationMessagePolicy?: string;
}
export interface DownwardItem { path: string; fieldRef?: ObjectFieldSelector; resourceFieldRef?: unknown; mode?: number }
export interface ProjectedSource {
  serviceAccountToken?: { audience?: string; expirationSeconds?: number; path: string };
  configMap?: { name: string; items?: KeyToPath[]; optional?: boolean };
  secret?: { name: string; items?: KeyToPath[]; optional?: boolean };
  downwardAPI?: { items?: DownwardItem[] };
  clusterTrustBundle?: unknown;
  podCertificate?: unknown;
}
export interface Volume {
  name: string;
  emptyDir?: unknown;
  secret?: { secretName: string; items?: KeyToPath[]; optional?: boolean };
  configMap?: { name: string; items?: KeyToPath[]; optional?: boolean };
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  hostPath?: { path: string; type?: string };
  projected?: { sources?: ProjectedSource[] };
  downwardAPI?: { items?: DownwardItem[] };
  [other: string]: unknown;
}
export interface Pod {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    resourceVersion?: string;
  };
  spec: {
    nodeName?: string;
    schedulerName?: string;
    serviceAccountName?: string;
    restartPolicy?: string;
    terminationGracePeriodSeconds?: number;
    containers: Container[];
    initContainers?: Container[];
    ephemeralContainers?: unknown[];
    volumes?: Volume[];
  };
  status?: { phase?: string; startTime?: string };
}

interface DataObject { data?: Record<string, string>; binaryData?: Record<string, string> }

export interface PreparedContainer {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  terminationMessageFile: string;
  fallbackToLogs: boolean;
}

export interface PrepareContext {
  kube: KubeClient;
  hostRoot: string;
  root: string;
  nodeName: string;
  apiPort: number;
  caFile: string;
  /** Host PATH for the process (the repo's node_modules/.bin first, so `node` is Node 24). */
  path: string;
}

const SUPPORTED_VOLUME_TYPES = new Set(['emptyDir', 'secret', 'configMap', 'persistentVolumeClaim', 'hostPath', 'projected', 'downwardAPI']);

/** Everything the runner refuses, checked before anything is created. */
export function checkSupported(pod: Pod): void {
  const spec = pod.spec;
  if (spec.initContainers?.length) throw new UnsupportedSpec('spec.initContainers', 'init containers are not run');
  if (spec.ephemeralContainers?.length) throw new UnsupportedSpec('spec.ephemeralContainers', 'ephemeral containers are not run');
  if (spec.containers.length !== 1) throw new UnsupportedSpec('spec.containers', `${spec.containers.length} containers; exactly one is run`);
  (spec.volumes ?? []).forEach((v, i) => {
    const kinds = Object.keys(v).filter((k) => k !== 'name');
    for (const k of kinds) {
      if (!SUPPORTED_VOLUME_TYPES.has(k)) throw new UnsupportedSpec(`spec.volumes[${i}].${k}`, `volume type ${k} (supported: ${[...SUPPORTED_VOLUME_TYPES].join(', ')})`);
    }
    (v.projected?.sources ?? []).forEach((s, j) => {
      if (s.clusterTrustBundle) throw new UnsupportedSpec(`spec.volumes[${i}].projected.sources[${j}].clusterTrustBundle`, 'not supported');
      if (s.podCertificate) throw new UnsupportedSpec(`spec.volumes[${i}].projected.sources[${j}].podCertificate`, 'not supported');
      (s.downwardAPI?.items ?? []).forEach((it, k) => {
        if (it.resourceFieldRef) throw new UnsupportedSpec(`spec.volumes[${i}].projected.sources[${j}].downwardAPI.items[${k}].resourceFieldRef`, 'resources are not tracked');
      });
    });
    (v.downwardAPI?.items ?? []).forEach((it, k) => {
      if (it.resourceFieldRef) throw new UnsupportedSpec(`spec.volumes[${i}].downwardAPI.items[${k}].resourceFieldRef`, 'resources are not tracked');
    });
  });
  const c = spec.containers[0]!;
  const f = 'spec.containers[0]';
  if (!resolveImage(c.image)) throw new UnsupportedSpec(`${f}.image`, `unknown image ${JSON.stringify(c.image)} (known: ${KNOWN_IMAGES.join(', ')})`);
  if (c.lifecycle) throw new UnsupportedSpec(`${f}.lifecycle`, 'postStart/preStop hooks are not run');
  if (c.volumeDevices?.length) throw new UnsupportedSpec(`${f}.volumeDevices`, 'block devices are not supported');
  (c.env ?? []).forEach((e, i) => {
    if (e.valueFrom?.resourceFieldRef) throw new UnsupportedSpec(`${f}.env[${i}].valueFrom.resourceFieldRef`, 'resources are not tracked');
    if (e.valueFrom?.fieldRef) fieldValue(pod, e.valueFrom.fieldRef.fieldPath, `${f}.env[${i}].valueFrom.fieldRef.fieldPath`, '');
  });
  (c.volumeMounts ?? []).forEach((m, i) => {
    if (m.subPathExpr) throw new UnsupportedSpec(`${f}.volumeMounts[${i}].subPathExpr`, 'not supported; use subPath');
    if (!(spec.volumes ?? []).some((v) => v.name === m.name)) throw new UnsupportedSpec(`${f}.volumeMounts[${i}].name`, `no volume named ${m.name}`);
  });
  commandLine(c);
}

/** The value of a downward-API field path. */
export function fieldValue(pod: Pod, fieldPath: string, field: string, nodeName: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m) {
    const map = m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations;
    return map?.[m[2]!] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name': return pod.metadata.name;
    case 'metadata.namespace': return pod.metadata.namespace;
    case 'metadata.uid': return pod.metadata.uid;
    case 'spec.nodeName': return pod.spec.nodeName ?? nodeName;
    case 'spec.serviceAccountName': return pod.spec.serviceAccountName ?? 'default';
    case 'status.podIP': case 'status.hostIP': return '127.0.0.1';
    case 'status.podIPs': case 'status.hostIPs': return '127.0.0.1';
    case 'metadata.labels': return Object.entries(pod.metadata.labels ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('\n');
    case 'metadata.annotations': return Object.entries(pod.metadata.annotations ?? {}).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('\n');
    default: throw new UnsupportedSpec(field, `field path ${JSON.stringify(fieldPath)} is not supported`);
  }
}

/** The container's command line inside the image, mapped to the host. */
export function commandLine(c: Container): string[] {
  const image = resolveImage(c.image);
  if (!image) throw new UnsupportedSpec('spec.containers[0].image', `unknown image ${JSON.stringify(c.image)}`);
  const inImage = c.command?.length ? [...c.command, ...(c.args ?? [])] : [...image.entrypoint, ...(c.args ?? image.cmd)];
  const first = inImage[0];
  const host = first === undefined ? undefined : image.commands[first];
  if (!host) {
    const field = c.command?.length ? 'spec.containers[0].command[0]' : 'spec.containers[0].image';
    throw new UnsupportedSpec(field, `${JSON.stringify(first)} is not a command of ${image.description} (known: ${Object.keys(image.commands).join(', ')})`);
  }
  return [...host, ...inImage.slice(1)];
}

/** Kubernetes' $(VAR) expansion: $$ escapes, unknown references stay as they are. */
export function expand(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (all, name: string | undefined) => {
    if (all === '$$') return '$';
    return name !== undefined && Object.hasOwn(vars, name) ? vars[name]! : all;
  });
}

async function getObject(ctx: PrepareContext, kind: 'secrets' | 'configmaps' | 'persistentvolumeclaims', ns: string, name: string): Promise<DataObject | undefined> {
  try {
    return await ctx.kube.get<DataObject>(`/api/v1/namespaces/${encodeURIComponent(ns)}/${kind}/${encodeURIComponent(name)}`);
  } catch (err) {
    if (err instanceof KubeError && err.status === 404) return undefined;
    throw err;
  }
}

/** Decoded key → bytes of a Secret or ConfigMap, or undefined when absent and optional. */
async function dataOf(ctx: PrepareContext, kind: 'secrets' | 'configmaps', ns: string, name: string, optional: boolean | undefined): Promise<Map<string, Buffer> | undefined> {
  const obj = await getObject(ctx, kind, ns, name);
  if (!obj) {
    if (optional) return undefined;
    throw new ConfigNotReady(`${kind === 'secrets' ? 'secret' : 'configmap'} "${name}" not found`);
  }
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(obj.data ?? {})) out.set(k, kind === 'secrets' ? Buffer.from(v, 'base64') : Buffer.from(v, 'utf8'));
  for (const [k, v] of Object.entries(obj.binaryData ?? {})) out.set(k, Buffer.from(v, 'base64'));
  return out;
}

function writeKeys(dir: string, data: Map<string, Buffer>, items: KeyToPath[] | undefined, what: string, optional: boolean | undefined): void {
  const entries: Array<[string, Buffer, number | undefined]> = [];
  if (items?.length) {
    for (const it of items) {
      const value = data.get(it.key);
      if (value === undefined) {
        if (optional) continue;
        throw new ConfigNotReady(`${what}: key "${it.key}" not found`);
      }
      entries.push([it.path, value, it.mode]);
    }
  } else {
    for (const [k, v] of data) entries.push([k, v, undefined]);
  }
  for (const [rel, value, mode] of entries) {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, value, { mode: mode ?? 0o644 });
  }
}

async function requestToken(ctx: PrepareContext, pod: Pod, audience: string | undefined, expirationSeconds: number | undefined): Promise<string> {
  const sa = pod.spec.serviceAccountName ?? 'default';
  const res = await ctx.kube.post<{ status: { token: string } }>(
    `/api/v1/namespaces/${encodeURIComponent(pod.metadata.namespace)}/serviceaccounts/${encodeURIComponent(sa)}/token`,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {
        audiences: audience ? [audience] : [],
        expirationSeconds: expirationSeconds ?? 3600,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid },
      },
    },
  );
  return res.status.token;
}

/** Materialise one volume; returns its host directory. */
async function prepareVolume(ctx: PrepareContext, pod: Pod, v: Volume): Promise<string> {
  const ns = pod.metadata.namespace;
  if (v.persistentVolumeClaim) {
    const claim = v.persistentVolumeClaim.claimName;
    if (!(await getObject(ctx, 'persistentvolumeclaims', ns, claim))) throw new ConfigNotReady(`persistentvolumeclaim "${claim}" not found`);
    const dir = pvcDir(ctx.hostRoot, ns, claim);
    mkdirSync(dir, { recursive: true });
    return dir;
  }
  if (v.hostPath) {
    const type = v.hostPath.type ?? '';
    if (type === '' || type === 'DirectoryOrCreate') mkdirSync(v.hostPath.path, { recursive: true });
    else if (type === 'FileOrCreate' && !existsSync(v.hostPath.path)) {
      mkdirSync(path.dirname(v.hostPath.path), { recursive: true });
      writeFileSync(v.hostPath.path, '');
    } else if (!existsSync(v.hostPath.path)) throw new ConfigNotReady(`hostPath ${v.hostPath.path} does not exist`);
    return v.hostPath.path;
  }
  const dir = volumeDir(ctx.root, v.name);
  mkdirSync(dir, { recursive: true });
  if (v.secret) {
    const data = await dataOf(ctx, 'secrets', ns, v.secret.secretName, v.secret.optional);
    if (data) writeKeys(dir, data, v.secret.items, `secret "${v.secret.secretName}"`, v.secret.optional);
  } else if (v.configMap) {
    const data = await dataOf(ctx, 'configmaps', ns, v.configMap.name, v.configMap.optional);
    if (data) writeKeys(dir, data, v.configMap.items, `configmap "${v.configMap.name}"`, v.configMap.optional);
  } else if (v.downwardAPI) {
    writeDownward(ctx, pod, dir, v.downwardAPI.items ?? []);
  } else if (v.projected) {
    for (const s of v.projected.sources ?? []) {
      if (s.serviceAccountToken) {
        const token = await requestToken(ctx, pod, s.serviceAccountToken.audience, s.serviceAccountToken.expirationSeconds);
        writeKeys(dir, new Map([['t', Buffer.from(token)]]), [{ key: 't', path: s.serviceAccountToken.path, mode: 0o600 }], 'token', false);
      } else if (s.configMap) {
        const data = await dataOf(ctx, 'configmaps', ns, s.configMap.name, s.configMap.optional);
        if (data) writeKeys(dir, data, s.configMap.items, `configmap "${s.configMap.name}"`, s.configMap.optional);
      } else if (s.secret) {
        const data = await dataOf(ctx, 'secrets', ns, s.secret.name, s.secret.optional);
        if (data) writeKeys(dir, data, s.secret.items, `secret "${s.secret.name}"`, s.secret.optional);
      } else if (s.downwardAPI) {
        writeDownward(ctx, pod, dir, s.downwardAPI.items ?? []);
      }
    }
  }
  return dir;
}

function writeDownward(ctx: PrepareContext, pod: Pod, dir: string, items: DownwardItem[]): void {
  const data = new Map<string, Buffer>();
  const keyed: KeyToPath[] = [];
  items.forEach((it, i) => {
    if (!it.fieldRef) return;
    data.set(String(i), Buffer.from(fieldValue(pod, it.fieldRef.fieldPath, `downwardAPI.items[${i}]`, ctx.nodeName)));
    keyed.push({ key: String(i), path: it.path, ...(it.mode === undefined ? {} : { mode: it.mode }) });
  });
  writeKeys(dir, data, keyed, 'downwardAPI', false);
}

/**
 * Create the pod root with its volumes and mounts, and compute the process's command line and
 * environment. Throws UnsupportedSpec (fail the pod) or ConfigNotReady (retry later).
 */
export async function preparePod(ctx: PrepareContext, pod: Pod): Promise<PreparedContainer> {
  checkSupported(pod);
  const c = pod.spec.containers[0]!;
  const root = ctx.root;
  mkdirSync(root, { recursive: true });

  const volumeHostDirs = new Map<string, string>();
  for (const v of pod.spec.volumes ?? []) volumeHostDirs.set(v.name, await prepareVolume(ctx, pod, v));

  // Shallow mount points first, so a deeper one is created inside its parent.
  const mounts = [...(c.volumeMounts ?? [])].sort((a, b) => a.mountPath.length - b.mountPath.length);
  for (const m of mounts) {
    const base = volumeHostDirs.get(m.name)!;
    const target = m.subPath ? path.join(base, m.subPath) : base;
    if (m.subPath && !existsSync(target)) mkdirSync(target, { recursive: true });
    const link = hostPathOf(root, m.mountPath);
    mkdirSync(path.dirname(link), { recursive: true });
    if (existsSync(link) || isSymlink(link)) rmSync(link, { recursive: true, force: true });
    symlinkSync(target, link);
  }

  const terminationPath = c.terminationMessagePath ?? '/dev/termination-log';
  const terminationMessageFile = hostPathOf(root, terminationPath);
  mkdirSync(path.dirname(terminationMessageFile), { recursive: true });
  // As a kubelet does: the file exists and is empty when the container starts.
  writeFileSync(terminationMessageFile, '');

  const home = path.join(root, '.home');
  const tmp = path.join(root, '.tmp');
  mkdirSync(home, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  // What a container runtime and kubelet give every container, plus the runner's conventions.
  const env: Record<string, string> = {
    PATH: ctx.path,
    HOME: home,
    TMPDIR: tmp,
    HOSTNAME: pod.metadata.name,
    KUBERNETES_SERVICE_HOST: '127.0.0.1',
    KUBERNETES_SERVICE_PORT: String(ctx.apiPort),
    KUBERNETES_SERVICE_PORT_HTTPS: String(ctx.apiPort),
    KUBERNETES_PORT: `tcp://127.0.0.1:${ctx.apiPort}`,
    [PATH_PREFIX_ENV]: root,
  };
  const ns = pod.metadata.namespace;
  for (const [i, from] of (c.envFrom ?? []).entries()) {
    const prefix = from.prefix ?? '';
    let data: Map<string, Buffer> | undefined;
    if (from.configMapRef) data = await dataOf(ctx, 'configmaps', ns, from.configMapRef.name, from.configMapRef.optional);
    else if (from.secretRef) data = await dataOf(ctx, 'secrets', ns, from.secretRef.name, from.secretRef.optional);
    else throw new UnsupportedSpec(`spec.containers[0].envFrom[${i}]`, 'neither configMapRef nor secretRef');
    for (const [k, v] of data ?? []) env[prefix + k] = v.toString('utf8');
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const data = await dataOf(ctx, 'secrets', ns, ref.name, ref.optional);
      const value = data?.get(ref.key);
      if (value === undefined && !ref.optional) throw new ConfigNotReady(`couldn't find key ${ref.key} in Secret ${ns}/${ref.name}`);
      if (value !== undefined) env[e.name] = value.toString('utf8');
    } else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const data = await dataOf(ctx, 'configmaps', ns, ref.name, ref.optional);
      const value = data?.get(ref.key);
      if (value === undefined && !ref.optional) throw new ConfigNotReady(`couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}`);
      if (value !== undefined) env[e.name] = value.toString('utf8');
    } else if (e.valueFrom?.fieldRef) {
      env[e.name] = fieldValue(pod, e.valueFrom.fieldRef.fieldPath, e.name, ctx.nodeName);
    } else {
      env[e.name] = expand(e.value ?? '', env);
    }
  }

  const argv = commandLine({ ...c, ...(c.command ? { command: c.command.map((s) => expand(s, env)) } : {}), ...(c.args ? { args: c.args.map((s) => expand(s, env)) } : {}) });
  const cwd = c.workingDir ? hostPathOf(root, c.workingDir) : root;
  mkdirSync(cwd, { recursive: true });
  return { argv, env, cwd, terminationMessageFile, fallbackToLogs: c.terminationMessagePolicy === 'FallbackToLogsOnError' };
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
