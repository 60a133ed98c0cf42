// Spreads copy work over N shard files as it streams past: each item goes to the shard with the
// fewest weighted bytes so far (greedy, byte-balanced) and is appended to that shard's local file
// at once, so the planner holds counters, not the item list.
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import type { CopyItem } from './manifest.ts';

/** Per-file overhead in the balance, so a shard of many tiny files is not treated as empty. */
export const PER_FILE_WEIGHT = 256 * 1024;

export class LineFile {
  readonly file: string;
  bytes = 0;
  lines = 0;
  readonly #out: WriteStream;
  constructor(file: string) {
    this.file = file;
    this.#out = createWriteStream(file);
  }
  async write(record: unknown): Promise<void> {
    const line = `${JSON.stringify(record)}\n`;
    this.bytes += Buffer.byteLength(line);
    this.lines++;
    if (!this.#out.write(line)) await once(this.#out, 'drain');
  }
  async close(): Promise<void> {
    this.#out.end();
    await once(this.#out, 'finish');
  }
}

export class ShardWriter {
  readonly shards: Array<{ file: LineFile; files: number; bytes: number; weight: number }>;
  readonly #onFirstItem: ((shard: number) => void) | undefined;
  /** `onFirstItem(i)`: shard i just got its first item, so it will have work once the plan is written. */
  constructor(dir: string, count: number, onFirstItem?: (shard: number) => void) {
    this.shards = Array.from({ length: count }, (_, i) => ({ file: new LineFile(path.join(dir, `shard-${i}.jsonl`)), files: 0, bytes: 0, weight: 0 }));
    this.#onFirstItem = onFirstItem;
  }
  async add(item: CopyItem): Promise<number> {
    let best = 0;
    for (let i = 1; i < this.shards.length; i++) if (this.shards[i]!.weight < this.shards[best]!.weight) best = i;
    const s = this.shards[best]!;
    const bytes = item.range?.length ?? item.size;
    s.files++;
    s.bytes += bytes;
    s.weight += bytes + PER_FILE_WEIGHT;
    if (s.files === 1) this.#onFirstItem?.(best);
    await s.file.write(item);
    return best;
  }
  /**
   * How many shards have work: add() gives each item to the emptiest shard, lowest index first, and
   * a shard with an item weighs more than an empty one, so the shards with work are always 0..used-1
   * (k items fill min(k, count) shards). Counted to the last one with work regardless.
   */
  get used(): number {
    return this.shards.findLastIndex((s) => s.files > 0) + 1;
  }
  async close(): Promise<void> {
    for (const s of this.shards) await s.file.close();
  }
}
