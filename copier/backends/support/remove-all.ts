// Deleting many paths through any backend: the commit's deletions (Sync's destination extras,
// Move's verified sources) and the clean-up of run state both go through here, so how many
// requests are in flight, how batches are cut and what a failure stops are decided once.
import type { Backend } from '../backend.ts';
import { forEachPulled } from '../../runtime/concurrency.ts';

/**
 * Single deletes in flight where the backend has no batches: one round trip each, so 10,000
 * deletions must not wait for each other. rclone deletes with its --checkers (8 by default); a
 * DELETE moves no data, so more is cheap.
 */
const DELETES_IN_FLIGHT = 16;
/**
 * Paths per batch where the backend deletes in batches (S3's DeleteObjects takes 1,000 keys), and
 * batches in flight: 10,000 deletions are 10 requests, not 10,000.
 */
const DELETE_BATCH = 1000;
const BATCHES_IN_FLIGHT = 4;

/**
 * Deletes every item's path from `backend`, calling `deleted` for each once it is gone. The first
 * failure stops the pulling (a denied or unreachable store fails every request alike; what is left
 * is deleted by a later run) and is thrown once the deletes in flight have settled, so a report
 * written after it counts every path that is gone, and no delete goes on behind it.
 */
export async function removeAll<T extends { path: string }>(backend: Backend, items: AsyncIterable<T> | Iterable<T>, deleted: (item: T) => void = () => {}): Promise<void> {
  const batch = backend.features.deleteBatch;
  if (!batch) {
    const each = async function* () { yield* items; };
    await forEachPulled(each(), DELETES_IN_FLIGHT, async (item) => { await backend.delete(item.path); deleted(item); });
    return;
  }
  await forEachPulled(chunked(items, DELETE_BATCH), BATCHES_IN_FLIGHT, async (group) => {
    await batch(group.map((item) => item.path));
    for (const item of group) deleted(item);
  });
}

async function* chunked<T>(items: AsyncIterable<T> | Iterable<T>, size: number): AsyncGenerator<T[]> {
  let group: T[] = [];
  for await (const item of items) {
    group.push(item);
    if (group.length === size) { yield group; group = []; }
  }
  if (group.length) yield group;
}
