import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { MeteredStream } from './throttle.ts';
import { byobOf, withByob } from '../backends/support/byob.ts';
import { crc32cOf } from '../checksum.ts';

function source(data: Buffer) {
  let pos = 0;
  const stream = Readable.from([data.subarray(0, 10), data.subarray(10)]);
  return withByob(stream, {
    readInto: async (target: Buffer, offset: number, length: number) => {
      const n = Math.min(length, data.length - pos);
      data.copy(target, offset, pos, pos + n);
      pos += n;
      return n;
    },
  });
}

test('a metered BYOB source counts, hashes and reports bytes read into buffers, and is never piped', async () => {
  const data = randomBytes(10_000);
  const src = source(data);
  let reported = 0;
  const tap = new MeteredStream(undefined, (n) => { reported += n; }, { crc32c: true });
  tap.feedFrom(src);
  const reader = byobOf(tap);
  assert.ok(reader, 'the tap passes the BYOB reader on');
  const out = Buffer.alloc(data.length);
  let have = 0;
  for (let n; (n = await reader.readInto(out, have, Math.min(3333, out.length - have))) > 0;) have += n;
  assert.deepEqual(out, data);
  assert.equal(tap.bytes, data.length);
  assert.equal(reported, data.length);
  assert.equal(tap.crc32c, crc32cOf(data));
  assert.equal(src.readableFlowing, null, 'the source stream was never piped');
});

test('a metered BYOB source read as a stream pipes the source in then, and refuses BYOB reads after', async () => {
  const data = randomBytes(10_000);
  const src = source(data);
  const tap = new MeteredStream(undefined, () => {}, { crc32c: true });
  tap.feedFrom(src);
  const reader = byobOf(tap)!;
  const chunks: Buffer[] = [];
  for await (const c of tap) chunks.push(c as Buffer);
  assert.deepEqual(Buffer.concat(chunks), data);
  assert.equal(tap.bytes, data.length);
  assert.equal(tap.crc32c, crc32cOf(data));
  await assert.rejects(reader.readInto(Buffer.alloc(10), 0, 10), /both as a stream and into buffers/);
});

test('a metered body already in memory is handed over whole, and still counted, hashed and reported', async () => {
  const { bufferReader } = await import('../backends/support/byob.ts');
  const data = randomBytes(16_384);
  const src = withByob(Readable.from([data]), bufferReader(data));
  let reported = 0;
  const tap = new MeteredStream(undefined, (n) => { reported += n; }, { crc32c: true });
  tap.feedFrom(src);
  const rest = await byobOf(tap)!.takeRest!();
  assert.equal(rest.buffer, data.buffer, 'no copy');
  assert.equal(tap.bytes, data.length);
  assert.equal(reported, data.length);
  assert.equal(tap.crc32c, crc32cOf(data));
});
