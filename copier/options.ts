// The DataSync spec becomes one frozen, validated options object here, once (as DistCp's
// DistCpOptions.Builder.build()). Workers receive a run config, build these options, and never
// re-interpret the raw spec. Incompatible combinations are rejected here with a message.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { CompareMode, DataSyncSpec, Endpoint, EndpointKind, Mode, VerifyMode } from '../api/types.ts';
import { DataSyncError } from './errors.ts';
import { resolvePartitionSpec, type PartitionSpec } from './partitions/spec.ts';

export const STATE_PREFIX = '.datasync/';
/** Each in-flight S3 part is buffered, so memory per shard is about transfersPerShard × partSize. */
export const DEFAULT_PART_SIZE = 16 * 2 ** 20;

export interface RunOptions {
  readonly source: Endpoint;
  readonly destination: Endpoint;
  readonly sourceKind: EndpointKind;
  readonly destinationKind: EndpointKind;
  readonly mode: Mode;
  readonly compare: CompareMode;
  readonly verify: VerifyMode;
  readonly filters: {
    readonly include: readonly string[];
    readonly exclude: readonly string[];
    /** Files younger than this (ms) are left for a later run. */
    readonly minAgeMs?: number;
    readonly maxAgeMs?: number;
    readonly minSize?: number;
    readonly maxSize?: number;
  };
  readonly shards: number;
  readonly transfersPerShard: number;
  readonly splitFilesLargerThan: number;
  readonly partSize: number;
  /** Bytes per second for the whole run; undefined means unlimited. */
  readonly bandwidthLimit?: number;
  readonly maxDelete: { readonly percent: number } | { readonly count: number };
  readonly attemptsPerFile: number;
  readonly backoffLimitPerShard: number;
  /** spec.partitions, validated and compiled (copier/partitions). */
  readonly partitions?: PartitionSpec;
  /** Where the manifest and journals live: the destination unless spec.state overrides it. */
  readonly state: { readonly endpoint: Endpoint; readonly prefix: string };
}

const KINDS: readonly EndpointKind[] = ['filesystem', 's3', 'gcs', 'azureBlob', 'webhdfs'];
const MODES: readonly Mode[] = ['Copy', 'Sync', 'Move'];
const COMPARES: readonly CompareMode[] = ['SizeAndModTime', 'Checksum', 'SizeOnly', 'Always'];
const VERIFIES: readonly VerifyMode[] = ['None', 'Size', 'Checksum'];
const MIN_PART_SIZE = 5 * 1024 * 1024;

const QUANTITY_SUFFIX: Record<string, number> = {
  '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50,
};

/** Kubernetes-style quantity ("1Gi", "200M", 1024) → bytes. Throws on anything else. */
export function parseQuantity(value: string | number, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw invalid(`${field}: ${value} must be a non-negative number`);
    return Math.floor(value);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKMGTP]i?|)\s*$/.exec(value);
  const factor = m ? QUANTITY_SUFFIX[m[2]!] : undefined;
  if (!m || factor === undefined) throw invalid(`${field}: '${value}' is not a quantity (examples: 1048576, 512Ki, 64Mi, 1Gi, 10G)`);
  return Math.floor(Number(m[1]) * factor);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Go-style duration ("90s", "5m", "1h30m", "2d") → milliseconds. */
export function parseDuration(value: string, field: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(value.trim()); m; m = re.exec(value.trim())) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    matched += m[0].length;
  }
  if (matched === 0 || matched !== value.trim().length) throw invalid(`${field}: '${value}' is not a duration (examples: 30s, 5m, 1h30m, 2d)`);
  return total;
}

export function parseMaxDelete(value: string | number | undefined): RunOptions['maxDelete'] {
  if (value === undefined) return { percent: 50 };
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) throw invalid(`deletion.maxDelete: ${value} must be a non-negative integer or a percentage like "10%"`);
    return { count: value };
  }
  const pct = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
  if (pct) {
    const percent = Number(pct[1]);
    if (percent > 100) throw invalid(`deletion.maxDelete: '${value}' is over 100%`);
    return { percent };
  }
  if (/^\s*\d+\s*$/.test(value)) return { count: Number(value) };
  throw invalid(`deletion.maxDelete: '${value}' must be a count (e.g. 100) or a percentage (e.g. "10%")`);
}

function invalid(message: string): DataSyncError {
  return new DataSyncError(message, { code: 'InvalidConfig', side: 'config' });
}

function endpointKind(ep: unknown, field: string, problems: string[]): EndpointKind | undefined {
  if (ep === null || typeof ep !== 'object') {
    problems.push(`${field} is required and must name exactly one of: ${KINDS.join(', ')}`);
    return undefined;
  }
  const set = Object.keys(ep).filter((k) => (ep as Record<string, unknown>)[k] !== undefined);
  const unknown = set.filter((k) => !KINDS.includes(k as EndpointKind));
  if (unknown.length) problems.push(`${field}: unknown endpoint kind ${unknown.map((k) => `'${k}'`).join(', ')} (use one of: ${KINDS.join(', ')})`);
  const known = set.filter((k) => KINDS.includes(k as EndpointKind)) as EndpointKind[];
  if (known.length !== 1) {
    if (!unknown.length) problems.push(`${field} must set exactly one of ${KINDS.join(', ')}; found ${known.length ? known.join(' and ') : 'none'}`);
    return undefined;
  }
  const kind = known[0]!;
  const body = (ep as Record<string, Record<string, unknown> | undefined>)[kind] ?? {};
  const need = (key: string) => {
    const v = body[key];
    if (typeof v !== 'string' || v === '') problems.push(`${field}.${kind}.${key} is required (a non-empty string)`);
  };
  switch (kind) {
    case 'filesystem': need('path'); break;
    case 's3':
      need('bucket');
      if (body['endpoint'] !== undefined && !/^https?:\/\/[^\s]+$/.test(String(body['endpoint']))) problems.push(`${field}.s3.endpoint '${String(body['endpoint'])}' must be an http:// or https:// URL`);
      break;
    case 'gcs': need('bucket'); break;
    case 'azureBlob': need('container'); break;
    case 'webhdfs':
      need('path');
      if (!Array.isArray(body['namenodes']) || body['namenodes'].length === 0) problems.push(`${field}.webhdfs.namenodes needs at least one http(s)://host:port`);
      break;
  }
  return kind;
}

/** Collects every problem with a spec, so `datasync validate` can list them all at once. */
export function validateSpec(spec: unknown): string[] {
  const problems: string[] = [];
  if (spec === null || typeof spec !== 'object') return ['spec must be an object with source and destination'];
  const s = spec as DataSyncSpec;
  const srcKind = endpointKind(s.source, 'source', problems);
  const dstKind = endpointKind(s.destination, 'destination', problems);
  const oneOf = <T>(v: unknown, allowed: readonly T[], field: string) => {
    if (v !== undefined && !allowed.includes(v as T)) problems.push(`${field}: '${String(v)}' must be one of ${allowed.join(', ')}`);
  };
  oneOf(s.mode, MODES, 'mode');
  oneOf(s.compare, COMPARES, 'compare');
  oneOf(s.verify, VERIFIES, 'verify');
  const attempt = (fn: () => unknown) => {
    try { fn(); } catch (err) { problems.push((err as Error).message); }
  };
  const f = s.filters ?? {};
  for (const key of ['include', 'exclude'] as const) {
    const v = f[key];
    if (v !== undefined && (!Array.isArray(v) || v.some((g) => typeof g !== 'string' || g === ''))) problems.push(`filters.${key} must be a list of non-empty glob strings`);
  }
  for (const key of ['minAge', 'maxAge'] as const) if (f[key] !== undefined) attempt(() => parseDuration(String(f[key]), `filters.${key}`));
  for (const key of ['minSize', 'maxSize'] as const) if (f[key] !== undefined) attempt(() => parseQuantity(f[key]!, `filters.${key}`));
  if (f.minAge && f.maxAge) attempt(() => {
    if (parseDuration(f.minAge!, 'filters.minAge') > parseDuration(f.maxAge!, 'filters.maxAge')) throw invalid(`filters: minAge ${f.minAge} is larger than maxAge ${f.maxAge}, so nothing could match`);
  });
  if (f.minSize !== undefined && f.maxSize !== undefined) attempt(() => {
    if (parseQuantity(f.minSize!, 'filters.minSize') > parseQuantity(f.maxSize!, 'filters.maxSize')) throw invalid(`filters: minSize is larger than maxSize, so nothing could match`);
  });
  const p = s.parallelism ?? {};
  for (const key of ['shards', 'transfersPerShard'] as const) {
    const v = p[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > 1000)) problems.push(`parallelism.${key}: ${String(v)} must be an integer from 1 to 1000`);
  }
  if (p.partSize !== undefined) attempt(() => {
    const size = parseQuantity(p.partSize!, 'parallelism.partSize');
    if (size < MIN_PART_SIZE) throw invalid(`parallelism.partSize: ${String(p.partSize)} is below 5Mi, the smallest part S3-compatible stores accept`);
    if (size > 5 * 2 ** 30) throw invalid(`parallelism.partSize: ${String(p.partSize)} is above 5Gi, the largest part S3 accepts`);
  });
  if (p.splitFilesLargerThan !== undefined) attempt(() => {
    const split = parseQuantity(p.splitFilesLargerThan!, 'parallelism.splitFilesLargerThan');
    const part = p.partSize === undefined ? DEFAULT_PART_SIZE : parseQuantity(p.partSize, 'parallelism.partSize');
    if (split < part) throw invalid(`parallelism.splitFilesLargerThan (${String(p.splitFilesLargerThan)}) must be at least partSize, since files split on part boundaries`);
  });
  if (s.bandwidthLimit !== undefined) attempt(() => {
    if (parseQuantity(s.bandwidthLimit!, 'bandwidthLimit') < 1024) throw invalid(`bandwidthLimit: ${String(s.bandwidthLimit)} bytes/s is too small to make progress (minimum 1Ki)`);
  });
  attempt(() => parseMaxDelete(s.deletion?.maxDelete));
  const r = s.retry ?? {};
  if (r.attemptsPerFile !== undefined && (!Number.isInteger(r.attemptsPerFile) || r.attemptsPerFile < 1)) problems.push(`retry.attemptsPerFile: ${String(r.attemptsPerFile)} must be an integer ≥ 1`);
  if (r.backoffLimitPerShard !== undefined && (!Number.isInteger(r.backoffLimitPerShard) || r.backoffLimitPerShard < 0)) problems.push(`retry.backoffLimitPerShard: ${String(r.backoffLimitPerShard)} must be an integer ≥ 0`);
  // Cross-field rules.
  if (s.mode === 'Move' && s.verify === 'None') problems.push(`mode Move with verify None would delete sources whose copies were never checked; use verify Size or Checksum`);
  if (s.mode === 'Move' && s.compare === 'Always') problems.push(`mode Move with compare Always is not allowed: a skipped-then-deleted source must have been compared`);
  if (srcKind && dstKind && srcKind === dstKind && sameLocation(s.source, s.destination)) problems.push(`source and destination point at the same place; that would copy a tree onto itself`);
  if (s.schedule !== undefined && s.watch !== undefined) problems.push(`schedule and watch are mutually exclusive: pick a cron schedule or continuous watching`);
  if (s.watch?.interval !== undefined) attempt(() => parseDuration(s.watch!.interval, 'watch.interval'));
  if (s.partitions) {
    if (typeof s.partitions.layout !== 'string' || !/\{(yyyy|MM|dd|HH)\}/.test(s.partitions.layout)) problems.push(`partitions.layout must contain date tokens such as {yyyy}/{MM}/{dd}`);
    if (s.partitions.lookback !== undefined) attempt(() => parseDuration(s.partitions!.lookback!, 'partitions.lookback'));
    // the rest (token order, timeZone, skip entries, marker names); lookback is checked above.
    const { lookback: _checkedAbove, ...rest } = s.partitions;
    if (typeof rest.layout === 'string' && /\{(yyyy|MM|dd|HH)\}/.test(rest.layout)) attempt(() => resolvePartitionSpec(rest));
  }
  return problems;
}

function sameLocation(a: Endpoint, b: Endpoint): boolean {
  if (a.filesystem && b.filesystem) return path.resolve(a.filesystem.path) === path.resolve(b.filesystem.path);
  if (a.s3 && b.s3) return a.s3.bucket === b.s3.bucket && (a.s3.prefix ?? '') === (b.s3.prefix ?? '') && (a.s3.endpoint ?? '') === (b.s3.endpoint ?? '');
  return false;
}

/** Spec → frozen options. Throws InvalidConfig listing every problem. */
export function buildOptions(spec: DataSyncSpec): RunOptions {
  const problems = validateSpec(spec);
  if (problems.length) throw invalid(`invalid DataSync spec:\n  - ${problems.join('\n  - ')}`);
  const f = spec.filters ?? {};
  const p = spec.parallelism ?? {};
  const partSize = p.partSize === undefined ? DEFAULT_PART_SIZE : parseQuantity(p.partSize, 'parallelism.partSize');
  const kindOf = (ep: Endpoint) => KINDS.find((k) => ep[k] !== undefined)!;
  const options: RunOptions = {
    source: spec.source,
    destination: spec.destination,
    sourceKind: kindOf(spec.source),
    destinationKind: kindOf(spec.destination),
    mode: spec.mode ?? 'Copy',
    compare: spec.compare ?? 'SizeAndModTime',
    verify: spec.verify ?? 'Checksum',
    filters: {
      include: f.include ?? [],
      exclude: f.exclude ?? [],
      ...(f.minAge === undefined ? {} : { minAgeMs: parseDuration(f.minAge, 'filters.minAge') }),
      ...(f.maxAge === undefined ? {} : { maxAgeMs: parseDuration(f.maxAge, 'filters.maxAge') }),
      ...(f.minSize === undefined ? {} : { minSize: parseQuantity(f.minSize, 'filters.minSize') }),
      ...(f.maxSize === undefined ? {} : { maxSize: parseQuantity(f.maxSize, 'filters.maxSize') }),
    },
    shards: p.shards ?? 4,
    transfersPerShard: p.transfersPerShard ?? 8,
    splitFilesLargerThan: p.splitFilesLargerThan === undefined ? Math.max(2 ** 30, partSize) : parseQuantity(p.splitFilesLargerThan, 'parallelism.splitFilesLargerThan'),
    partSize,
    ...(spec.bandwidthLimit === undefined ? {} : { bandwidthLimit: parseQuantity(spec.bandwidthLimit, 'bandwidthLimit') }),
    // Move exists to delete its sources, so its guard is off unless set; Sync guards by default.
    maxDelete: spec.deletion?.maxDelete === undefined && spec.mode === 'Move' ? { percent: 100 } : parseMaxDelete(spec.deletion?.maxDelete),
    attemptsPerFile: spec.retry?.attemptsPerFile ?? 5,
    backoffLimitPerShard: spec.retry?.backoffLimitPerShard ?? 3,
    ...(spec.partitions ? { partitions: resolvePartitionSpec(spec.partitions) } : {}),
    state: {
      endpoint: spec.state?.endpoint ?? spec.destination,
      prefix: normalizeStatePrefix(spec.state?.prefix ?? STATE_PREFIX),
    },
  };
  return deepFreeze(options);
}

function normalizeStatePrefix(p: string): string {
  const trimmed = p.replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed === '' ? STATE_PREFIX : `${trimmed}/`;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Reads a manifest: a full DataSync object (apiVersion/kind/metadata/spec) or a bare spec.
 * Relative filesystem paths are resolved against the manifest file's directory, so a manifest
 * means the same thing whatever the current directory is.
 */
export function loadManifest(file: string): { spec: DataSyncSpec; name?: string; namespace?: string } {
  let doc: unknown;
  try {
    // Loaded here, not at the top: a shard worker gets its spec as JSON and never parses YAML.
    const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
    doc = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new DataSyncError(`cannot read manifest ${file}: ${(err as Error).message}`, { code: 'InvalidConfig', side: 'config', cause: err });
  }
  if (doc === null || typeof doc !== 'object') throw invalid(`${file}: expected a DataSync object or a spec mapping`);
  const d = doc as { kind?: string; spec?: unknown; metadata?: { name?: string; namespace?: string } };
  if (d.kind !== undefined && d.kind !== 'DataSync') throw invalid(`${file}: kind is '${d.kind}', expected DataSync`);
  const spec = (d.kind !== undefined || d.spec !== undefined ? d.spec : doc) as DataSyncSpec;
  if (spec === null || typeof spec !== 'object') throw invalid(`${file}: spec is missing`);
  resolveRelativePaths(spec, path.dirname(path.resolve(file)));
  return { spec, ...(d.metadata?.name ? { name: d.metadata.name } : {}), ...(d.metadata?.namespace ? { namespace: d.metadata.namespace } : {}) };
}

function resolveRelativePaths(spec: DataSyncSpec, baseDir: string): void {
  for (const ep of [spec.source, spec.destination, spec.state?.endpoint]) {
    const fs = ep && typeof ep === 'object' ? ep.filesystem : undefined;
    if (fs && typeof fs.path === 'string' && !path.isAbsolute(fs.path)) fs.path = path.resolve(baseDir, fs.path);
  }
}
