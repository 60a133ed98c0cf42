// A TCP proxy on 127.0.0.1 in front of a real server that can stall, as a hung endpoint does: while
// stalled it accepts connections and holds them (reads nothing, answers nothing, closes nothing), so
// a client waits on its request without an error. release() forwards the held connections (their
// bytes were never read, so nothing is lost) and everything after it. Bytes pass through unchanged,
// so S3 signatures over the Host header stay valid.
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface StallProxy {
  url: string;
  stall(): void;
  release(): void;
  /** Connections accepted and held since the last stall(). */
  held(): number;
  close(): Promise<void>;
}

export async function startStallProxy(upstream: string, opts: { stalled?: boolean } = {}): Promise<StallProxy> {
  const target = new URL(upstream);
  let stalled = opts.stalled ?? false;
  let heldCount = 0;
  const held = new Set<net.Socket>();
  const open = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    open.add(s);
    s.on('close', () => { open.delete(s); held.delete(s); });
    s.on('error', () => s.destroy());
  };
  const forward = (client: net.Socket): void => {
    const server = net.connect(Number(target.port), target.hostname);
    track(server);
    client.on('close', () => server.destroy());
    server.on('close', () => client.destroy());
    client.pipe(server);
    server.pipe(client);
  };
  // pauseOnConnect: a held connection's bytes stay unread until it is forwarded.
  const srv = net.createServer({ pauseOnConnect: true }, (client) => {
    track(client);
    if (stalled) {
      held.add(client);
      heldCount++;
    } else {
      forward(client);
    }
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stall() { stalled = true; heldCount = 0; },
    release() {
      stalled = false;
      for (const s of held) forward(s);
      held.clear();
    },
    held: () => heldCount,
    close: () => new Promise<void>((resolve) => {
      for (const s of open) s.destroy();
      srv.close(() => resolve());
    }),
  };
}
