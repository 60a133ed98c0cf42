// The commit phase: join split files, account for every planned file from the shard journals,
// delete destination extras (Sync) or verified sources (Move) within the maxDelete guard, and
// write the run report to the state location.
import type { Backend, WriteResult } from '../backends/backend.ts';
import type { FailedFile, RunOutcome, RunReport } from '../../api/types.ts';
import type { RunOptions } from '../options.ts';
import type { Logger } from '../log.ts';
import { DataSyncError, hasCode } from '../errors.ts';
import { RunState } from '../runtime/state.ts';
import {
  DELETES_FILE, MOVE_SKIPPED_FILE, PLAN_FILE, REPORT_FILE, SPLITS_FILE, journalKey, journalLog, shardFile,
  type CopyItem, type JournalRecord, type PathSize, type Plan, type SplitFile,
} from '../plan/manifest.ts';
import { checkDeleteGuard } from './guard.ts';
import { combinePartChecksums, crc32cHex } from '../checksum.ts';
import { commitPartitions } from '../partitions/engine.ts';
import { EmptyDirCollector } from '../watch/prune-dirs.ts';
import { readRetryState, recordRunRetries } from '../watch/retry-state.ts';
import { recordedMtime, type IndexEntry } from '../plan/mtime-index.ts';
import { ReceiptCollector } from './receipts.ts';
import { mapOrdered } from '../runtime/concurrency.ts';
import { removeAll } from '../backends/support/remove-all.ts';

export interface CommitInput {
  runId: string;
  options: RunOptions;
  source: Backend;
  destination: Backend;
  state: Backend;
  log: Logger;
  /** A failure before commit (e.g. a shard that could not run) to fold into the report. */
  priorError?: string;
}

/** Full failedFiles in the report is bounded, like status.lastRun's sample. */
const FAILED_FILES_LIMIT = 1000;
/** Runs whose plan and report stay in the state location. */
const KEEP_RUNS = 20;
/** Shard journals read ahead of the one being checked at commit. */
const JOURNALS_AHEAD = 3;

export async function runCommit(input: CommitInput): Promise<RunReport> {
  const receipts = new ReceiptCollector(input.destination);
  try {
    return await commit(input, receipts);
  } finally {
    await receipts.dispose();
  }
}

async function commit(input: CommitInput, receipts: ReceiptCollector): Promise<RunReport> {
  const { options: opts, log } = input;
  const state = new RunState(input.state, opts.state.prefix, input.runId);
  // Read at once: a commit with nothing to account for is a handful of requests in all. The retry
  // counts are needed only at the end, but asking now saves a round trip there (20-50 ms on S3).
  const retriesBefore = readRetryState(input.state, opts.state.prefix);
  retriesBefore.catch(() => {}); // surfaced, as a warning, where it is used
  const [plan, earlier] = await Promise.all([state.getJson<Plan>(PLAN_FILE), state.getJson<RunReport>(REPORT_FILE)]);
  if (!plan) throw new DataSyncError(`run ${input.runId} has no plan in ${input.state.location}/${state.dir}`, { code: 'InvalidConfig', side: 'state' });

  // A repeated commit (a retried Job pod) reports what the first one did, and deletes nothing twice.
  if (earlier) return earlier;

  const t = { filesCopied: 0, bytesCopied: 0, filesFailed: 0, bytesFailed: 0 };
  const failedFiles: FailedFile[] = [];
  const fail = (path: string, error: string, bytes: number) => {
    t.filesFailed++; t.bytesFailed += bytes;
    if (failedFiles.length < FAILED_FILES_LIMIT) failedFiles.push({ path, error });
  };
  const splitRanges = new Map<string, JournalRecord[]>();
  const staged: Array<{ stagedPath: string; finalPath: string }> = []; // partition files to promote

  // Pass 1: every planned item against its shard's journal, handing the write receipts to the index
  // on the way. A shard planned empty has neither items nor a journal: no requests for it.
  const working = plan.shards.filter((s) => s.files > 0);
  for await (const { s, latest } of shardJournals(state, working)) {
    await receipts.startShard(s.index);
    for await (const item of state.readLines<CopyItem>(shardFile(s.index))) {
      const rec = latest.get(journalKey({ path: item.path, range: item.range?.index }));
      if (rec) await receipts.add(rec);
      if (item.range) {
        if (rec?.status === 'done') splitRanges.set(item.path, [...(splitRanges.get(item.path) ?? []), rec]);
        continue; // split files are counted once, below
      }
      if (rec?.status === 'done') {
        t.filesCopied++; t.bytesCopied += item.size;
        if (item.target) staged.push({ stagedPath: item.target, finalPath: item.path });
      } else {
        fail(item.path, rec?.error ?? `not copied: shard ${s.index} did not finish`, item.size);
      }
    }
  }

  // Split files: complete when every range is done; otherwise abort the upload.
  const copiedSplits = new Set<string>();
  const joined: IndexEntry[] = []; // facts for the recorded-mtime index, in splits.jsonl's path order
  for await (const sf of plan.totals.splitFiles > 0 ? state.readLines<SplitFile>(SPLITS_FILE) : none<SplitFile>()) {
    const ranges = (splitRanges.get(sf.path) ?? []).sort((a, b) => (a.range ?? 0) - (b.range ?? 0));
    if (ranges.length !== sf.ranges) {
      fail(sf.path, `${sf.ranges - ranges.length} of ${sf.ranges} ranges did not finish`, sf.size);
      // The next run plans a fresh upload; this one would only hold storage.
      await input.destination.features.partUpload?.abort(sf.token, sf.path).catch((err) => log.warn({ path: sf.path, err: (err as Error).message }, 'could not abort upload'));
      continue;
    }
    try {
      const result = await completeSplit(input.destination, sf, ranges, opts);
      // The upload was begun with the file's mtime in its metadata (planner.splitIntoRanges).
      const mtimeMs = recordedMtime(sf.mtimeMs);
      if (result?.version && mtimeMs !== undefined) joined.push({ path: sf.path, size: result.size, version: result.version, mtimeMs });
      t.filesCopied++; t.bytesCopied += sf.size;
      copiedSplits.add(sf.path);
    } catch (err) {
      fail(sf.path, (err as Error).message, sf.size);
    }
  }

  let filesDeleted = 0;
  let bytesDeleted = 0;
  const messages: string[] = [];
  if (input.priorError) messages.push(input.priorError);
  let guardTripped = false;

  if (opts.mode === 'Sync' && plan.totals.filesToDelete > 0) {
    const guard = checkDeleteGuard('destination files', plan.totals.filesToDelete, plan.totals.destinationFiles, opts.maxDelete);
    if (!guard.allowed) {
      guardTripped = true;
      messages.push(guard.message!);
    } else if (t.filesFailed > 0) {
      messages.push(`${t.filesFailed} files failed, so destination extras were not deleted (a later successful run deletes them)`);
    } else {
      await removeAll(input.destination, state.readLines<PathSize>(DELETES_FILE), (d) => {
        filesDeleted++; bytesDeleted += d.size;
      });
    }
  }

  if (opts.mode === 'Move') {
    // Sources whose copy verified in this run, or which already matched at the destination.
    const deletions = t.filesCopied + plan.totals.filesSkipped;
    const guard = checkDeleteGuard('source files', deletions, plan.totals.filesExpected, opts.maxDelete);
    if (!guard.allowed) {
      guardTripped = true;
      messages.push(guard.message!);
    } else {
      const emptied = new EmptyDirCollector(); // Move: remove directories left empty, never the root
      const deleted = ({ path, size }: PathSize) => {
        emptied.add(path);
        filesDeleted++; bytesDeleted += size;
      };
      for await (const { s, latest } of shardJournals(state, working)) {
        const copied = async function* () {
          for await (const item of state.readLines<CopyItem>(shardFile(s.index))) {
            if (!item.range && latest.get(journalKey({ path: item.path }))?.status === 'done') yield item;
          }
        };
        await removeAll(input.source, copied(), deleted);
      }
      const joinedSplits = async function* () {
        for await (const sf of state.readLines<SplitFile>(SPLITS_FILE)) if (copiedSplits.has(sf.path)) yield sf;
      };
      await removeAll(input.source, joinedSplits(), deleted);
      await removeAll(input.source, state.readLines<PathSize>(MOVE_SKIPPED_FILE), deleted);
      const pruned = await emptied.prune(input.source);
      if (pruned.removed.length) log.info({ removed: pruned.removed.length }, 'removed empty source directories');
    }
  }

  const end = new Date();
  const start = new Date(plan.startTime);
  const outcome: RunOutcome = guardTripped || input.priorError || (t.filesFailed > 0 && t.filesCopied === 0 && plan.totals.filesSkipped === 0)
    ? 'Failed'
    : t.filesFailed > 0 ? 'PartiallyFailed' : 'Succeeded';
  if (t.filesFailed > 0) messages.push(`${t.filesFailed} of ${plan.totals.filesToCopy} files failed`);
  const report: RunReport = {
    id: input.runId,
    ...(plan.trigger ? { trigger: plan.trigger } : {}),
    outcome,
    startTime: start.toISOString(),
    endTime: end.toISOString(),
    durationSeconds: Math.max(0, Math.round((end.getTime() - start.getTime()) / 100) / 10),
    filesExpected: plan.totals.filesExpected,
    filesCopied: t.filesCopied,
    filesSkipped: plan.totals.filesSkipped,
    filesFailed: t.filesFailed,
    filesDeleted,
    bytesExpected: plan.totals.bytesExpected,
    bytesCopied: t.bytesCopied,
    bytesSkipped: plan.totals.bytesSkipped,
    bytesFailed: t.bytesFailed,
    bytesDeleted,
    failedFiles,
    ...(messages.length ? { message: messages.join('; ') } : {}),
  };
  // publish ready partitions (markers last), watermark; see copier/partitions/README.md.
  if (opts.partitions) {
    try {
      Object.assign(report, await commitPartitions({
        spec: opts.partitions, runId: input.runId, destination: input.destination, state, statePrefix: opts.state.prefix, report, nowMs: Date.now(), log, staged,
      }));
    } catch (err) {
      report.outcome = 'Failed';
      report.message = [report.message, `publishing partitions failed: ${(err as Error).message}`].filter(Boolean).join('; ');
    }
  }
  // failures of earlier runs retried by this one: report.retries (copier/watch/retry-state.ts).
  try {
    Object.assign(report, { retries: await recordRunRetries(input.state, opts.state.prefix, report, retriesBefore) });
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'could not update the retry counts');
  }
  // What the copy phase wrote, into the destination's recorded-mtime index: the next run then needs
  // no HEAD for these files. Only speed depends on it, so a failure is a warning.
  try {
    await receipts.merge({ stateBackend: input.state, statePrefix: opts.state.prefix, extra: joined, log });
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'could not update the recorded-mtime index');
  }
  await state.putJson(REPORT_FILE, report);
  // The manifest and journals have served their purpose; the plan and report stay as the record.
  await Promise.all([
    state.removeAllBut([PLAN_FILE, REPORT_FILE]).catch((err) => log.warn({ err: (err as Error).message }, 'could not clean up run state')),
    RunState.pruneRuns(input.state, opts.state.prefix, KEEP_RUNS, input.runId).catch((err) => log.warn({ err: (err as Error).message }, 'could not prune old runs')),
  ]);
  log.info({ runId: input.runId, outcome, filesCopied: t.filesCopied, filesFailed: t.filesFailed, filesDeleted }, 'commit done');
  return report;
}

async function* none<T>(): AsyncGenerator<T> {}

/**
 * Each shard with its journal's latest records, in shard order. The journals of the next
 * JOURNALS_AHEAD shards are read while one is used, so at most that many more are in memory (read
 * one after another, B7's 4 shards took ~25 ms each of the commit).
 */
function shardJournals(state: RunState, shards: Plan['shards']): AsyncGenerator<{ s: Plan['shards'][number]; latest: Map<string, JournalRecord> }> {
  return mapOrdered(shards, 1 + JOURNALS_AHEAD, async (s) => ({ s, latest: await latestRecords(state, s.index) }));
}

async function latestRecords(state: RunState, shard: number): Promise<Map<string, JournalRecord>> {
  const latest = new Map<string, JournalRecord>();
  for await (const r of state.readLog<JournalRecord>(journalLog(shard))) {
    const key = journalKey(r);
    // done is final; of two (a file copied again after a journal flush was lost), the later one
    // names what is stored now: its version, or for a range, the parts that upload holds.
    if (r.status === 'done' || latest.get(key)?.status !== 'done') latest.set(key, r);
  }
  return latest;
}

/** Joins a split file; returns what the store reported, or undefined when an earlier commit already joined it. */
async function completeSplit(destination: Backend, sf: SplitFile, ranges: JournalRecord[], opts: RunOptions): Promise<WriteResult | undefined> {
  const upload = destination.features.partUpload!;
  const parts = ranges.flatMap((r) => r.parts ?? []);
  try {
    const result = await upload.complete(sf.token, sf.path, parts, { size: sf.size, mtimeMs: sf.mtimeMs });
    if (opts.verify !== 'None' && result.size !== sf.size) {
      throw new DataSyncError(`${sf.path}: joined ${result.size} bytes, expected ${sf.size}`, { code: 'ChecksumMismatch', side: 'destination', path: sf.path });
    }
    // The whole-object CRC32C the backend reports must equal the combination of the verified parts.
    const expected = combinePartChecksums(parts);
    const stored = result.checksums.find((c) => c.algorithm === 'crc32c')?.value;
    if (opts.verify === 'Checksum' && expected !== undefined && stored !== undefined && stored !== crc32cHex(expected)) {
      throw new DataSyncError(`${sf.path}: joined crc32c ${stored}, parts combine to ${crc32cHex(expected)}`, { code: 'ChecksumMismatch', side: 'destination', path: sf.path });
    }
    return result;
  } catch (err) {
    // A commit re-run after a completed upload finds no upload; the object being there is success.
    if (hasCode(err, 'NotFound')) {
      const st = await destination.stat(sf.path).catch(() => undefined);
      if (st?.size === sf.size) return undefined;
    }
    throw err;
  }
}
