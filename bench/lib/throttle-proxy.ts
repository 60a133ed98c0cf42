// B7's throttling proxy: a TCP proxy on 127.0.0.1 in front of MinIO that caps EACH connection at a
// fixed rate in each direction, like a per-stream WAN limit. With one stream per shard, N shards
// can reach N × the cap, so the speedup measures how well the copier scales out, not the server.
import { createServer, connect, type Socket, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Proxy { endpoint: string; connections: () => number; close: () => Promise<void> }

/** What a stream may send beyond its rate: one socket read's worth, 16 ms at 4 MiB/s. */
const BURST = 64 * 1024;

/**
 * A token bucket: the allowance grows at the cap and holds at most `burst`, so a keep-alive
 * connection that idles cannot bank the idle time and then send faster than the cap. (A schedule
 * counted from the connection's start, as this proxy had, let a reused connection do exactly that,
 * which favoured whichever run reused connections.)
 */
export class Allowance {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;
  constructor(bytesPerSec: number, burst: number, nowMs: number) {
    this.#rate = bytesPerSec;
    this.#burst = burst;
    this.#tokens = burst;
    this.#at = nowMs;
  }
  /** Spends `bytes` at `nowMs`; returns how long the stream must now wait (ms, 0 = none). */
  take(bytes: number, nowMs: number): number {
    this.#tokens = Math.min(this.#burst, this.#tokens + ((nowMs - this.#at) / 1000) * this.#rate) - bytes;
    this.#at = nowMs;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.#rate) * 1000;
  }
}

function throttle(from: Socket, to: Socket, bytesPerSec: number): void {
  const allowance = new Allowance(bytesPerSec, BURST, Date.now());
  from.on('data', (chunk: Buffer) => {
    const ok = to.write(chunk);
    // Over the allowance: stop reading until the cap has paid for what was sent.
    const waitMs = allowance.take(chunk.length, Date.now());
    if (waitMs > 5 || !ok) {
      from.pause();
      const resume = () => setTimeout(() => from.resume(), waitMs);
      if (ok) resume(); else to.once('drain', resume);
    }
  });
  from.on('end', () => to.end());
}

export async function startThrottleProxy(upstreamPort: number, bytesPerSec: number): Promise<Proxy> {
  let total = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    total++;
    const up = connect(upstreamPort, '127.0.0.1');
    sockets.add(client).add(up);
    throttle(client, up, bytesPerSec);
    throttle(up, client, bytesPerSec);
    const done = () => { client.destroy(); up.destroy(); sockets.delete(client); sockets.delete(up); };
    client.on('error', done).on('close', done);
    up.on('error', done).on('close', done);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    connections: () => total,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}
