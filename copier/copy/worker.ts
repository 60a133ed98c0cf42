// The copy phase for one shard: read the shard's manifest lines, copy each file (or byte range of a
// split file) with bounded concurrency, streaming source → destination while computing CRC32C
// (here, or in a destination that checks it on write), verify, journal it durably, and report progress at an interval. A restarted shard skips what
// its journal says is done.
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type { Backend, Checksum, WriteResult } from '../backends/backend.ts';
import type { FailedFile } from '../../api/types.ts';
import type { RunOptions } from '../options.ts';
import type { Logger } from '../log.ts';
import { ChecksumStream, crc32cChecksum } from '../checksum.ts';
import { DataSyncError, asDataSyncError } from '../errors.ts';
import { RunState } from '../runtime/state.ts';
import { PLAN_FILE, journalKey, shardFile, type CopyItem, type JournalRecord, type Plan } from '../plan/manifest.ts';
import { recordedMtime } from '../plan/mtime-index.ts';
import { Journal } from './journal.ts';
import { withRetry } from './retry.ts';
import { MeteredStream, TokenBucket } from './throttle.ts';
import { forEachPulled } from '../runtime/concurrency.ts';

export interface ShardProgress {
  shard: number;
  filesTotal: number;
  filesDone: number;
  bytesTotal: number;
  bytesDone: number;
  filesSkipped: number;
  filesFailed: number;
  transferring: number;
  /** The part of bytesDone an earlier attempt finished (from the journal): done, but not moved now. */
  bytesResumed?: number;
}

export interface ShardSummary extends ShardProgress {
  /** Files copied by this attempt. */
  filesCopied: number;
  bytesCopied: number;
  /** Files an earlier attempt finished (from the journal), not copied again. */
  filesResumed: number;
  bytesResumed: number;
  bytesFailed: number;
  /** A bounded sample: at most 20. */
  failedFiles: FailedFile[];
}

export interface ShardInput {
  runId: string;
  shard: number;
  options: RunOptions;
  source: Backend;
  destination: Backend;
  state: Backend;
  log: Logger;
  onProgress?: (p: ShardProgress) => void;
  progressIntervalMs?: number;
}

const FAILED_SAMPLE = 20;

export async function runShard(input: ShardInput): Promise<ShardSummary> {
  const { options: opts, shard, source, destination, log } = input;
  const state = new RunState(input.state, opts.state.prefix, input.runId);
  const journal = new Journal(state, shard);
  // The plan and what earlier attempts finished, read at once: one round trip less before the
  // first copy, for every shard. An absent journal just lists nothing.
  const loading = journal.loadDone();
  loading.catch(() => {}); // a missing plan is the error to report; this one is awaited below
  const plan = await state.getJson<Plan>(PLAN_FILE);
  if (!plan) throw new DataSyncError(`run ${input.runId} has no plan at ${input.state.location}/${state.dir}; run the plan phase first`, { code: 'InvalidConfig', side: 'state' });
  const planned = plan.shards[shard];
  if (!planned) throw new DataSyncError(`run ${input.runId} has ${plan.shards.length} shards; there is no shard ${shard}`, { code: 'InvalidConfig', side: 'config' });
  const done = await loading;
  // The run's limit is split evenly over the shards that have work; they all run at once.
  const activeShards = plan.shards.filter((p) => p.files > 0).length || 1;
  const bucket = opts.bandwidthLimit ? new TokenBucket(opts.bandwidthLimit / activeShards) : undefined;
  const s: ShardSummary = {
    shard, filesTotal: planned.files, filesDone: 0, bytesTotal: planned.bytes, bytesDone: 0, filesSkipped: 0, filesFailed: 0, transferring: 0,
    filesCopied: 0, bytesCopied: 0, filesResumed: 0, bytesResumed: 0, bytesFailed: 0, failedFiles: [],
  };
  const report = () => input.onProgress?.({ shard, filesTotal: s.filesTotal, filesDone: s.filesDone, bytesTotal: s.bytesTotal, bytesDone: s.bytesDone, filesSkipped: s.filesSkipped, filesFailed: s.filesFailed, transferring: s.transferring, bytesResumed: s.bytesResumed });
  const timer = setInterval(report, input.progressIntervalMs ?? 1000);
  timer.unref();

  // Copy slots do not wait for the journal write; the shard only ends once every record is stored.
  const journalWrites = new Set<Promise<void>>();
  let journalError: { err: unknown } | undefined;
  const journalRecord = (r: Parameters<Journal['record']>[0]) => {
    if (journalError) throw journalError.err;
    const p: Promise<void> = journal.record(r).catch((err) => { journalError ??= { err }; }).finally(() => journalWrites.delete(p));
    journalWrites.add(p);
  };

  const copyOne = async (item: CopyItem) => {
    const bytes = item.range?.length ?? item.size;
    if (done.has(journalKey({ path: item.path, range: item.range?.index }))) {
      s.filesResumed++; s.filesDone++; s.bytesDone += bytes; s.bytesResumed += bytes;
      return;
    }
    s.transferring++;
    try {
      const copied = await copyItem(item, opts, source, destination, bucket, (n) => { s.bytesDone += n; }, log);
      journalRecord({ path: item.path, ...(item.range ? { range: item.range.index, parts: copied.parts ?? [] } : {}), status: 'done', bytes, ...(copied.stored ? { stored: copied.stored } : {}) });
      s.filesCopied++; s.bytesCopied += bytes; s.filesDone++;
    } catch (err) {
      const e = asDataSyncError(err);
      if (e?.side === 'state' || e?.code === 'Unauthenticated' || e?.code === 'InvalidConfig') throw err; // the whole shard cannot proceed
      const message = (err as Error).message;
      log.warn({ path: item.path, code: e?.code, err: message }, 'file failed');
      journalRecord({ path: item.path, ...(item.range ? { range: item.range.index } : {}), status: 'failed', bytes, error: message });
      s.filesFailed++; s.bytesFailed += bytes; s.filesDone++;
      if (s.failedFiles.length < FAILED_SAMPLE) s.failedFiles.push({ path: item.path, error: message });
    } finally {
      s.transferring--;
    }
  };

  try {
    await forEachPulled(state.readLines<CopyItem>(shardFile(shard)), opts.transfersPerShard, copyOne);
  } finally {
    clearInterval(timer);
    journal.flushNow(); // the last batch need not wait out the delay meant for joining completions
    while (journalWrites.size) await Promise.all(journalWrites);
  }
  if (journalError) throw journalError.err;
  report();
  return s;
}

type PartReceipts = Array<{ partNumber: number; size: number; id: string; checksum?: Checksum }>;
/** What one copy leaves for the journal: a range's part receipts, or a whole file's stored fact. */
type Copied = { parts?: PartReceipts; stored?: NonNullable<JournalRecord['stored']> };

async function copyItem(
  item: CopyItem, opts: RunOptions, source: Backend, destination: Backend,
  bucket: TokenBucket | undefined, onBytes: (n: number) => void, log: Logger,
): Promise<Copied> {
  const policy = { attempts: opts.attemptsPerFile };
  const onRetry = (err: unknown, attempt: number, delayMs: number) => log.info({ path: item.path, attempt, delayMs, err: (err as Error).message }, 'retrying');
  if (!item.range) {
    return withRetry(async () => {
      let sent = 0;
      try {
        // Listings of object stores carry the upload time; keep the mtime recorded at the source.
        const mtimeMs = source.features.listModTimeIsUploadTime ? (await source.stat(item.path)).mtimeMs : item.mtimeMs;
        const body = meteredSource(await source.read(item.path, { expectedSize: item.size }), bucket, (n) => { sent += n; onBytes(n); }, destination);
        const result = await destination.write(item.target ?? item.path, body.stream, { size: item.size, mtimeMs }); // target: a partition file staged for Atomic publish
        await verify(item, opts, destination, result, body);
        // Where listings carry upload times, what was stored becomes a recorded-mtime index fact at
        // commit, so the next run needs no HEAD for this file.
        const recorded = destination.features.listModTimeIsUploadTime ? recordedMtime(mtimeMs) : undefined;
        return recorded !== undefined && result.version ? { stored: { size: result.size, version: result.version, mtimeMs: recorded } } : {};
      } catch (err) {
        onBytes(-sent); // this attempt's bytes do not count
        throw err;
      }
    }, policy, onRetry);
  }
  const r = item.range;
  const upload = destination.features.partUpload;
  if (!upload) throw new DataSyncError(`${destination.location} cannot upload parts, but the plan split ${item.path}`, { code: 'Unsupported', side: 'destination' });
  const receipts: PartReceipts = [];
  for (let k = 0; k < r.partCount; k++) {
    const partNumber = r.firstPart + k;
    const offset = r.offset + k * r.partSize;
    const length = Math.min(r.partSize, r.offset + r.length - offset);
    receipts.push(await withRetry(async () => {
      let sent = 0;
      try {
        const body = meteredSource(await source.read(item.path, { offset, length }), bucket, (n) => { sent += n; onBytes(n); }, destination);
        const receipt = await upload.writePart(r.token, item.path, partNumber, body.stream, length);
        if (body.tap.bytes !== length) throw mismatch(item.path, `part ${partNumber}: read ${body.tap.bytes} bytes, expected ${length}`);
        if (body.tap.crc32c === undefined) {
          // The destination hashed the part and its server checked the hash (features.checksOnWrite).
          if (opts.verify === 'Checksum' && receipt.checksum?.algorithm !== 'crc32c') throw mismatch(item.path, `part ${partNumber}: the destination reported no crc32c`);
          return receipt;
        }
        const streamed = crc32cChecksum(body.tap.crc32c);
        if (opts.verify === 'Checksum' && receipt.checksum && receipt.checksum.value !== streamed.value) throw mismatch(item.path, `part ${partNumber}: stored crc32c ${receipt.checksum.value}, streamed ${streamed.value}`);
        return { ...receipt, checksum: receipt.checksum ?? streamed };
      } catch (err) {
        onBytes(-sent);
        throw err;
      }
    }, policy, onRetry));
  }
  return { parts: receipts };
}

/**
 * The source stream through one pass-through that meters it (bandwidth, progress, byte count) and
 * hashes it with CRC32C, unless the destination hashes what it receives and has its server check
 * that (features.checksOnWrite): then a second pass over the same bytes would prove nothing more.
 */
function meteredSource(src: Readable, bucket: TokenBucket | undefined, onBytes: (n: number) => void, destination: Backend): { stream: Readable; tap: MeteredStream } {
  const tap = new MeteredStream(bucket, onBytes, { crc32c: destination.features.checksOnWrite !== 'crc32c' });
  // A source error destroys the tap, which the destination's write then reports; a tap closed by
  // the destination (done, failed or aborted) releases the source. Plain pipe() rather than
  // stream.pipeline: pipeline builds and aborts an AbortController per call, and the DOMException
  // that creates was 2% of the copy CPU for 16 KiB files.
  src.on('error', (err) => tap.destroy(err));
  tap.on('close', () => src.destroy());
  tap.feedFrom(src);
  return { stream: tap, tap };
}

function mismatch(path: string, detail: string): DataSyncError {
  return new DataSyncError(`${path}: verification failed: ${detail}`, { code: 'ChecksumMismatch', side: 'destination', path, retryable: true });
}

async function verify(item: CopyItem, opts: RunOptions, destination: Backend, result: WriteResult, body: { tap: MeteredStream }): Promise<void> {
  const { bytes, crc32c } = body.tap;
  if (bytes !== item.size) {
    throw new DataSyncError(`${item.path}: source changed during the copy (read ${bytes} bytes, planned ${item.size})`, { code: 'ChecksumMismatch', side: 'source', path: item.path, retryable: true });
  }
  if (opts.verify === 'None') return;
  if (result.size !== item.size) throw mismatch(item.path, `stored ${result.size} bytes, expected ${item.size}`);
  if (opts.verify === 'Size') return;
  if (crc32c === undefined) {
    // features.checksOnWrite: the CRC32C went with the data and the server accepted it.
    if (!result.checksums.some((c) => c.algorithm === 'crc32c')) throw mismatch(item.path, 'the destination reported no crc32c for a write it checks');
    return;
  }
  const streamed = crc32cChecksum(crc32c).value;
  const stored = result.checksums.find((c) => c.algorithm === 'crc32c')?.value ?? (await storedCrc32c(destination, item.target ?? item.path)); // verify where it was written
  if (stored !== streamed) throw mismatch(item.path, `stored crc32c ${stored}, streamed ${streamed}`);
}

/** When a backend does not report CRC32C on write: ask it, or read the object back. */
async function storedCrc32c(destination: Backend, path: string): Promise<string> {
  const native = (await destination.stat(path)).checksums?.find((c) => c.algorithm === 'crc32c');
  if (native) return native.value;
  const sum = new ChecksumStream();
  await pipeline(await destination.read(path), sum, new Writable({ write: (_c, _e, cb) => cb() }));
  return crc32cChecksum(sum.crc32c).value;
}
