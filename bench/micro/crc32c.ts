// Micro-benchmark behind B1's top hot spot: CRC32C of streamed data. Compares the byte-at-a-time
// table of @aws-crypto/crc32c (the copier's first choice), the slicing-by-8 in plain JS that
// copier/checksum.ts falls back to, @node-rs/crc32 (the CPU's CRC32 instruction, a prebuilt N-API
// binary) that it uses where that loads, and the native hashes OpenSSL gives Node for scale.
// Not part of `npm run bench`'s table; run by hand:
//   node bench/micro/crc32c.ts [MiB=256]
//   DATASYNC_CRC32C=js node bench/micro/crc32c.ts   # the copier's line then measures the JS fallback
import { Crc32c } from '@aws-crypto/crc32c';
import { crc32cUpdate, crc32cUpdateJs, crc32cImplementation } from '../../copier/checksum.ts';
import { createHash, randomFillSync } from 'node:crypto';
import { crc32 } from 'node:zlib';

/** The copier's slicing-by-8 CRC32C, with the argument order the measurements below use. */
export function crc32cSlice8(data: Uint8Array, crc = 0): number {
  return crc32cUpdateJs(crc, data);
}

if (import.meta.main) {
  const mib = Number(process.argv[2] ?? 256);
  const chunk = randomFillSync(Buffer.allocUnsafe(64 * 1024));
  const chunks = (mib * 1024 * 1024) / chunk.length;
  const time = (name: string, fn: () => unknown) => {
    const t0 = performance.now();
    const v = fn();
    const s = (performance.now() - t0) / 1000;
    console.log(`${name.padEnd(34)} ${(mib / s).toFixed(0).padStart(6)} MiB/s  ${String(v)}`);
  };
  time('@aws-crypto/crc32c (byte table)', () => { const c = new Crc32c(); for (let i = 0; i < chunks; i++) c.update(chunk); return (c.digest() >>> 0).toString(16); });
  time('slicing-by-8 JS crc32c', () => { let c = 0; for (let i = 0; i < chunks; i++) c = crc32cSlice8(chunk, c); return c.toString(16); });
  // What the copier calls: @node-rs/crc32 where it loads (copier/checksum.ts), else the line above.
  time(`copier crc32cUpdate (${crc32cImplementation})`, () => { let c = 0; for (let i = 0; i < chunks; i++) c = crc32cUpdate(c, chunk); return c.toString(16); });
  time('node:zlib crc32 (IEEE, native)', () => { let c = 0; for (let i = 0; i < chunks; i++) c = crc32(chunk, c); return c.toString(16); });
  time('OpenSSL md5 (native)', () => { const h = createHash('md5'); for (let i = 0; i < chunks; i++) h.update(chunk); return h.digest('hex').slice(0, 8); });
  time('OpenSSL sha256 (native)', () => { const h = createHash('sha256'); for (let i = 0; i < chunks; i++) h.update(chunk); return h.digest('hex').slice(0, 8); });
}

