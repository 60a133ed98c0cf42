// Write receipts: what the copy phase stored, as facts for the destination's recorded-mtime index
// (copier/plan/mtime-index.ts), so the run after a copy needs no HEAD per copied object either.
//
// The copy phase's destination is wrapped (`recordWrites`): every data write that returns a version
// (S3: the ETag of the object just stored) yields "this path, this size, this ETag carries the
// mtime we wrote into its metadata". Receipts go to a per-shard log in the run's state, batched
// like the journal, never waited on by a copy; a lost batch (kill -9) only costs the next run
// HEADs. The commit merges them into the index (`mergeReceipts`).
import { mkdtemp, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Backend } from '../backends/backend.ts';
import type { Logger } from '../log.ts';
import type { RunState } from '../runtime/state.ts';
import { shardFile, type CopyItem, type Plan } from '../plan/manifest.ts';
import { IndexWriter, indexEntries, indexPath, mergeIndexes, readIndex, type IndexEntry, type IndexStatus } from '../plan/mtime-index.ts';

export const receiptsLog = (shard: number) => `receipts/shard-${String(shard).padStart(4, '0')}`;

/** A batch is written after this long, or at once when it reaches FLUSH_COUNT receipts. */
const FLUSH_DELAY_MS = 1000;
const FLUSH_COUNT = 5000;

/**
 * The mtime a HEAD will report for an object written with `mtimeMs`: the S3 backend stores it as
 * whole milliseconds in metadata and reads a value <= 0 as absent (falling back to the upload
 * time), so no fact is recorded for those.
 */
export function recordedMtime(mtimeMs: number | undefined): number | undefined {
  if (mtimeMs === undefined || !Number.isFinite(mtimeMs)) return undefined;
  const whole = Math.floor(mtimeMs);
  return whole > 0 ? whole : undefined;
}

export interface WriteRecorder {
  backend: Backend;
  /** Writes the receipts still pending; never throws. */
  close(): Promise<void>;
}

/** Wraps the copy phase's destination; undefined when its listings carry the recorded mtime anyway. */
export function recordWrites(destination: Backend, state: RunState, shard: number, log?: Logger): WriteRecorder | undefined {
  if (!destination.features.listModTimeIsUploadTime) return undefined;
  let pending: IndexEntry[] = [];
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  const flush = () => {
    if (timer) { clearTimeout(timer); timer = undefined; }
    if (!pending.length) return chain;
    const batch = pending;
    pending = [];
    chain = chain.then(() => state.append(receiptsLog(shard), batch)).catch((err) => {
      log?.warn({ shard, receipts: batch.length, err: (err as Error).message }, 'could not store write receipts (the next run HEADs those files)');
    });
    return chain;
  };
  const add = (e: IndexEntry) => {
    pending.push(e);
    if (pending.length >= FLUSH_COUNT) void flush();
    else if (!timer) { timer = setTimeout(() => void flush(), FLUSH_DELAY_MS); timer.unref(); }
  };
  // A plain object delegating to the backend: its methods use private fields, so they must run
  // with the backend itself as `this`.
  const b = destination;
  const backend: Backend = {
    kind: b.kind, location: b.location, features: b.features,
    list: (o) => b.list(o),
    stat: (p) => b.stat(p),
    read: (p, o) => b.read(p, o),
    write: async (p, body, o) => {
      const r = await b.write(p, body, o);
      const mtimeMs = recordedMtime(o?.mtimeMs); // data writes carry the source mtime; state writes do not
      if (mtimeMs !== undefined && r.version) add({ path: p, size: r.size, version: r.version, mtimeMs });
      return r;
    },
    delete: (p) => b.delete(p),
    close: () => b.close(),
  };
  return { backend, close: () => flush() };
}

export interface MergeInput {
  state: RunState;
  stateBackend: Backend;
  statePrefix: string;
  destination: Backend;
  plan: Plan;
  /** Facts the commit itself established (joined split files), path-ascending. */
  extra: IndexEntry[];
  log: Logger;
}

/**
 * Adds this run's receipts to the destination's index. Receipts are read one shard at a time and
 * put in path order by walking that shard's manifest (already path-ordered), then merged with the
 * current index; a receipt wins over an older entry for the same path. Returns the receipts merged.
 */
export async function mergeReceipts(input: MergeInput): Promise<number> {
  const { state, destination, log } = input;
  if (!destination.features.listModTimeIsUploadTime) return 0;
  const work = await mkdtemp(path.join(tmpdir(), 'datasync-index-'));
  try {
    const sorted: string[] = [];
    let merged = input.extra.length;
    for (const s of input.plan.shards.filter((x) => x.files > 0)) {
      const receipts = new Map<string, IndexEntry>();
      for await (const r of state.readLog<IndexEntry>(receiptsLog(s.index))) receipts.set(r.path, r); // later receipts win
      if (!receipts.size) continue;
      const file = path.join(work, `shard-${s.index}.jsonl`);
      const w = new IndexWriter(file, destination.location);
      for await (const item of state.readLines<CopyItem>(shardFile(s.index))) {
        const r = item.range ? undefined : receipts.get(item.path);
        if (r) await w.add(r);
      }
      await w.close();
      merged += w.count;
      sorted.push(file);
    }
    if (merged === 0) return 0;
    const current: { status: IndexStatus; problem?: string } = { status: 'absent' };
    const streams = [
      indexEntries(input.stateBackend, input.statePrefix, destination.location, current),
      ...sorted.map((f) => readIndex(createReadStream(f), destination.location, { status: 'absent' })),
      (async function* () { yield* input.extra; })(),
    ];
    const out = new IndexWriter(path.join(work, 'index.jsonl'), destination.location);
    for await (const e of mergeIndexes(streams)) await out.add(e);
    await out.close();
    if (current.status === 'invalid') log.warn({ problem: current.problem }, 'recorded-mtime index unusable; rebuilt from this run\'s receipts');
    const key = indexPath(input.statePrefix, destination.location);
    await input.stateBackend.write(key, createReadStream(out.file), { size: out.bytes, contentType: 'application/x-ndjson' });
    log.info({ index: key, receipts: merged, entries: out.count }, 'recorded-mtime index updated');
    return merged;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
