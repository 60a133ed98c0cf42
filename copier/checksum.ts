// CRC32C, the checksum that survives multipart uploads (S3 FULL_OBJECT, GCS, Azure): computed
// while streaming, and combinable from part checksums so split files can be verified as a whole.
import { createRequire } from 'node:module';
import { Transform, type TransformCallback } from 'node:stream';
import type { Checksum } from './backends/backend.ts';

// Where it loads, @node-rs/crc32 (a prebuilt N-API binary that uses the CPU's CRC32 instruction)
// computes CRC32C: profiling B1 showed the JS version below at 35% of the copier's CPU, and the
// native one runs about 4x faster (bench/micro/crc32c.ts). The prebuilt binaries cover glibc and
// musl Linux, macOS and Windows on x64 and arm64; anywhere else the JS version is the fallback,
// with the same results (tests check both against @aws-crypto/crc32c as a reference).
type NativeCrc32c = (data: Uint8Array, initial?: number) => number;
function loadNative(): NativeCrc32c | undefined {
  if (process.env['DATASYNC_CRC32C'] === 'js') return undefined;
  try {
    const fn = (createRequire(import.meta.url)('@node-rs/crc32') as { crc32c: NativeCrc32c }).crc32c;
    return fn(Buffer.from('123456789')) === 0xe3069283 ? fn : undefined;
  } catch {
    return undefined;
  }
}
const native = loadNative();
/** Which implementation crc32cUpdate uses (the bench records it beside its results). */
export const crc32cImplementation: 'native' | 'js' = native ? 'native' : 'js';

/** Continues a CRC32C: `crc` is the finalised value of the bytes before `data` (0 to start). */
export const crc32cUpdate: (crc: number, data: Uint8Array) => number = native ? (crc, data) => native(data, crc) : crc32cUpdateJs;

// Slicing-by-8 CRC32C in plain JS: eight table lookups per eight bytes, read as two aligned 32-bit
// words. The byte-at-a-time @aws-crypto/crc32c ran at 33 MiB/s in B1; slicing-by-8 ran ~13x
// faster, and word loads doubled that again (~1.5 GiB/s, bench/micro/crc32c.ts).
const CASTAGNOLI = 0x82f63b78;
let TABLES: Uint32Array[] | undefined;
function tables(): Uint32Array[] {
  if (TABLES) return TABLES;
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CASTAGNOLI : c >>> 1;
    t[0]![i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 8; k++) t[k]![i] = (t[k - 1]![i]! >>> 8) ^ t[0]![t[k - 1]![i]! & 0xff]!;
  }
  return (TABLES = t);
}
/** Word loads give bytes in memory order only on little-endian hosts (x86-64, arm64); others go bytewise. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const EMPTY_WORDS = new Uint32Array(0);

/** crc32cUpdate in plain JS (the fallback where the native module does not load). */
export function crc32cUpdateJs(crc: number, data: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = tables() as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let c = ~crc >>> 0;
  let i = 0;
  const n = data.length;
  if (LITTLE_ENDIAN) {
    // Bytewise up to a 4-byte boundary, then two words per step over whole 8-byte groups.
    while (i < n && ((data.byteOffset + i) & 3) !== 0) c = t0[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
    const words = Math.floor((n - i) / 8) * 2;
    const w = words > 0 ? new Uint32Array(data.buffer, data.byteOffset + i, words) : EMPTY_WORDS;
    for (let j = 0; j < words; j += 2) {
      const a = w[j]! ^ c;
      const b = w[j + 1]!;
      c = t7[a & 0xff]! ^ t6[(a >>> 8) & 0xff]! ^ t5[(a >>> 16) & 0xff]! ^ t4[a >>> 24]!
        ^ t3[b & 0xff]! ^ t2[(b >>> 8) & 0xff]! ^ t1[(b >>> 16) & 0xff]! ^ t0[b >>> 24]!;
    }
    i += words * 4;
  }
  while (i < n) c = t0[(c ^ data[i++]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** An incremental CRC32C with the shape of @aws-crypto/crc32c's Crc32c. */
export class Crc32c {
  #crc = 0;
  update(data: Uint8Array): this {
    this.#crc = crc32cUpdate(this.#crc, data);
    return this;
  }
  digest(): number {
    return this.#crc;
  }
}

export function crc32cHex(value: number): string {
  return (value >>> 0).toString(16).padStart(8, '0');
}
export function crc32cBase64(value: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b.toString('base64');
}
export function base64ToHex(value: string): string {
  return Buffer.from(value, 'base64').toString('hex');
}
export function crc32cOf(data: Uint8Array): number {
  return crc32cUpdate(0, data);
}
export function crc32cChecksum(value: number): Checksum {
  return { algorithm: 'crc32c', value: crc32cHex(value) };
}

/** A pass-through stream that counts bytes and computes CRC32C of everything that flows through. */
export class ChecksumStream extends Transform {
  #crc = new Crc32c();
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.#crc.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  get crc32c(): number {
    return this.#crc.digest();
  }
}

// crc32c(A ‖ B) from crc32c(A), crc32c(B) and |B|, as zlib's crc32_combine (GF(2) matrix method)
// with the Castagnoli polynomial.
const POLY = 0x82f63b78;
function gf2Times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  for (let i = 0; vec !== 0; i++, vec >>>= 1) if (vec & 1) sum ^= mat[i]!;
  return sum >>> 0;
}
function gf2Square(square: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = gf2Times(mat, mat[n]!);
}
export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB <= 0) return crcA >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = POLY;
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row >>> 0;
  gf2Square(even, odd);
  gf2Square(odd, even);
  let crc1 = crcA >>> 0;
  let len = lengthB;
  do {
    gf2Square(even, odd);
    if (len % 2) crc1 = gf2Times(even, crc1);
    len = Math.floor(len / 2);
    if (len === 0) break;
    gf2Square(odd, even);
    if (len % 2) crc1 = gf2Times(odd, crc1);
    len = Math.floor(len / 2);
  } while (len !== 0);
  return (crc1 ^ crcB) >>> 0;
}

/** CRC32C of the concatenation of parts, from their own checksums; undefined if any lacks one. */
export function combinePartChecksums(parts: ReadonlyArray<{ size: number; checksum?: Checksum }>): number | undefined {
  let crc = 0;
  for (const p of parts) {
    if (p.checksum?.algorithm !== 'crc32c') return undefined;
    crc = crc32cCombine(crc, parseInt(p.checksum.value, 16), p.size);
  }
  return crc;
}
