// A tiny HTTP proxy on 127.0.0.1 that injects faults in front of a real server: it answers the
// first `failFirst` requests itself (429/503 throttling, or an HDFS StandbyException), or forwards
// the first `failFirst` PUT bodies with a byte flipped, and forwards the rest untouched. Used by the conformance suite's error-typing and failover tests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: 'throttle'; status: 429 | 503 }
  /** What a standby NameNode answers to every WebHDFS call. */
  | { kind: 'standby' }
  /**
   * Forwards request bodies of PUTs with one byte flipped, as a bad NIC or proxy would: only the
   * checksum sent with the data can catch it (the payload itself is not signed).
   */
  | { kind: 'corrupt' };

export interface FaultProxyOptions {
  upstream: string;
  fault: Fault;
  /** How many requests get the fault before the proxy starts forwarding; Infinity for all. */
  failFirst: number;
  /** Only requests whose path matches get the fault (default: all). */
  only?: RegExp;
  /** Forward the Host header as the client sent it (S3 signs it); the corrupting proxy always does. */
  keepHost?: boolean;
}

export interface FaultProxy {
  url: string;
  /** Requests answered with the fault so far. */
  faulted(): number;
  forwarded(): number;
  /**
   * Every request received, in order, with the client's User-Agent (the AWS SDK names itself there)
   * and the number of the client connection it came on (1, 2, ... in order of connecting).
   */
  requests(): Array<{ method: string; url: string; userAgent: string; connection: number }>;
  close(): Promise<void>;
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(opts.upstream);
  let faulted = 0;
  let forwarded = 0;
  const requests: Array<{ method: string; url: string; userAgent: string; connection: number }> = [];
  const connections = new WeakMap<object, number>();
  let connected = 0;
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', userAgent: String(req.headers['user-agent'] ?? ''), connection: connections.get(req.socket) ?? 0 });
    if (opts.fault.kind === 'corrupt') {
      if (faulted < opts.failFirst && req.method === 'PUT' && Number(req.headers['content-length'] ?? 0) > 0 && (opts.only?.test(req.url ?? '') ?? true)) {
        faulted++;
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks);
          body[body.length >> 1]! ^= 0x01;
          forward(req, res, body);
        });
        return;
      }
      forwarded++;
      forward(req, res);
      return;
    }
    if (faulted < opts.failFirst && (opts.only?.test(req.url ?? '') ?? true)) {
      faulted++;
      req.resume();
      answerWithFault(opts.fault, res);
      return;
    }
    forwarded++;
    forward(req, res);
  });
  const forward = (req: http.IncomingMessage, res: http.ServerResponse, body?: Buffer): void => {
    const out = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        // S3 signs the Host header, so the corrupting proxy (S3 only) leaves it as the client sent it.
        headers: opts.fault.kind === 'corrupt' || opts.keepHost ? req.headers : { ...req.headers, host: upstream.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    if (body) out.end(body);
    else req.pipe(out);
  };
  server.on('connection', (socket) => connections.set(socket, ++connected));
  // Node's own default. Its agents keep an idle socket only until 1 s before the server's announced
  // keep-alive timeout, so at 1 s (as this was) every request opened a connection of its own.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    faulted: () => faulted,
    forwarded: () => forwarded,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function answerWithFault(fault: Exclude<Fault, { kind: 'corrupt' }>, res: http.ServerResponse): void {
  if (fault.kind === 'standby') {
    const body = JSON.stringify({
      RemoteException: {
        exception: 'StandbyException',
        javaClassName: 'org.apache.hadoop.ipc.StandbyException',
        message: 'Operation category READ is not supported in state standby',
      },
    });
    res.writeHead(403, { 'content-type': 'application/json' }).end(body);
    return;
  }
  const body = JSON.stringify({ error: { code: fault.status, message: 'slow down (injected by the fault proxy)' } });
  res
    .writeHead(fault.status, {
      'content-type': 'application/json',
      'retry-after': '0',
      // Azure's SDK reads the error code from this header when the body is not XML.
      'x-ms-error-code': fault.status === 503 ? 'ServerBusy' : 'TooManyRequests',
    })
    .end(body);
}

/** A local port with nothing listening: connecting to it is refused. */
export async function deadAddress(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
