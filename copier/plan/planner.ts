// The plan phase: stream both listings, merge them, decide per path (decide.ts), and write the
// manifest (manifest.ts) to the run's state location. Nothing here is held per file in memory.
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listInBatches, type Backend, type Entry } from '../backends/backend.ts';
import { STATE_PREFIX, type RunOptions } from '../options.ts';
import type { RunReport } from '../../api/types.ts';
import { RunState } from '../runtime/state.ts';
import { mapOrdered, mapOrderedRuns } from '../runtime/concurrency.ts';
import { createFilter } from './filters.ts';
import { mergeListings } from './merge.ts';
import { decide, needsDetail, type Decision } from './decide.ts';
import { crc32cFor, withRecordedModTime } from './details.ts';
import {
  describes, except, factFromStat, indexEntries, indexPath, IndexWriter, mergeIndexes, openIndex, readIndex,
  type IndexCursor, type IndexEntry, type IndexStatus,
} from './mtime-index.ts';
import type { Logger } from '../log.ts';
import { LineFile, ShardWriter } from './shard-writer.ts';
import { createPartitionPlanner, PARTITIONS_FILE, type PartitionPlanner } from '../partitions/engine.ts';
import { stagingPathFor } from '../partitions/publish.ts';
import { DELETES_FILE, MOVE_SKIPPED_FILE, PLAN_FILE, SPLITS_FILE, shardFile, type Plan, type SplitFile } from './manifest.ts';

export interface PlannedPath {
  path: string;
  src?: Entry | undefined;
  dst?: Entry | undefined;
  decision: Decision | { action: 'filtered'; reason: string };
  /**
   * What the destination index should say about `dst` after this plan: an entry carried over from
   * the old index (it described the listed object), or a fact this plan's HEAD established.
   */
  recorded?: { entry: IndexEntry; carried: boolean } | undefined;
}

/** Every path of both sides with its decision, in path order. Used by the dry run. */
export async function* planDecisions(...args: Parameters<typeof planDecisionRuns>): AsyncGenerator<PlannedPath> {
  for await (const run of planDecisionRuns(...args)) yield* run;
}

/**
 * planDecisions in runs of paths, as the listings deliver them (a directory, a page): the plan's
 * per-path work is plain loops, with promises per run, not per path.
 */
export async function* planDecisionRuns(
  opts: RunOptions, src: Backend, dst: Backend, now = Date.now(),
  // partition scope (copier/partitions): which partitions are ready, waiting, skipped.
  partitions: PartitionPlanner | undefined = opts.partitions ? createPartitionPlanner(opts.partitions, src, now) : undefined,
  // The destination's recorded-mtime index (mtime-index.ts): answers instead of a HEAD when it
  // describes the listed object (same path, size and ETag).
  dstIndex?: IndexCursor,
): AsyncGenerator<PlannedPath[]> {
  const filter = createFilter(opts.filters, now);
  const statePrefix = opts.state.prefix;
  const stateIsDestination = JSON.stringify(opts.state.endpoint) === JSON.stringify(opts.destination);
  // DataSync's own state (manifests, journals, reports) is never data, on either side.
  const extraPrefix = stateIsDestination ? statePrefix : undefined;
  const skip = {
    source: (e: Entry) => e.path.startsWith(STATE_PREFIX),
    destination: (e: Entry) => e.path.startsWith(STATE_PREFIX) || (extraPrefix !== undefined && e.path.startsWith(extraPrefix)),
  };
  // Scoping runs in path order; fetching details (a HEAD, or reading for a checksum) runs up to
  // DETAIL_CONCURRENCY paths ahead, and results still come out in path order.
  const scoped = async function* (): AsyncGenerator<Array<PlannedPath | Unresolved>> {
    for await (const pairs of mergeListings(listInBatches(src), listInBatches(dst), skip)) {
      const out: Array<PlannedPath | Unresolved> = [];
      for (const pair of pairs) {
        const { src: s, dst: d } = pair;
        // Every destination entry is looked up (in listing order, one pass over the index), so the
        // facts about objects this run does not compare (filtered, kept) carry over too.
        let hit = d && dstIndex ? dstIndex.seek(d.path) : undefined;
        if (hit instanceof Promise) hit = await hit;
        const known = hit && describes(hit, d!) ? hit : undefined;
        if (hit && !known) await dstIndex!.drop(hit); // the object changed since: replaced by a HEAD's fact, or by the copy's receipt
        const kept = known ? { recorded: { entry: known, carried: true } } : {};
        if (s) {
          const v = filter.source(s);
          if (!v.included) {
            // Out of scope: not copied, and a destination copy (if any) stays as it is.
            out.push({ path: pair.path, src: s, dst: d, decision: { action: 'filtered', reason: v.reason }, ...kept });
            continue;
          }
        } else if (d && !filter.path(pair.path).included) {
          out.push({ path: pair.path, dst: d, decision: { action: 'filtered', reason: 'excluded (left in destination)' }, ...kept });
          continue;
        }
        // partitions: only ready partitions are copied; Sync deletes only inside them.
        if (partitions) {
          const v = s ? await partitions.source(s) : await partitions.destinationOnly(d!);
          if (!v.included) {
            out.push({ path: pair.path, src: s, dst: d, decision: { action: 'filtered', reason: v.reason }, ...kept });
            continue;
          }
        }
        out.push({ path: pair.path, src: s, dst: d, unresolved: true, known });
      }
      yield out;
    }
  };
  const decided = (x: Unresolved, s: Entry | undefined, d: Entry | undefined, recorded: PlannedPath['recorded'], checksums = {}): PlannedPath => (
    { path: x.path, src: s, dst: d, decision: decide({ src: s, dst: d, mode: opts.mode, compare: opts.compare, ...checksums }), ...(recorded ? { recorded } : {}) }
  );
  // Synchronous when nothing has to be fetched (the common case of a run where little changed:
  // a promise per path was a good part of the planner's own CPU), asynchronous otherwise.
  const resolve = (x: PlannedPath | Unresolved): PlannedPath | Promise<PlannedPath> => {
    if (!('unresolved' in x)) return x;
    const { src: s, dst: d } = x;
    const carried = x.known ? { entry: x.known, carried: true } : undefined;
    const detail = needsDetail({ src: s, dst: d, compare: opts.compare });
    if (detail === undefined) return decided(x, s, d, carried);
    if (detail === 'mtime' && !src.features.listModTimeIsUploadTime) {
      // The index describes this very object (same size and ETag): its recorded mtime, no HEAD.
      if (x.known) return decided(x, s, { ...d!, mtimeMs: x.known.mtimeMs }, carried);
      if (!dst.features.listModTimeIsUploadTime) return decided(x, s, d, carried);
    }
    return fetchAndDecide(x, detail);
  };
  const fetchAndDecide = async (x: Unresolved, detail: 'mtime' | 'checksum'): Promise<PlannedPath> => {
    let { src: s, dst: d } = x;
    let recorded = x.known ? { entry: x.known, carried: true } : undefined;
    if (detail === 'mtime') {
      const dstSide = async (): Promise<Entry> => {
        // The index describes this very object (same size and ETag): its recorded mtime, no HEAD.
        if (x.known) return { ...d!, mtimeMs: x.known.mtimeMs };
        if (!dst.features.listModTimeIsUploadTime) return d!;
        const st = await dst.stat(d!.path);
        const fact = dstIndex ? factFromStat(st) : undefined;
        if (fact) recorded = { entry: fact, carried: false };
        return st;
      };
      [s, d] = await Promise.all([withRecordedModTime(src, s!), dstSide()]);
    }
    const checksums = detail === 'checksum' ? { srcChecksum: await crc32cFor(src, s!), dstChecksum: await crc32cFor(dst, d!) } : {};
    return decided(x, s, d, recorded, checksums);
  };
  yield* mapOrderedRuns(scoped(), DETAIL_CONCURRENCY, resolve);
}

async function* from<T>(items: T[]): AsyncGenerator<T> { yield* items; }

async function nothingUnder(backend: Backend, prefix: string): Promise<boolean> {
  for await (const _ of backend.list({ prefix })) return false;
  return true;
}

interface Unresolved { path: string; src?: Entry | undefined; dst?: Entry | undefined; unresolved: true; known: IndexEntry | undefined }
// A HEAD per same-size object on S3 (recorded mtime): as many in flight as rclone's --checkers 64.
const DETAIL_CONCURRENCY = 64;

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
  log?: Logger | undefined;
  /**
   * Called once for each shard as it gets its first file, while the listing is still streaming:
   * `datasync run` starts that shard's worker process then, so the worker loads while the plan is
   * being made (ShardWriter fills shards 0, 1, ... in order, so these come in index order).
   */
  onShardHasWork?: ((shard: number) => void) | undefined;
}

/** Plans a run and writes the manifest; returns the published totals. */
export async function writePlan(input: PlanRunInput): Promise<Plan> {
  const { options: opts, source, destination } = input;
  const state = new RunState(input.state, opts.state.prefix, input.runId);
  // Whether an earlier attempt of this run (a retried plan Job) left state here: asked now and
  // answered while the listing runs, not one more round trip after it. Nothing of this attempt is
  // written under the run's directory before the lists below.
  const freshState = nothingUnder(input.state, state.dir);
  freshState.catch(() => {}); // surfaced where it is awaited
  const work = await mkdtemp(path.join(tmpdir(), 'datasync-plan-'));
  try {
    const shards = new ShardWriter(work, opts.shards, input.onShardHasWork);
    const deletes = new LineFile(path.join(work, 'deletes.jsonl'));
    const moveSkipped = new LineFile(path.join(work, 'move-skipped.jsonl'));
    const splits = new LineFile(path.join(work, 'splits.jsonl'));
    const totals: Plan['totals'] = { filesExpected: 0, bytesExpected: 0, filesToCopy: 0, bytesToCopy: 0, filesSkipped: 0, bytesSkipped: 0, filesToDelete: 0, bytesToDelete: 0, destinationFiles: 0, splitFiles: 0 };
    const partUpload = destination.features.partUpload;
    const asOf = input.now ?? Date.now();
    // staging must sit on the destination itself (a rename cannot cross endpoints).
    const stageHere = JSON.stringify(opts.state.endpoint) === JSON.stringify(opts.destination);
    const partitions = opts.partitions ? createPartitionPlanner(opts.partitions, source, asOf) : undefined;
    // Only a destination whose listing lacks the recorded mtime needs the index (S3). The plan
    // writes down only what differs from the old index: facts its HEADs established, and the old
    // entries it did not carry over. A run where nothing changed writes neither.
    let index: PlanIndex | undefined;
    if (destination.features.listModTimeIsUploadTime) {
      const dropped = new IndexWriter(path.join(work, 'index-dropped.jsonl'), destination.location);
      const old = openIndex(input.state, opts.state.prefix, destination.location, (e) => dropped.add(e));
      index = { old, fresh: new IndexWriter(path.join(work, 'index-fresh.jsonl'), destination.location), dropped, work };
    }
    for await (const run of planDecisionRuns(opts, source, destination, asOf, partitions, index?.old)) for (const p of run) {
      if (p.dst && p.decision.action !== 'filtered') totals.destinationFiles++;
      if (index && p.recorded && !p.recorded.carried) await index.fresh.add(p.recorded.entry);
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
    if (index) await publishIndex(input, index);
    await deletes.close();
    await moveSkipped.close();
    await splits.close();
    // Empty lists are not written when the run's state is new: every reader treats an absent list as
    // empty (RunState.readLines), so a run with nothing to copy stores plan.json alone instead of a
    // request per list. A repeated plan of the same run (a retried plan Job) writes them all, so
    // no list of the earlier attempt survives.
    const lists: Array<[string, LineFile]> = [
      ...shards.shards.map((s, i): [string, LineFile] => [shardFile(i), s.file]),
      [DELETES_FILE, deletes], [MOVE_SKIPPED_FILE, moveSkipped], [SPLITS_FILE, splits],
    ];
    const fresh = await freshState;
    const put = lists.filter(([, f]) => f.lines > 0 || !fresh);
    for await (const _ of mapOrdered(from(put), 8, ([name, f]) => state.putFile(name, f.file, f.bytes))) void _;
    if (partitions) await state.putJson(PARTITIONS_FILE, partitions.summary()); // read by commitPartitions
    const createdAt = new Date().toISOString();
    const plan: Plan = {
      runId: input.runId,
      createdAt,
      startTime: input.startTime ?? createdAt,
      ...(input.trigger ? { trigger: input.trigger } : {}),
      // Only the shards with work (0..used-1, see ShardWriter.used): a run of 1 file plans 1 shard
      // whatever parallelism.shards says, one with nothing to copy plans none; the operator sizes the
      // copy Job from this count (no copy Job for 0), `datasync run` forks one worker per shard.
      shards: shards.shards.slice(0, shards.used).map((s, index) => ({ index, files: s.files, bytes: s.bytes })),
      totals,
    };
    // Written last: its presence means the manifest is complete.
    await state.putJson(PLAN_FILE, plan);
    return plan;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

interface PlanIndex { old: IndexCursor; fresh: IndexWriter; dropped: IndexWriter; work: string }

/**
 * Publishes what this plan knows about the destination's recorded mtimes, right away: every entry
 * is a fact about a stored object version, true whatever happens to the rest of the run. Files the
 * copy phase writes are added by the commit (copier/commit/receipts.ts). When nothing was dropped
 * from the old index and nothing added (a run where nothing changed), it is left as it is;
 * otherwise the new one is the old one read again, less what was dropped, plus the new facts.
 */
async function publishIndex(input: PlanRunInput, index: PlanIndex): Promise<void> {
  const { old, fresh, dropped } = index;
  const location = input.destination.location;
  const statePrefix = input.options.state.prefix;
  const oldCount = await old.finish(); // what is left after the last listed path is dropped too
  await fresh.close();
  await dropped.close();
  const key = indexPath(statePrefix, location);
  const log = input.log;
  const unchanged = old.source.status !== 'invalid' && fresh.count === 0 && dropped.count === 0;
  if (old.source.status === 'invalid') log?.warn({ index: key, problem: old.source.problem }, 'recorded-mtime index unusable; rewriting it (this run HEADed what it could not answer)');
  log?.info({ index: key, previous: oldCount, dropped: dropped.count, added: fresh.count, unchanged }, 'recorded-mtime index');
  if (unchanged) return;
  // Atomic by the Backend contract (nothing visible at the final path before the whole body is
  // stored). A failure only costs the next run its HEADs, so it does not fail this one.
  try {
    const again = { status: 'absent' as IndexStatus };
    const next = new IndexWriter(path.join(index.work, 'index.jsonl'), location);
    const kept = except(indexEntries(input.state, statePrefix, location, again), readIndex(createReadStream(dropped.file), location, { status: 'absent' }));
    for await (const e of mergeIndexes([kept, readIndex(createReadStream(fresh.file), location, { status: 'absent' })])) await next.add(e);
    await next.close();
    if (next.count === 0) await input.state.delete(key);
    else await input.state.write(key, createReadStream(next.file), { size: next.bytes, contentType: 'application/x-ndjson' });
  } catch (err) {
    log?.warn({ index: key, err: (err as Error).message }, 'could not write the recorded-mtime index');
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
