// The shard's durable record of finished work. A record is only acknowledged after the batch it
// belongs to is stored, so "done" means "survives kill -9". Concurrent completions share one write.
import type { RunState } from '../runtime/state.ts';
import { journalKey, journalLog, type JournalRecord } from '../plan/manifest.ts';

/**
 * A file finished less than this before a kill -9 may be copied again on resume (harmless: writes
 * are idempotent); the trade is far fewer journal writes to an object store.
 */
export const FLUSH_DELAY_MS = 200;

export class Journal {
  readonly #state: RunState;
  readonly #log: string;
  #pending: Array<{ record: JournalRecord; resolve: () => void; reject: (e: unknown) => void }> = [];
  #flushing: Promise<void> | undefined;
  /** Ends the current batching delay early. */
  #wake: (() => void) | undefined;

  constructor(state: RunState, shard: number) {
    this.#state = state;
    this.#log = journalLog(shard);
  }

  /** Keys of work finished by earlier attempts of this shard. */
  async loadDone(): Promise<Set<string>> {
    const done = new Set<string>();
    for await (const r of this.#state.readLog<JournalRecord>(this.#log)) {
      if (r.status === 'done') done.add(journalKey(r));
    }
    return done;
  }

  record(record: JournalRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ record, resolve, reject });
      this.#flushing ??= this.#flush();
    });
  }

  /** The shard has no more work: store what is pending now instead of after the batching delay. */
  flushNow(): void {
    this.#wake?.();
  }

  async #flush(): Promise<void> {
    // Completions within the next FLUSH_DELAY_MS join this batch: one small write per batch, not per file.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, FLUSH_DELAY_MS);
      this.#wake = () => { clearTimeout(timer); resolve(); };
    });
    this.#wake = undefined;
    while (this.#pending.length) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        await this.#state.append(this.#log, batch.map((b) => b.record));
        for (const b of batch) b.resolve();
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.#flushing = undefined;
  }
}
