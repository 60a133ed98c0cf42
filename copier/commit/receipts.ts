// Write receipts: what the copy phase stored, as facts for the destination's recorded-mtime index
// (copier/plan/mtime-index.ts), so the run after a copy needs no HEAD per copied object either.
//
// Each shard journals, with every whole file it finished on a destination whose listings carry
// upload times, what the destination reported storing (`JournalRecord.stored`: size, version, and
// the mtime written into its metadata). The journal is already durable and batched; the commit
// merges those facts into the index (`mergeReceipts`).
import { mkdtemp, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Backend } from '../backends/backend.ts';
import type { Logger } from '../log.ts';
import type { RunState } from '../runtime/state.ts';
import { journalLog, shardFile, type CopyItem, type JournalRecord, type Plan } from '../plan/manifest.ts';
import { IndexWriter, indexEntries, indexPath, mergeIndexes, readIndex, type IndexEntry, type IndexStatus } from '../plan/mtime-index.ts';

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
      for await (const r of state.readLog<JournalRecord>(journalLog(s.index))) {
        if (r.status === 'done' && r.range === undefined && r.stored) receipts.set(r.path, { path: r.path, ...r.stored }); // later attempts win
      }
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
