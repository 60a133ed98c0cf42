import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { chunksOf } from './s3.ts';

async function sizes(total: number, size: number, piece: number): Promise<number[]> {
  const data = Buffer.alloc(total, 7);
  const pieces: Buffer[] = [];
  for (let i = 0; i < total; i += piece) pieces.push(data.subarray(i, i + piece));
  const out: number[] = [];
  for await (const c of chunksOf(Readable.from(pieces), size)) out.push(c.length);
  return out;
}

test('re-chunks to exact part sizes; no empty trailing part at a boundary; one empty chunk for 0 bytes', async () => {
  assert.deepEqual(await sizes(0, 10, 3), [0]);
  assert.deepEqual(await sizes(10, 10, 3), [10]);
  assert.deepEqual(await sizes(20, 10, 7), [10, 10]);
  assert.deepEqual(await sizes(21, 10, 4), [10, 10, 1]);
  assert.deepEqual(await sizes(5, 10, 100), [5]);
});
