import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparePaths } from '../backend.ts';
import { inUtf8Order } from './ordering.ts';

async function* from<T>(xs: T[]) {
  yield* xs;
}

test('re-orders a UTF-16-sorted listing into UTF-8 byte order', async () => {
  const names = ['a', 'a/\u{1F600}', 'a/\uFF21', 'a/z', 'b\uE000', 'b\u{10000}x', 'b\u{10000}', 'c', '\u{1F600}', '\uFFFD', 'é'];
  const utf16 = [...names].sort();
  const out: string[] = [];
  for await (const e of inUtf8Order(from(utf16.map((path) => ({ path }))))) out.push(e.path);
  assert.deepEqual(out, [...names].sort(comparePaths));
});
