// B6's "first byte copied" clock: an HTTP proxy on 127.0.0.1 in front of MinIO that forwards every
// request unchanged (the Host header is kept, so SigV4 signatures still match) and notes, per
// request, the moment the first byte of its body arrived. The copier runs in a pod process the bench
// cannot instrument, so the honest observation point is the destination's door: the first body
// byte of the PUT (or UploadPart) of the copied object is the first byte that left the copier.
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface TapRecord {
  method: string;
  /** Path without the query string, e.g. /bucket/key */
  path: string;
  query: string;
  /** performance.timeOrigin + performance.now() when the request's headers arrived. */
  requestAt: number;
  /** The same clock, when the first body byte arrived; undefined for a request without a body. */
  firstBodyByteAt?: number;
  bodyBytes: number;
}

export interface S3Tap {
  endpoint: string;
  records: TapRecord[];
  /** Earliest first-body-byte time of a PUT to exactly this path (e.g. `/bucket/key`). */
  firstBodyByte(path: string): number | undefined;
  close(): Promise<void>;
}

export const nowMs = (): number => performance.timeOrigin + performance.now();

// Hop-by-hop headers are the proxy's own business; `expect` is never part of a SigV4 signature.
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'expect', 'te', 'trailer']);

function forwardHeaders(h: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  return out;
}

function safeDecode(p: string): string {
  try { return decodeURIComponent(p); } catch { return p; }
}

export async function startS3Tap(upstreamPort: number): Promise<S3Tap> {
  const records: TapRecord[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const [p = '/', q = ''] = (req.url ?? '/').split('?', 2);
    const rec: TapRecord = { method: req.method ?? 'GET', path: safeDecode(p), query: q, requestAt: nowMs(), bodyBytes: 0 };
    records.push(rec);
    req.on('data', (chunk: Buffer) => {
      if (rec.firstBodyByteAt === undefined) rec.firstBodyByteAt = nowMs();
      rec.bodyBytes += chunk.length;
    });
    const up = request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: forwardHeaders(req.headers) }, (upRes) => {
      const headers = forwardHeaders(upRes.headers);
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, headers);
      upRes.pipe(res);
    });
    up.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`s3 tap: ${err.message}`);
    });
    req.pipe(up);
  });
  // Keep-alive connections would otherwise hold close() open.
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    records,
    firstBodyByte(path) {
      const ts = records.filter((r) => r.method === 'PUT' && r.path === path && r.firstBodyByteAt !== undefined).map((r) => r.firstBodyByteAt!);
      return ts.length ? Math.min(...ts) : undefined;
    },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
