// /metrics, /healthz and /readyz.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';

export interface HttpOptions { host?: string; port: number; registry: Registry; log: Logger; ready: () => boolean }

export async function startHttpServer(o: HttpOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      o.registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': o.registry.contentType });
        res.end(text);
      }, (err: unknown) => { res.writeHead(500); res.end(String(err)); });
      return;
    }
    if (path === '/healthz') { res.writeHead(200); res.end('ok'); return; }
    if (path === '/readyz') {
      const ok = o.ready();
      res.writeHead(ok ? 200 : 503);
      res.end(ok ? 'ok' : 'caches not synced');
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const a = server.address();
  o.log.info({ addr: typeof a === 'object' && a ? `${a.address}:${a.port}` : a }, 'serving /metrics, /healthz, /readyz');
  return server;
}
