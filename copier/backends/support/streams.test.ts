import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { fixedChunks } from './streams.ts';

async function sizes(total: number, size: number, piece: number, atLeastOne = true): Promise<number[]> {
  const data = Buffer.alloc(total, 7);
  const pieces: Buffer[] = [];
  for (let i = 0; i < total; i += piece) pieces.push(data.subarray(i, i + piece));
  const out: number[] = [];
  for await (const c of fixedChunks(Readable.from(pieces), size, { atLeastOne })) out.push(c.length);
  return out;
}

test('re-chunks to exact sizes; no empty trailing chunk at a boundary; one empty chunk for 0 bytes only when asked', async () => {
  assert.deepEqual(await sizes(0, 10, 3), [0]);
  assert.deepEqual(await sizes(0, 10, 3, false), []);
  assert.deepEqual(await sizes(10, 10, 3), [10]);
  assert.deepEqual(await sizes(20, 10, 7), [10, 10]);
  assert.deepEqual(await sizes(21, 10, 4), [10, 10, 1]);
  assert.deepEqual(await sizes(5, 10, 100), [5]);
  assert.deepEqual(await sizes(35, 10, 35), [10, 10, 10, 5]);
});

test('chunk contents are exact, and chunks the consumer still holds (up to `held`) are never overwritten', async () => {
  // The consumer keeps the last `held` chunks (as uploads in flight would) and re-checks them all
  // after every pull: the reused buffers must not overwrite a chunk still held.
  for (const held of [1, 3]) {
    for (const [total, size, piece] of [[100_003, 4096, 1000], [65_536, 1024, 1024], [9999, 100, 7], [50_000, 10_000, 30_000]] as const) {
      const data = randomBytes(total);
      const pieces: Buffer[] = [];
      for (let i = 0; i < total; i += piece) pieces.push(data.subarray(i, i + piece));
      let offset = 0;
      const holding: Array<{ chunk: Buffer; at: number }> = [];
      for await (const c of fixedChunks(Readable.from(pieces), size, { held })) {
        assert.deepEqual(c, data.subarray(offset, offset + c.length), `chunk at ${offset} (${total}/${size}/${piece})`);
        for (const h of holding) assert.deepEqual(h.chunk, data.subarray(h.at, h.at + h.chunk.length), `held chunk at ${h.at} intact when ${offset} arrived (held ${held})`);
        holding.push({ chunk: c, at: offset });
        if (holding.length > held) holding.shift();
        offset += c.length;
      }
      assert.equal(offset, total);
    }
  }
});

test('a piece that is a whole chunk by itself is passed on without a copy', async () => {
  const piece = randomBytes(4096);
  const out: Buffer[] = [];
  for await (const c of fixedChunks(Readable.from([piece]), 8192)) out.push(c);
  assert.equal(out.length, 1);
  assert.equal(out[0]!.buffer, piece.buffer, 'same memory, not a copy');
});
