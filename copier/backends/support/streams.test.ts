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

/** A stream over data that also reads into the caller's buffers, in short reads of random length. */
function byobSource(data: Buffer): { stream: Readable; reads: () => number } {
  const { withByob } = byobModule!;
  let pos = 0;
  let reads = 0;
  const stream = withByob(Readable.from([data]), {
    readInto: async (target, offset, length) => {
      reads++;
      const n = Math.min(length, data.length - pos, 1 + Math.floor(Math.random() * 5000));
      data.copy(target, offset, pos, pos + n);
      pos += n;
      return n;
    },
  });
  return { stream, reads: () => reads };
}
let byobModule: typeof import('./byob.ts') | undefined;

test('a BYOB source fills the chunk buffers directly: same chunks, held chunks intact, the stream itself never read, and destroyed at the end', async () => {
  byobModule = await import('./byob.ts');
  for (const held of [0, 1, 3]) {
    for (const [total, size] of [[100_003, 4096], [65_536, 1024], [0, 100], [99, 100], [100, 100]] as const) {
      const data = randomBytes(total);
      const { stream, reads } = byobSource(data);
      let streamed = false;
      stream.on('data', () => { streamed = true; });
      stream.pause();
      let offset = 0;
      const holding: Array<{ chunk: Buffer; at: number }> = [];
      const lengths: number[] = [];
      for await (const c of fixedChunks(stream, size, { held, atLeastOne: true })) {
        if (offset + c.length < total || c.length < size) assert.equal(stream.destroyed, offset + c.length === total, 'released with the last chunk, not before');
        lengths.push(c.length);
        assert.deepEqual(c, data.subarray(offset, offset + c.length), `chunk at ${offset} (${total}/${size})`);
        for (const h of holding) assert.deepEqual(h.chunk, data.subarray(h.at, h.at + h.chunk.length), `held chunk at ${h.at} intact (held ${held})`);
        holding.push({ chunk: c, at: offset });
        if (holding.length > held) holding.shift();
        offset += c.length;
      }
      assert.equal(offset, total);
      assert.deepEqual(lengths, total === 0 ? [0] : Array.from({ length: Math.ceil(total / size) }, (_, i) => Math.min(size, total - i * size)));
      assert.ok(reads() > 0);
      assert.equal(streamed, false, 'no data flowed through the stream');
      assert.equal(stream.destroyed, true, 'the source is released');
    }
  }
});

test('a BYOB source abandoned by its consumer, or failing, is destroyed', async () => {
  byobModule ??= await import('./byob.ts');
  const { stream } = byobSource(randomBytes(50_000));
  for await (const c of fixedChunks(stream, 1000)) {
    assert.equal(c.length, 1000);
    break;
  }
  assert.equal(stream.destroyed, true);
  const failing = byobModule.withByob(Readable.from([]), { readInto: async () => { throw new Error('disk gone'); } });
  await assert.rejects(async () => { for await (const _ of fixedChunks(failing, 1000)) { /* no chunk */ } }, /disk gone/);
  assert.equal(failing.destroyed, true);
});

test('a body already in memory (takeRest) goes out as it is: no copy, split only above the chunk size, one empty chunk for 0 bytes when asked', async () => {
  const { withByob, bufferReader } = await import('./byob.ts');
  const run = async (data: Buffer, size: number, atLeastOne: boolean) => {
    const stream = withByob(Readable.from([data]), bufferReader(data));
    const out: Buffer[] = [];
    for await (const c of fixedChunks(stream, size, { atLeastOne, held: 0 })) out.push(c);
    assert.equal(stream.destroyed, true, 'the source is released');
    return out;
  };
  const data = randomBytes(16_384);
  const [one, ...none] = await run(data, 1 << 20, true);
  assert.equal(none.length, 0);
  assert.equal(one!.buffer, data.buffer, 'same memory, not a copy');
  assert.deepEqual(one, data);
  const split = await run(data, 5000, false);
  assert.deepEqual(split.map((c) => c.length), [5000, 5000, 5000, 1384]);
  assert.deepEqual(Buffer.concat(split), data);
  assert.deepEqual((await run(Buffer.alloc(0), 100, true)).map((c) => c.length), [0]);
  assert.deepEqual(await run(Buffer.alloc(0), 100, false), []);
});
