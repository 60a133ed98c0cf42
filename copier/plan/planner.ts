// The plan phase: stream both listings, merge them, decide per path (decide.ts), and write the
// manifest (manifest.ts) to the run's state location. Nothing here is held per file in memory.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Backend, Entry } from '../backends/backend.ts';
import { STATE_PREFIX, type RunOptions } from '../options.ts';
import type { RunReport } from '../../api/types.ts';
import { RunState } from '../runtime/state.ts';
import { createFilter } from './filters.ts';
import { mergeListings } from './merge.ts';
import { decide, needsDetail, type Decision } from './decide.ts';
import { crc32cFor, withRecordedModTime } from './details.ts';
import { LineFile, ShardWriter } from './shard-writer.ts';
import { createPartitionPlanner, PARTITIONS_FILE, type PartitionPlanner } from '../partitions/engine.ts';
import { stagingPathFor } from '../partitions/publish.ts';
import { DELETES_FILE, MOVE_SKIPPED_FILE, PLAN_FILE, SPLITS_FILE, shardFile, type Plan, type SplitFile } from './manifest.ts';

export interface PlannedPath {
  path: string;
  src?: Entry | undefined;
  dst?: Entry | undefined;
  decision: Decision | { action: 'filtered'; reason: string };
}

/** Every path of both sides with its decision, in path order. Used by the planner and the dry run. */
export async function* planDecisions(
  opts: RunOptions, src: Backend, dst: Backend, now = Date.now(),
  // partition scope (copier/partitions): which partitions are ready, waiting, skipped.
  partitions: PartitionPlanner | undefined = opts.partitions ? createPartitionPlanner(opts.partitions, src, now) : undefined,
): AsyncGenerator<PlannedPath> {
  const filter = createFilter(opts.filters, now);
  const statePrefix = opts.state.prefix;
  const stateIsDestination = JSON.stringify(opts.state.endpoint) === JSON.stringify(opts.destination);
  // DataSync's own state (manifests, journals, reports) is never data, on either side.
  const withoutState = async function* (it: AsyncIterable<Entry>, extraPrefix?: string) {
    for await (const e of it) {
      if (e.path.startsWith(STATE_PREFIX) || (extraPrefix !== undefined && e.path.startsWith(extraPrefix))) continue;
      yield e;
    }
  };
  const dstListing = withoutState(dst.list(), stateIsDestination ? statePrefix : undefined);
  // Scoping runs in path order; fetching details (a HEAD, or reading for a checksum) runs up to
  // DETAIL_CONCURRENCY paths ahead, and results still come out in path order.
  const scoped = async function* (): AsyncGenerator<PlannedPath | Unresolved> {
    for await (const pair of mergeListings(withoutState(src.list()), dstListing)) {
      const { src: s, dst: d } = pair;
      if (s) {
        const v = filter.source(s);
        if (!v.included) {
          // Out of scope: not copied, and a destination copy (if any) stays as it is.
          yield { path: pair.path, src: s, dst: d, decision: { action: 'filtered', reason: v.reason } };
          continue;
        }
      } else if (d && !filter.path(pair.path).included) {
        yield { path: pair.path, dst: d, decision: { action: 'filtered', reason: 'excluded (left in destination)' } };
        continue;
      }
      // partitions: only ready partitions are copied; Sync deletes only inside them.
      if (partitions) {
        const v = s ? await partitions.source(s) : await partitions.destinationOnly(d!);
        if (!v.included) {
          yield { path: pair.path, src: s, dst: d, decision: { action: 'filtered', reason: v.reason } };
          continue;
        }
      }
      yield { path: pair.path, src: s, dst: d, unresolved: true };
    }
  };
  const resolve = async (x: PlannedPath | Unresolved): Promise<PlannedPath> => {
    if (!('unresolved' in x)) return x;
    let { src: s, dst: d } = x;
    const detail = needsDetail({ src: s, dst: d, compare: opts.compare });
    if (detail === 'mtime') {
      [s, d] = await Promise.all([withRecordedModTime(src, s!), withRecordedModTime(dst, d!)]);
    }
    const checksums = detail === 'checksum' ? { srcChecksum: await crc32cFor(src, s!), dstChecksum: await crc32cFor(dst, d!) } : {};
    return { path: x.path, src: s, dst: d, decision: decide({ src: s, dst: d, mode: opts.mode, compare: opts.compare, ...checksums }) };
  };
  yield* mapOrdered(scoped(), DETAIL_CONCURRENCY, resolve);
}

interface Unresolved { path: string; src?: Entry | undefined; dst?: Entry | undefined; unresolved: true }
// A HEAD per same-size object on S3 (recorded mtime): as many in flight as rclone's --checkers 64.
const DETAIL_CONCURRENCY = 64;

/** Maps with up to `limit` calls in flight, yielding results in input order; memory is `limit` items. */
export async function* mapOrdered<T, R>(items: AsyncIterable<T>, limit: number, fn: (item: T) => Promise<R>): AsyncGenerator<R> {
  const queue: Array<Promise<R>> = [];
  for await (const item of items) {
    const p = fn(item);
    p.catch(() => {}); // surfaced when its turn comes
    queue.push(p);
    if (queue.length >= limit) yield await queue.shift()!;
  }
  while (queue.length) yield await queue.shift()!;
}

export interface PlanRunInput {
  runId: string;
  trigger?: RunReport['trigger'];
  options: RunOptions;
  source: Backend;
  destination: Backend;
  state: Backend;
  startTime?: string;
  /** The time the run plans as (minAge, partitions.lookback); defaults to now. */
  now?: number;
}

/** Plans a run and writes the manifest; returns the published totals. */
export async function writePlan(input: PlanRunInput): Promise<Plan> {
  const { options: opts, source, destination } = input;
  const state = new RunState(input.state, opts.state.prefix, input.runId);
  const work = await mkdtemp(path.join(tmpdir(), 'datasync-plan-'));
  try {
    const shards = new ShardWriter(work, opts.shards);
    const deletes = new LineFile(path.join(work, 'deletes.jsonl'));
    const moveSkipped = new LineFile(path.join(work, 'move-skipped.jsonl'));
    const splits = new LineFile(path.join(work, 'splits.jsonl'));
    const totals: Plan['totals'] = { filesExpected: 0, bytesExpected: 0, filesToCopy: 0, bytesToCopy: 0, filesSkipped: 0, bytesSkipped: 0, filesToDelete: 0, bytesToDelete: 0, destinationFiles: 0, splitFiles: 0 };
    const partUpload = destination.features.partUpload;
    const asOf = input.now ?? Date.now();
    // staging must sit on the destination itself (a rename cannot cross endpoints).
    const stageHere = JSON.stringify(opts.state.endpoint) === JSON.stringify(opts.destination);
    const partitions = opts.partitions ? createPartitionPlanner(opts.partitions, source, asOf) : undefined;
    for await (const p of planDecisions(opts, source, destination, asOf, partitions)) {
      if (p.dst && p.decision.action !== 'filtered') totals.destinationFiles++;
      switch (p.decision.action) {
        case 'copy': {
          const s = p.src!;
          totals.filesExpected++; totals.bytesExpected += s.size;
          totals.filesToCopy++; totals.bytesToCopy += s.size;
          if (partUpload && s.size > opts.splitFilesLargerThan) {
            totals.splitFiles++;
            await splitIntoRanges(await withRecordedModTime(source, s), p.decision.reason, opts, partUpload.begin.bind(partUpload), shards, splits);
          } else {
            // publish: Atomic on a renaming destination stages partition files (copier/partitions/publish.ts).
            const target = opts.partitions && stageHere ? stagingPathFor(s.path, input.runId, opts.partitions, destination.features, opts.state.prefix) : s.path;
            await shards.add({ path: s.path, size: s.size, mtimeMs: s.mtimeMs, reason: p.decision.reason, ...(target === s.path ? {} : { target }) });
          }
          break;
        }
        case 'skip':
          totals.filesExpected++; totals.bytesExpected += p.src!.size;
          totals.filesSkipped++; totals.bytesSkipped += p.src!.size;
          if (opts.mode === 'Move') await moveSkipped.write({ path: p.path, size: p.src!.size });
          break;
        case 'delete':
          totals.filesToDelete++; totals.bytesToDelete += p.dst!.size;
          await deletes.write({ path: p.path, size: p.dst!.size });
          break;
        case 'keep':
        case 'filtered':
          break;
      }
    }
    await shards.close();
    await deletes.close();
    await moveSkipped.close();
    await splits.close();
    for (const [i, s] of shards.shards.entries()) await state.putFile(shardFile(i), s.file.file, s.file.bytes);
    await state.putFile(DELETES_FILE, deletes.file, deletes.bytes);
    await state.putFile(MOVE_SKIPPED_FILE, moveSkipped.file, moveSkipped.bytes);
    await state.putFile(SPLITS_FILE, splits.file, splits.bytes);
    if (partitions) await state.putJson(PARTITIONS_FILE, partitions.summary()); // read by commitPartitions
    const createdAt = new Date().toISOString();
    const plan: Plan = {
      runId: input.runId,
      createdAt,
      startTime: input.startTime ?? createdAt,
      ...(input.trigger ? { trigger: input.trigger } : {}),
      shards: shards.shards.map((s, index) => ({ index, files: s.files, bytes: s.bytes })),
      totals,
    };
    // Written last: its presence means the manifest is complete.
    await state.putJson(PLAN_FILE, plan);
    return plan;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Part size for a file, grown so the upload stays within S3's 10,000 parts. */
function partSizeFor(size: number, partSize: number): number {
  const mib = 2 ** 20;
  return size <= partSize * 10_000 ? partSize : Math.ceil(size / 10_000 / mib) * mib;
}

async function splitIntoRanges(
  s: Entry, reason: string, opts: RunOptions,
  begin: (path: string, o: { mtimeMs: number; size: number }) => Promise<string>,
  shards: ShardWriter, splits: LineFile,
): Promise<void> {
  const partSize = partSizeFor(s.size, opts.partSize);
  const parts = Math.ceil(s.size / partSize);
  const rangeCount = Math.min(parts, Math.max(opts.shards, Math.ceil(s.size / opts.splitFilesLargerThan)));
  const partsPerRange = Math.ceil(parts / rangeCount);
  const ranges = Math.ceil(parts / partsPerRange);
  const token = await begin(s.path, { mtimeMs: s.mtimeMs, size: s.size });
  await splits.write({ path: s.path, size: s.size, mtimeMs: s.mtimeMs, token, ranges, partSize } satisfies SplitFile);
  for (let r = 0; r < ranges; r++) {
    const firstPart = r * partsPerRange + 1;
    const offset = (firstPart - 1) * partSize;
    const length = Math.min(partsPerRange * partSize, s.size - offset);
    await shards.add({
      path: s.path, size: s.size, mtimeMs: s.mtimeMs, reason: `${reason} (range ${r + 1}/${ranges})`,
      range: { token, index: r, count: ranges, firstPart, partCount: Math.ceil(length / partSize), partSize, offset, length },
    });
  }
}
