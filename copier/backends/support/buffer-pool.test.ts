import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { BufferPool, capacityFor } from './buffer-pool.ts';
import { fixedChunks } from './streams.ts';
import { bufferReader, withByob } from './byob.ts';

const MiB = 2 ** 20;
const pool = () => new BufferPool({ maxIdleBytes: 8 * MiB, maxBufferBytes: 4 * MiB, idleMs: 60_000 });

test('capacities: powers of two below 1 MiB, whole MiB above', () => {
  assert.equal(capacityFor(0), 0);
  assert.equal(capacityFor(1), 1);
  assert.equal(capacityFor(1000), 1024);
  assert.equal(capacityFor(MiB), MiB);
  assert.equal(capacityFor(MiB + 1), 2 * MiB);
  assert.equal(capacityFor(4 * MiB), 4 * MiB);
  assert.equal(capacityFor(5 * MiB + 7), 6 * MiB);
});

test('a released buffer serves the next lease of its class; one still leased is never handed out twice', () => {
  const p = pool();
  const a = p.lease();
  const first = a.get(3 * MiB);
  const second = p.lease().get(3 * MiB); // the first is still held: a different buffer
  assert.notEqual(first.buffer, second.buffer);
  a.release();
  assert.equal(p.idleBytes, 3 * MiB);
  const again = p.lease().get(3 * MiB - 5);
  assert.equal(again.buffer, first.buffer, 'the released buffer is reused');
  assert.equal(again.length, 3 * MiB - 5, 'a view of exactly the size asked');
  assert.equal(p.idleBytes, 0);
});

test('a larger idle buffer serves a request up to half its size; smaller requests allocate', () => {
  const p = pool();
  const l = p.lease();
  const big = l.get(4 * MiB);
  l.release();
  assert.equal(p.lease().get(MiB).buffer === big.buffer, false, '1 MiB would waste 3/4 of a 4 MiB buffer');
  assert.equal(p.lease().get(3 * MiB).buffer, big.buffer);
});

test('idle bytes stay within the limit; oversized buffers are not pooled; clear lets all go', () => {
  const p = pool();
  const l = p.lease();
  for (let i = 0; i < 3; i++) l.get(4 * MiB);
  l.get(5 * MiB); // over maxBufferBytes
  l.release();
  assert.equal(p.idleBytes, 8 * MiB, 'two of the three 4 MiB buffers kept, the 5 MiB one not');
  p.clear();
  assert.equal(p.idleBytes, 0);
});

test('fixedChunks with a lease: exact contents over reused buffers, for stream and bring-your-own-buffer sources', async () => {
  const p = pool();
  for (const byob of [false, true]) {
    for (let round = 0; round < 3; round++) {
      const data = randomBytes(2 * MiB + 12345);
      const body = byob
        ? withByob(Readable.from([data]), { readInto: bufferReader(data).readInto })
        : Readable.from([data.subarray(0, 700_000), data.subarray(700_000)]);
      const lease = p.lease();
      const got: Buffer[] = [];
      for await (const c of fixedChunks(body, MiB, { held: 2, lease })) got.push(Buffer.from(c));
      assert.deepEqual(Buffer.concat(got), data, `byob ${byob}, round ${round}`);
      lease.release();
    }
    assert.ok(p.idleBytes > 0 && p.idleBytes <= 3 * MiB, `the ring's buffers went back: ${p.idleBytes}`);
  }
});
