// The plan phase: stream both listings, merge them, decide per path (decide.ts), and write the
// manifest (manifest.ts) to the run's state location. Nothing here is held per file in memory.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Backend, Entry } from '../backends/backend.ts';
import type { RunOptions } from '../options.ts';
import type { RunReport } from '../../api/types.ts';
import { RunState } from '../runtime/state.ts';
import { createFilter } from './filters.ts';
import { mergeListings } from './merge.ts';
import { decide, needsDetail, type Decision } from './decide.ts';
import { crc32cFor, withRecordedModTime } from './details.ts';
import { LineFile, ShardWriter } from './shard-writer.ts';
import { DELETES_FILE, MOVE_SKIPPED_FILE, PLAN_FILE, SPLITS_FILE, shardFile, type Plan, type SplitFile } from './manifest.ts';

export interface PlannedPath {
  path: string;
  src?: Entry | undefined;
  dst?: Entry | undefined;
  decision: Decision | { action: 'filtered'; reason: string };
}

/** Every path of both sides with its decision, in path order. Used by the planner and the dry run. */
export async function* planDecisions(opts: RunOptions, src: Backend, dst: Backend, now = Date.now()): AsyncGenerator<PlannedPath> {
  const filter = createFilter(opts.filters, now);
  const statePrefix = opts.state.prefix;
  const stateIsDestination = JSON.stringify(opts.state.endpoint) === JSON.stringify(opts.destination);
  const dstListing = (async function* () {
    for await (const e of dst.list()) {
      if (stateIsDestination && e.path.startsWith(statePrefix)) continue; // our own manifest and journals
      yield e;
    }
  })();
  for await (const pair of mergeListings(src.list(), dstListing)) {
    let { src: s, dst: d } = pair;
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
    const detail = needsDetail({ src: s, dst: d, compare: opts.compare });
    if (detail === 'mtime') {
      s = await withRecordedModTime(src, s!);
      d = await withRecordedModTime(dst, d!);
    }
    const checksums = detail === 'checksum' ? { srcChecksum: await crc32cFor(src, s!), dstChecksum: await crc32cFor(dst, d!) } : {};
    yield { path: pair.path, src: s, dst: d, decision: decide({ src: s, dst: d, mode: opts.mode, compare: opts.compare, ...checksums }) };
  }
}

export interface PlanRunInput {
  runId: string;
  trigger?: RunReport['trigger'];
  options: RunOptions;
  source: Backend;
  destination: Backend;
  state: Backend;
  startTime?: string;
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
    for await (const p of planDecisions(opts, source, destination)) {
      if (p.dst && p.decision.action !== 'filtered') totals.destinationFiles++;
      switch (p.decision.action) {
        case 'copy': {
          const s = p.src!;
          totals.filesExpected++; totals.bytesExpected += s.size;
          totals.filesToCopy++; totals.bytesToCopy += s.size;
          if (partUpload && s.size > opts.splitFilesLargerThan) {
            totals.splitFiles++;
            await splitIntoRanges(s, p.decision.reason, opts, partUpload.begin.bind(partUpload), shards, splits);
          } else {
            await shards.add({ path: s.path, size: s.size, mtimeMs: s.mtimeMs, reason: p.decision.reason });
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
    const now = new Date().toISOString();
    const plan: Plan = {
      runId: input.runId,
      createdAt: now,
      startTime: input.startTime ?? now,
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
