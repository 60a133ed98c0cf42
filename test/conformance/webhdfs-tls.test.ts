// swebhdfs: a TLS-terminating proxy with a throwaway CA-less self-signed certificate stands in
// for an HTTPS NameNode. Without the CA the client refuses the server; with it, writes and reads
// work (the DataNode redirect stays plain HTTP, as on clusters with HTTPS only on the NameNode).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { testEnv, uniqueName } from '../env/endpoints.ts';
import { createWebHdfsBackend } from '../../copier/backends/webhdfs/index.ts';
import { asDataSyncError } from '../../copier/errors.ts';
import { readAll } from './suite.ts';

const env = testEnv().webhdfs;
const root = `/${uniqueName('conf-hdfs-tls')}`;
let dir: string;
let cert: string;
let server: https.Server;
let url: string;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'datasync-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  cert = readFileSync(path.join(dir, 'cert.pem'), 'utf8');
  const upstream = new URL(env.url);
  server = https.createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert }, (req, res) => {
    const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `swebhdfs://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

test('swebhdfs refuses a server it cannot verify', async () => {
  const b = createWebHdfsBackend({ namenodes: [url], path: root, user: env.user }, 'source');
  try {
    const err = asDataSyncError(await b.stat('x').catch((e: unknown) => e));
    assert.equal(err?.code, 'Unreachable', err?.message);
  } finally {
    await b.close();
  }
});

test('swebhdfs with the CA writes and reads', async () => {
  const b = createWebHdfsBackend({ namenodes: [url], path: root, user: env.user }, 'destination', { ca: cert });
  try {
    await b.write('tls/f.txt', Readable.from([Buffer.from('over tls')]));
    assert.equal((await readAll(await b.read('tls/f.txt'))).toString(), 'over tls');
    const listed: string[] = [];
    for await (const e of b.list()) listed.push(e.path);
    assert.deepEqual(listed, ['tls/f.txt']);
  } finally {
    await b.client.delete(root, true);
    await b.close();
  }
});
