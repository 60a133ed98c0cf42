// Re-orders a listing that a server returns in UTF-16 code-unit order (Azurite, JavaScript
// sorts) into UTF-8 byte order, the Backend contract, while streaming.
//
// The two orders only disagree when, at the first differing position, both names hold a code
// unit >= U+D800 (a surrogate against U+E000..U+FFFF). So a name made only of code units below
// U+D800 sorts the same against every other name in both orders: names with higher code units
// are held back and sorted, and flushed before the next plain name (or at the end). Memory is
// bounded by the longest run of consecutive non-plain names.
import { comparePaths } from '../backend.ts';

const HIGH = /[\uD800-\uFFFF]/;

export async function* inUtf8Order<T extends { path: string }>(entries: AsyncIterable<T>): AsyncGenerator<T> {
  let held: T[] = [];
  for await (const e of entries) {
    if (HIGH.test(e.path)) {
      held.push(e);
      continue;
    }
    if (held.length > 0) {
      yield* held.sort((a, b) => comparePaths(a.path, b.path));
      held = [];
    }
    yield e;
  }
  yield* held.sort((a, b) => comparePaths(a.path, b.path));
}
