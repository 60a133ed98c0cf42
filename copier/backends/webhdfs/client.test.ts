// Unit tests of the WebHDFS client against a scripted NameNode: auth parameters, HA failover and
// its memory, and that a delegation token never reaches an error message. The real-server
// behaviour is covered by test/conformance/webhdfs.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebHdfsClient } from './client.ts';
import { translateWebHdfsError } from './errors.ts';

interface Seen { port: number; url: URL }

async function fakeNamenode(seen: Seen[], answer: (url: URL) => { status: number; body: unknown }): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push({ port: (server.address() as AddressInfo).port, url });
    const a = answer(url);
    res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

const STATUS = { FileStatus: { pathSuffix: '', type: 'FILE', length: 3, modificationTime: 1, accessTime: 1, permission: '644', owner: 'o', group: 'g', blockSize: 1 } };
const STANDBY = { RemoteException: { exception: 'StandbyException', javaClassName: 'org.apache.hadoop.ipc.StandbyException', message: 'Operation category READ is not supported in state standby' } };

test('fails over from a standby namenode and remembers the active one', async () => {
  const seen: Seen[] = [];
  const standby = await fakeNamenode(seen, () => ({ status: 403, body: STANDBY }));
  const active = await fakeNamenode(seen, () => ({ status: 200, body: STATUS }));
  const client = new WebHdfsClient({ namenodes: [standby.url, active.url], user: 'alice' });
  try {
    assert.equal((await client.getFileStatus('/a')).length, 3);
    assert.equal(client.activeNamenode, active.url);
    seen.length = 0;
    await client.getFileStatus('/b');
    assert.deepEqual(seen.map((s) => `http://127.0.0.1:${s.port}`), [active.url], 'the second call goes straight to the active namenode');
    assert.equal(seen[0]!.url.searchParams.get('user.name'), 'alice');
  } finally {
    await client.close();
    await standby.close();
    await active.close();
  }
});

test('sends the delegation token instead of user.name, and never shows it in errors', async () => {
  const seen: Seen[] = [];
  const token = 'HAAEaGRmcwAAAAABAAAAAYoBhZS3aJmKAYW4w-yZAQIUsecret-token-value';
  const nn = await fakeNamenode(seen, () => ({ status: 403, body: { RemoteException: { exception: 'AccessControlException', message: `Permission denied for delegation=${token}` } } }));
  const client = new WebHdfsClient({ namenodes: [nn.url], user: 'ignored', delegationToken: token });
  try {
    const err = await client.getFileStatus('/x').catch((e: unknown) => e);
    assert.equal(seen[0]!.url.searchParams.get('delegation'), token);
    assert.equal(seen[0]!.url.searchParams.get('user.name'), null);
    const translated = translateWebHdfsError(err, { side: 'source', endpoint: 'webhdfs:///data', path: 'x', op: 'stat' });
    assert.equal(translated.code, 'PermissionDenied');
    assert.ok(!translated.message.includes(token), translated.message);
  } finally {
    await client.close();
    await nn.close();
  }
});

test('every namenode standby: Unreachable and retryable', async () => {
  const seen: Seen[] = [];
  const a = await fakeNamenode(seen, () => ({ status: 403, body: STANDBY }));
  const client = new WebHdfsClient({ namenodes: [a.url, a.url] });
  try {
    const err = await client.getFileStatus('/x').catch((e: unknown) => e);
    const translated = translateWebHdfsError(err, { side: 'source', endpoint: 'webhdfs:///', op: 'stat' });
    assert.equal(translated.code, 'Unreachable');
    assert.equal(translated.retryable, true);
    assert.equal(seen.length, 2);
  } finally {
    await client.close();
    await a.close();
  }
});

test('the backend reads the delegation token from the mounted Secret key "token"', async () => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { createWebHdfsBackend } = await import('./index.ts');
  const root = mkdtempSync(path.join(os.tmpdir(), 'datasync-secrets-'));
  mkdirSync(path.join(root, 'source'));
  writeFileSync(path.join(root, 'source', 'token'), 'mounted-token-value\n');
  const seen: Seen[] = [];
  const nn = await fakeNamenode(seen, () => ({ status: 200, body: STATUS }));
  const b = createWebHdfsBackend({ namenodes: [nn.url], path: '/data', delegationTokenSecretRef: { name: 'hdfs-token' } }, 'source', { secretsRoot: root });
  try {
    assert.equal((await b.stat('f')).size, 3);
    assert.equal(seen[0]!.url.searchParams.get('delegation'), 'mounted-token-value');
    assert.equal(seen[0]!.url.pathname, '/webhdfs/v1/data/f');
    assert.ok(!b.location.includes('mounted-token-value'));
  } finally {
    await b.close();
    await nn.close();
    rmSync(root, { recursive: true, force: true });
  }
});
