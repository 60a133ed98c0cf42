// A small HTTP proxy on 127.0.0.1 in front of MinIO for the workflow tests: it forwards everything,
// lets a test observe each request before it is forwarded (to check the local file still exists
// when its upload starts, or to land new files while a pass runs), and fails the first N requests
// that match a predicate with a 503, as a transiently overloaded S3 would.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RequestInfo { method: string; path: string }

export interface WorkflowProxyOptions {
  upstream: string;
  /** Requests to fail; each match counts against `failTimes`. */
  failWhen?: (r: RequestInfo) => boolean;
  failTimes?: number;
  /** Runs before a request is forwarded (or failed). */
  observe?: (r: RequestInfo) => void;
}

export interface WorkflowProxy {
  url: string;
  failed(): number;
  requests(): RequestInfo[];
  close(): Promise<void>;
}

export async function startWorkflowProxy(opts: WorkflowProxyOptions): Promise<WorkflowProxy> {
  const upstream = new URL(opts.upstream);
  let failed = 0;
  const seen: RequestInfo[] = [];
  const server = http.createServer((req, res) => {
    const info: RequestInfo = { method: req.method ?? '', path: decodeURIComponent((req.url ?? '').split('?')[0] ?? '') };
    seen.push(info);
    opts.observe?.(info);
    if (opts.failWhen?.(info) && failed < (opts.failTimes ?? 1)) {
      failed++;
      req.resume();
      req.on('end', () => {
        res.writeHead(503, { 'content-type': 'application/xml', 'retry-after': '0' })
          .end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>injected by the workflow fault proxy</Message></Error>');
      });
      return;
    }
    // The Host header stays as the client sent it: SigV4 signs it.
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (up) => { res.writeHead(up.statusCode ?? 502, up.headers); up.pipe(res); },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    failed: () => failed,
    requests: () => [...seen],
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
