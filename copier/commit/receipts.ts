// Write receipts: what the copy phase stored, as facts for the destination's recorded-mtime index
// (copier/plan/mtime-index.ts), so the run after a copy needs no HEAD per copied object either.
//
// Each shard journals, with every whole file it finished on a destination whose listings carry
// upload times, what the destination reported storing (`JournalRecord.stored`: size, version, and
// the mtime written into its metadata). The commit already walks every shard's manifest against
// its journal to count what was copied; it hands the receipts to a `ReceiptCollector` on that same
// walk (so the journals are read once, not twice), which merges them into the index at the end.
import { mkdtemp, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Backend } from '../backends/backend.ts';
import type { Logger } from '../log.ts';
import type { JournalRecord } from '../plan/manifest.ts';
import { IndexWriter, indexEntries, indexPath, mergeIndexes, readIndex, type IndexEntry, type IndexStatus } from '../plan/mtime-index.ts';

export interface MergeInput {
  stateBackend: Backend;
  statePrefix: string;
  /** Facts the commit itself established (joined split files), path-ascending. */
  extra: IndexEntry[];
  log: Logger;
}

/**
 * Receipts, one shard after another, each shard's in its manifest's (path) order; spilled to a
 * sorted file per shard, so memory stays one index block whatever the run's size. Only speed
 * depends on the index, so a failure here never fails the commit: it is kept and raised by
 * `merge`, which the commit turns into a warning.
 */
export class ReceiptCollector {
  readonly #destination: Backend;
  #work: string | undefined;
  #current: IndexWriter | undefined;
  readonly #files: string[] = [];
  #count = 0;
  #failed: unknown;

  constructor(destination: Backend) {
    this.#destination = destination;
  }

  /** Receipts from here on belong to this shard. */
  async startShard(index: number): Promise<void> {
    await this.#guard(async () => {
      await this.#endShard();
      if (!this.#destination.features.listModTimeIsUploadTime) return;
      this.#current = new IndexWriter(path.join(await this.#workDir(), `shard-${index}.jsonl`), this.#destination.location);
    });
  }

  /** A planned whole file, with the journal record that finished it. */
  async add(rec: JournalRecord): Promise<void> {
    const w = this.#current;
    if (!w || rec.status !== 'done' || rec.range !== undefined || !rec.stored) return;
    await this.#guard(() => w.add({ path: rec.path, ...rec.stored! }));
  }

  /** Merges every receipt and `extra` into the destination's index; returns the receipts merged. */
  async merge(input: MergeInput): Promise<number> {
    await this.#guard(() => this.#endShard());
    if (this.#failed !== undefined) throw this.#failed;
    const destination = this.#destination;
    if (!destination.features.listModTimeIsUploadTime) return 0;
    const merged = this.#count + input.extra.length;
    if (merged === 0) return 0;
    const current: { status: IndexStatus; problem?: string } = { status: 'absent' };
    const streams = [
      indexEntries(input.stateBackend, input.statePrefix, destination.location, current),
      ...this.#files.map((f) => readIndex(createReadStream(f), destination.location, { status: 'absent' })),
      (async function* () { yield* input.extra; })(),
    ];
    const out = new IndexWriter(path.join(await this.#workDir(), 'index.jsonl'), destination.location);
    for await (const e of mergeIndexes(streams)) await out.add(e);
    await out.close();
    if (current.status === 'invalid') input.log.warn({ problem: current.problem }, 'recorded-mtime index unusable; rebuilt from this run\'s receipts');
    const key = indexPath(input.statePrefix, destination.location);
    await input.stateBackend.write(key, createReadStream(out.file), { size: out.bytes, contentType: 'application/x-ndjson' });
    input.log.info({ index: key, receipts: merged, entries: out.count }, 'recorded-mtime index updated');
    return merged;
  }

  /** Removes the spill files; call once, whatever happened. */
  async dispose(): Promise<void> {
    await this.#current?.close().catch(() => {});
    this.#current = undefined;
    if (this.#work) await rm(this.#work, { recursive: true, force: true });
  }

  /** The spill directory, made on first use (a commit with no receipts makes none). */
  async #workDir(): Promise<string> {
    return this.#work ??= await mkdtemp(path.join(tmpdir(), 'datasync-index-'));
  }

  async #endShard(): Promise<void> {
    const w = this.#current;
    if (!w) return;
    this.#current = undefined;
    await w.close();
    if (w.count > 0) {
      this.#files.push(w.file);
      this.#count += w.count;
    }
  }

  async #guard(step: () => Promise<void>): Promise<void> {
    if (this.#failed !== undefined) return;
    try {
      await step();
    } catch (err) {
      this.#failed = err;
    }
  }
}
