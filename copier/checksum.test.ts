import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { crc32cOf, crc32cCombine, crc32cHex } from './checksum.ts';

test('crc32c known vector', () => {
  assert.equal(crc32cHex(crc32cOf(Buffer.from('123456789'))), 'e3069283');
});

test('crc32cCombine equals the checksum of the concatenation', () => {
  for (const [a, b] of [[0, 5], [7, 0], [1000, 333], [65536, 100001]] as const) {
    const x = randomBytes(a), y = randomBytes(b);
    assert.equal(crc32cCombine(crc32cOf(x), crc32cOf(y), b), crc32cOf(Buffer.concat([x, y])));
  }
});

test('slicing-by-8 CRC32C equals @aws-crypto/crc32c at every length and across chunk boundaries', async () => {
  const { Crc32c: Reference } = await import('@aws-crypto/crc32c');
  const { randomBytes } = await import('node:crypto');
  const { Crc32c: Ours, crc32cUpdate } = await import('./checksum.ts');
  for (const n of [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 65_537]) {
    const data = randomBytes(n);
    const expected = new Reference().update(data).digest() >>> 0;
    assert.equal(crc32cUpdate(0, data), expected, `length ${n}`);
    const cut = Math.floor(n / 3);
    assert.equal(new Ours().update(data.subarray(0, cut)).update(data.subarray(cut)).digest(), expected, `length ${n} in two chunks`);
  }
});

test('word-at-a-time CRC32C is exact at every byte alignment of the input (views into a larger buffer)', async () => {
  const { Crc32c: Reference } = await import('@aws-crypto/crc32c');
  const big = randomBytes(4096);
  for (let offset = 0; offset < 8; offset++) {
    for (const n of [0, 1, 3, 4, 5, 8, 11, 16, 31, 100, 1001]) {
      const view = big.subarray(offset, offset + n);
      assert.equal(crc32cOf(view), new Reference().update(view).digest() >>> 0, `offset ${offset}, length ${n}`);
    }
  }
});
