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

test('comparePaths agrees with a byte comparison of the UTF-8 encodings', () => {
  const alphabet = ['a', 'b', '/', '.', ' ', '~', '\u007f', '\u0080', 'é', '\u07ff', '\u0800', '世', '\ud7ff', '\ue000', '\uff21', '\uffff', '\u{10000}', '\u{1F600}', '\u{10FFFF}', '\ud800', '\udc00'];
  let seed = 7;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
  const word = () => Array.from({ length: rnd(5) }, () => alphabet[rnd(alphabet.length)]).join('');
  const sign = (x: number) => (x > 0 ? 1 : x < 0 ? -1 : 0);
  for (let i = 0; i < 20_000; i++) {
    const a = word();
    const b = rnd(3) === 0 ? a + word() : word();
    assert.equal(sign(comparePaths(a, b)), sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))), JSON.stringify([a, b]));
  }
});
