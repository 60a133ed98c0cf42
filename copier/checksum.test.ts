import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { crc32cOf, crc32cCombine, crc32cHex, crc32cUpdateJs } from './checksum.ts';

test('crc32c known vector', () => {
  assert.equal(crc32cHex(crc32cOf(Buffer.from('123456789'))), 'e3069283');
});

test('crc32cCombine equals the checksum of the concatenation', () => {
  for (const [a, b] of [[0, 5], [7, 0], [1000, 333], [65536, 100001]] as const) {
    const x = randomBytes(a), y = randomBytes(b);
    assert.equal(crc32cCombine(crc32cOf(x), crc32cOf(y), b), crc32cOf(Buffer.concat([x, y])));
  }
});

test('both CRC32C implementations (native and slicing-by-8 JS) equal @aws-crypto/crc32c at every length and across chunk boundaries', async () => {
  const { Crc32c: Reference } = await import('@aws-crypto/crc32c');
  const { Crc32c: Ours, crc32cUpdate, crc32cUpdateJs } = await import('./checksum.ts');
  for (const n of [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 65_537]) {
    const data = randomBytes(n);
    const expected = new Reference().update(data).digest() >>> 0;
    assert.equal(crc32cUpdate(0, data), expected, `length ${n}`);
    assert.equal(crc32cUpdateJs(0, data), expected, `length ${n} (JS)`);
    const cut = Math.floor(n / 3);
    assert.equal(new Ours().update(data.subarray(0, cut)).update(data.subarray(cut)).digest(), expected, `length ${n} in two chunks`);
    assert.equal(crc32cUpdateJs(crc32cUpdateJs(0, data.subarray(0, cut)), data.subarray(cut)), expected, `length ${n} in two chunks (JS)`);
    // A plain Uint8Array view (not a Buffer), as the part uploader may hand over.
    assert.equal(crc32cUpdate(0, new Uint8Array(data.buffer, data.byteOffset, data.length)), expected, `length ${n} as Uint8Array`);
  }
});

test('the native CRC32C loads where a prebuilt binary exists, and DATASYNC_CRC32C=js selects the JS one', { skip: !['x64', 'arm64'].includes(process.arch) || !['linux', 'darwin', 'win32'].includes(process.platform) }, async () => {
  const { crc32cImplementation } = await import('./checksum.ts');
  assert.equal(crc32cImplementation, 'native');
  const { execFileSync } = await import('node:child_process');
  const probe = "import('./copier/checksum.ts').then((m) => console.log(m.crc32cImplementation, m.crc32cHex(m.crc32cOf(Buffer.from('123456789')))))";
  const out = execFileSync(process.execPath, ['-e', probe], { cwd: new URL('..', import.meta.url), env: { ...process.env, DATASYNC_CRC32C: 'js' }, encoding: 'utf8' });
  assert.equal(out.trim(), 'js e3069283');
});

test('word-at-a-time CRC32C is exact at every byte alignment of the input (views into a larger buffer)', async () => {
  const { Crc32c: Reference } = await import('@aws-crypto/crc32c');
  const big = randomBytes(4096);
  for (let offset = 0; offset < 8; offset++) {
    for (const n of [0, 1, 3, 4, 5, 8, 11, 16, 31, 100, 1001]) {
      const view = big.subarray(offset, offset + n);
      const expected = new Reference().update(view).digest() >>> 0;
      assert.equal(crc32cOf(view), expected, `offset ${offset}, length ${n}`);
      assert.equal(crc32cUpdateJs(0, view), expected, `offset ${offset}, length ${n} (JS)`);
    }
  }
});
