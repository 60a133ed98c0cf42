// Publishing a partition: the last step of a run for each ready partition whose files all copied.
// On a backend with rename (filesystem, HDFS) the copy wrote the partition's new files under the
// run's state prefix; they are renamed into place one by one, then the success marker is written.
// On object stores the files were written at their final paths (each object write is atomic by
// itself), and the success marker written last is the commit point. See README.md for what a
// reader can rely on.
import { Readable } from 'node:stream';
import type { Backend, Features } from '../backends/backend.ts';
import { readText } from '../backends/support/read-small.ts';
import type { PartitionRef } from './layout.ts';
import type { PartitionSpec } from './spec.ts';

export const STATE_PREFIX = '.datasync';

/** True when this run should stage the partition's files and rename them into place. */
export function stagesPartitions(spec: PartitionSpec, destination: Pick<Features, 'rename'>): boolean {
  return spec.publish === 'Atomic' && destination.rename !== undefined;
}

/**
 * Where the copy writes a file of a partition: under the run's state prefix when the destination
 * can rename, else at its final path. Keeping the partition-relative path keeps names unique.
 */
export function stagingPathFor(finalPath: string, runId: string, spec: PartitionSpec, destination: Pick<Features, 'rename'>, statePrefix = STATE_PREFIX): string {
  const prefix = statePrefix.replace(/\/+$/, '');
  return stagesPartitions(spec, destination) ? `${prefix}/runs/${runId}/staging/${finalPath}` : finalPath;
}

export interface StagedFile {
  /** Where the copy wrote it (equal to finalPath when nothing was staged). */
  stagedPath: string;
  finalPath: string;
}

/** What a success marker contains; readers may ignore it and test only for existence. */
export interface SuccessMarkerBody {
  partition: string;
  runId: string;
  publishedAt: string;
  fileCount: number;
  bytes: number;
  /**
   * Every file of the partition at the destination when it was published, partition-relative, with
   * the modification time the destination lists (a rewrite changes it, so a stale marker shows).
   */
  files: MarkerFile[];
}

export interface MarkerFile { path: string; size: number; mtimeMs: number }

export interface PublishResult {
  partition: string;
  promoted: number;
  markerPath: string;
  marker: SuccessMarkerBody;
}

export function markerPathOf(partitionKey: string, spec: PartitionSpec): string {
  return `${partitionKey}/${spec.successMarker}`;
}

/**
 * Promotes staged files, then writes the success marker. Safe to repeat: a rename whose source is
 * gone because an earlier attempt already promoted it is treated as done when the final file exists.
 */
export async function publishPartition(
  destination: Backend,
  partition: PartitionRef,
  staged: readonly StagedFile[],
  spec: PartitionSpec,
  ctx: { runId: string; nowMs: number },
): Promise<PublishResult> {
  const rename = destination.features.rename;
  let promoted = 0;
  for (const f of staged) {
    if (f.stagedPath === f.finalPath) continue;
    if (!rename) throw new Error(`internal: ${f.stagedPath} was staged but ${destination.location} cannot rename`);
    try {
      await rename(f.stagedPath, f.finalPath, { overwrite: true });
    } catch (err) {
      if (!(await exists(destination, f.finalPath)) || (await exists(destination, f.stagedPath))) throw err;
    }
    promoted++;
  }
  const markerPath = markerPathOf(partition.key, spec);
  const files = await destinationFiles(destination, partition.key, spec);
  const bytes = files.reduce((n, f) => n + f.size, 0);
  const marker: SuccessMarkerBody = {
    partition: partition.key, runId: ctx.runId, publishedAt: new Date(ctx.nowMs).toISOString(),
    fileCount: files.length, bytes, files,
  };
  const body = Buffer.from(JSON.stringify(marker) + '\n');
  await destination.write(markerPath, Readable.from([body]), { size: body.length, contentType: 'application/json' });
  return { partition: partition.key, promoted, markerPath, marker };
}

/** The partition's files at the destination now, as a marker lists them. */
export async function destinationFiles(destination: Backend, partitionKey: string, spec: PartitionSpec): Promise<MarkerFile[]> {
  const files: MarkerFile[] = [];
  const prefix = `${partitionKey}/`;
  for await (const e of destination.list({ prefix })) {
    const rel = e.path.slice(prefix.length);
    if (rel === spec.successMarker) continue;
    files.push({ path: rel, size: e.size, mtimeMs: e.mtimeMs });
  }
  return files;
}

/** The marker at the destination, or undefined when absent or not written by DataSync. */
export async function readMarker(destination: Backend, partitionKey: string, spec: PartitionSpec): Promise<SuccessMarkerBody | undefined> {
  const text = await readText(destination, markerPathOf(partitionKey, spec));
  if (text === undefined) return undefined;
  try {
    const body = JSON.parse(text) as SuccessMarkerBody;
    return Array.isArray(body?.files) ? body : undefined;
  } catch {
    return undefined; // an empty Hadoop-style _SUCCESS: treat as stale so DataSync writes its own
  }
}

/** True when the marker is missing or no longer lists exactly the partition's files. */
export function markerIsStale(marker: SuccessMarkerBody | undefined, current: readonly MarkerFile[]): boolean {
  if (!marker || marker.files.length !== current.length) return true;
  const key = (f: MarkerFile) => `${f.path}\u0000${f.size}\u0000${f.mtimeMs}`;
  const listed = new Set(marker.files.map(key));
  return current.some((f) => !listed.has(key(f)));
}

async function exists(backend: Backend, path: string): Promise<boolean> {
  try {
    await backend.stat(path);
    return true;
  } catch {
    return false;
  }
}
