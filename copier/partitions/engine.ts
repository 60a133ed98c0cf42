// The glue the engine calls: one object for the planner (which source files are in scope, which
// destination files Sync may delete) and one function for the committer (publish, markers,
// watermark, report fields). Everything the two phases share goes through the run's state
// location, so they can run in different pods.
import type { Backend } from '../backends/backend.ts';
import type { RunReport } from '../../api/types.ts';
import { readJson } from '../backends/support/read-small.ts';
import { createPartitionFilter, readyMarkerProbe, type ReadinessProbe } from './classify.ts';
import type { PartitionRef } from './layout.ts';
import { destinationFiles, markerIsStale, publishPartition, readMarker, type StagedFile } from './publish.ts';
import { partitionReport } from './report.ts';
import type { PartitionSpec } from './spec.ts';
import { Readable } from 'node:stream';

/** Written by the planner under runs/<runId>/, read by the committer. */
export const PARTITIONS_FILE = 'partitions.json';
/** Under the state prefix, shared by all runs: the watermark survives between runs. */
export const WATERMARK_FILE = 'partitions/watermark.json';

export interface PartitionPlanSummary {
  ready: PartitionRef[];
  waiting: PartitionRef[];
  skipped: PartitionRef[];
}

export type ScopeVerdict = { included: true } | { included: false; reason: string };

export interface PartitionPlanner {
  /** For a source entry: is it part of this run? */
  source(entry: { path: string }): Promise<ScopeVerdict>;
  /**
   * For a destination-only entry (a delete candidate in Sync): only files inside a ready partition
   * may be deleted; markers, and files of waiting, skipped, expired or unknown partitions, stay.
   */
  destinationOnly(entry: { path: string }): Promise<ScopeVerdict>;
  summary(): PartitionPlanSummary;
}

export function createPartitionPlanner(spec: PartitionSpec, source: Pick<Backend, 'stat'>, nowMs: number): PartitionPlanner {
  const probes = new Map<string, Promise<boolean>>();
  const probe = readyMarkerProbe(source, spec);
  const shared: ReadinessProbe = (key) => {
    let p = probes.get(key);
    if (!p) { p = Promise.resolve(probe(key)); probes.set(key, p); }
    return p;
  };
  const sourceView = createPartitionFilter(spec, nowMs, shared);
  // A separate view, so partitions seen only at the destination never show up in the report.
  const destinationView = createPartitionFilter(spec, nowMs, shared);
  return {
    async source(entry) {
      const v = await sourceView.decide(entry);
      if (v.decision === 'copy') return { included: true };
      const where = v.partition ? `partition ${v.partition.key}` : 'path';
      const why = {
        waiting: `${where} is waiting for ${spec.readyMarker ?? 'its ready marker'}`,
        skipped: `${where} is in partitions.skip`,
        expired: `${where} is older than partitions.lookback`,
        marker: `${where} marker (the destination marker is written at publish)`,
        outside: `outside the partition layout ${spec.layout.layout}`,
      }[v.decision];
      return { included: false, reason: why };
    },
    async destinationOnly(entry) {
      const m = spec.layout.match(entry.path);
      if (m && m.rest === spec.successMarker) return { included: false, reason: 'partition success marker' };
      const v = await destinationView.decide(entry);
      return v.decision === 'copy' ? { included: true } : { included: false, reason: `not in a ready partition (${v.decision})` };
    },
    summary() {
      return sourceView.summary();
    },
  };
}

export interface CommitPartitionsInput {
  spec: PartitionSpec;
  runId: string;
  destination: Backend;
  /** The state backend and the run's state helpers (RunState from runtime/state.ts fits). */
  state: {
    getJson<T>(name: string): Promise<T | undefined>;
    backend: Backend;
  };
  /** The state prefix, e.g. ".datasync/". */
  statePrefix: string;
  report: RunReport;
  /** Files the copy wrote under the staging prefix and verified; promoted per published partition. */
  staged?: ReadonlyArray<StagedFile>;
  nowMs: number;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/**
 * Publishes every ready partition whose files all succeeded and whose marker is missing or stale
 * (late or changed files), then computes the watermark. Returns the report fields to merge.
 */
export async function commitPartitions(input: CommitPartitionsInput): Promise<Pick<RunReport, 'partitions' | 'watermark'>> {
  const { spec, destination, report } = input;
  const summary = (await input.state.getJson<PartitionPlanSummary>(PARTITIONS_FILE)) ?? { ready: [], waiting: [], skipped: [] };
  const failed = new Set<string>();
  for (const f of report.failedFiles) {
    const m = spec.layout.match(f.path);
    if (m) failed.add(m.key);
  }
  // failedFiles is a bounded sample: when it was cut, any partition may hide a failure.
  const sampleComplete = report.failedFiles.length >= report.filesFailed;
  const stagedByPartition = new Map<string, StagedFile[]>();
  for (const f of input.staged ?? []) {
    const m = spec.layout.match(f.finalPath);
    if (!m) continue;
    stagedByPartition.set(m.key, [...(stagedByPartition.get(m.key) ?? []), f]);
  }
  const published: string[] = [];
  for (const p of summary.ready) {
    if (!sampleComplete) failed.add(p.key);
    // A partition with a failed file stays as it was: its staged files are not promoted, its
    // marker (if any) keeps describing the previous, complete state.
    if (failed.has(p.key)) continue;
    const staged = stagedByPartition.get(p.key) ?? [];
    if (staged.length === 0) {
      const current = await destinationFiles(destination, p.key, spec);
      if (!markerIsStale(await readMarker(destination, p.key, spec), current)) continue;
    }
    await publishPartition(destination, p, staged, spec, { runId: input.runId, nowMs: input.nowMs });
    published.push(p.key);
    input.log?.info({ partition: p.key, promoted: staged.length }, 'partition published');
  }
  const watermarkPath = `${input.statePrefix}${WATERMARK_FILE}`;
  const previous = await readJson<{ partition: string }>(input.state.backend, watermarkPath);
  const fields = partitionReport({ ...summary, failed, published, previousWatermark: previous?.partition }, spec);
  if (fields.watermark !== undefined && fields.watermark !== previous?.partition) {
    const body = Buffer.from(JSON.stringify({ partition: fields.watermark, runId: input.runId, updatedAt: new Date(input.nowMs).toISOString() }) + '\n');
    await input.state.backend.write(watermarkPath, Readable.from([body]), { size: body.length, contentType: 'application/json' });
  }
  return fields;
}

