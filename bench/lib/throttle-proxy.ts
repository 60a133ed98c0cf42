// B7's throttling proxy: a TCP proxy on 127.0.0.1 in front of MinIO that caps EACH connection at a
// fixed rate in each direction, like a per-stream WAN limit. With one stream per shard, N shards
// can reach N × the cap, so the speedup measures how well the copier scales out, not the server.
import { createServer, connect, type Socket, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Proxy { endpoint: string; connections: () => number; close: () => Promise<void> }

function throttle(from: Socket, to: Socket, bytesPerSec: number): void {
  const start = Date.now();
  let sent = 0;
  from.on('data', (chunk: Buffer) => {
    sent += chunk.length;
    const ok = to.write(chunk);
    // When this stream is ahead of its allowance, stop reading until the schedule catches up.
    const aheadMs = (sent / bytesPerSec) * 1000 - (Date.now() - start);
    if (aheadMs > 5 || !ok) {
      from.pause();
      const resume = () => setTimeout(() => from.resume(), Math.max(0, aheadMs));
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
