// Micro-benchmark behind B2's SigV4 hot spot (getKeyObjectSlots under sigV4Authorization): one
// HMAC-SHA256 of a SigV4 string to sign, keyed by the day's signing key as a Buffer (what
// direct-put.ts passed first; Node makes a KeyObject of it on every call) and as a KeyObject made
// once (what it holds now). Not part of `npm run bench`'s table; run by hand:
//   node bench/micro/sigv4-key.ts [N=100000]
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';

const n = Number(process.argv[2] ?? 100_000);
const key = randomBytes(32);
const keyObject = createSecretKey(key);
const toSign = `AWS4-HMAC-SHA256\n20261121T101500Z\n20261121/us-east-1/s3/aws4_request\n${'ab'.repeat(32)}`;

for (let round = 1; round <= 3; round++) {
  for (const [name, k] of [['Buffer key', key], ['KeyObject key', keyObject]] as const) {
    const t0 = performance.now();
    let last = '';
    for (let i = 0; i < n; i++) last = createHmac('sha256', k).update(toSign).digest('hex');
    const us = ((performance.now() - t0) * 1000) / n;
    console.log(`round ${round}  ${name.padEnd(13)} ${us.toFixed(2)} µs per signature  (${last.slice(0, 8)})`);
  }
}
