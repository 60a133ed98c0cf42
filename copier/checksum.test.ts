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
