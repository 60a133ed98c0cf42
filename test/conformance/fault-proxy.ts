// A tiny HTTP proxy on 127.0.0.1 that injects faults in front of a real server: it answers the
// first `failFirst` requests itself (429/503 throttling, or an HDFS StandbyException) and forwards
// the rest untouched. Used by the conformance suite's error-typing and failover tests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: 'throttle'; status: 429 | 503 }
  /** What a standby NameNode answers to every WebHDFS call. */
  | { kind: 'standby' };

export interface FaultProxyOptions {
  upstream: string;
  fault: Fault;
  /** How many requests get the fault before the proxy starts forwarding; Infinity for all. */
  failFirst: number;
}

export interface FaultProxy {
  url: string;
  /** Requests answered with the fault so far. */
  faulted(): number;
  forwarded(): number;
  close(): Promise<void>;
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(opts.upstream);
  let faulted = 0;
  let forwarded = 0;
  const server = http.createServer((req, res) => {
    if (faulted < opts.failFirst) {
      faulted++;
      req.resume();
      answerWithFault(opts.fault, res);
      return;
    }
    forwarded++;
    const out = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    faulted: () => faulted,
    forwarded: () => forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function answerWithFault(fault: Fault, res: http.ServerResponse): void {
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
