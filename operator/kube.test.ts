// shareConnections: one connection pool per KubeConfig instead of client-node's one per request.
// test/operator/connections.test.ts counts the TCP connections against the real API server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import type { Dispatcher } from 'undici';
import { RETIRED_POOL_CLOSE_MS, makeKube, shareConnections } from './kube.ts';

const pem = (what: string, body: string) => `-----BEGIN ${what}-----\n${Buffer.from(body).toString('base64')}\n-----END ${what}-----\n`;

/** A KubeConfig with a CA, a client certificate and key in files (nothing connects in these tests). */
function config(dir: string, token?: string): KubeConfig {
  const file = (name: string, text: string) => { const f = path.join(dir, name); writeFileSync(f, text); return f; };
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caFile: file('ca.crt', pem('CERTIFICATE', 'ca')) }],
    users: [{ name: 'u', certFile: file('client.crt', pem('CERTIFICATE', 'client v1')), keyFile: file('client.key', pem('PRIVATE KEY', 'key v1')), ...(token ? { token } : {}) }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

/** What a request through kc gets: the dispatcher and headers client-node sets on its context. */
async function request(kc: KubeConfig): Promise<{ dispatcher: Dispatcher | undefined; authorization: string | undefined }> {
  const ctx = new RequestContext('https://127.0.0.1:6443/api/v1/pods', HttpMethod.GET);
  await kc.applySecurityAuthentication(ctx);
  return { dispatcher: ctx.getDispatcher() as Dispatcher | undefined, authorization: ctx.getHeaders()['Authorization'] };
}

test('client-node builds a pool per request; shareConnections makes it one per KubeConfig (API clients and Watch alike)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kube-'));
  try {
    // The behaviour worked around, and the (private) method it relies on: an upgrade that changes
    // either fails here.
    assert.equal(typeof (KubeConfig.prototype as unknown as { createDispatcher?: unknown }).createDispatcher, 'function');
    const plain = config(dir);
    const [a, b] = [await request(plain), await request(plain)];
    assert.ok(a.dispatcher && b.dispatcher && a.dispatcher !== b.dispatcher, 'unshared: a new pool per request');

    const kube = makeKube(config(dir));
    const first = await request(kube.config);
    assert.ok(first.dispatcher);
    for (let i = 0; i < 20; i++) assert.equal((await request(kube.config)).dispatcher, first.dispatcher);
    // Watch and the API clients authenticate through this same KubeConfig method.
    assert.equal((kube.watch as unknown as { config: KubeConfig }).config, kube.config);
    assert.equal(shareConnections(kube.config), kube.config, 'idempotent');
    assert.equal((await request(kube.config)).dispatcher, first.dispatcher);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a rotated client certificate gets a new pool at the next request; the old one is closed later', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const dir = mkdtempSync(path.join(tmpdir(), 'kube-'));
  try {
    const kc = shareConnections(config(dir));
    const before = (await request(kc)).dispatcher as Dispatcher & { closed: boolean };
    writeFileSync(path.join(dir, 'client.crt'), pem('CERTIFICATE', 'client v2'));
    writeFileSync(path.join(dir, 'client.key'), pem('PRIVATE KEY', 'key v2'));
    const after = (await request(kc)).dispatcher;
    assert.ok(after && after !== before, 'new certificate, new pool');
    assert.equal((await request(kc)).dispatcher, after, 'and that one is reused');
    assert.equal(before.closed, false, 'requests already handed the old pool may still use it');
    t.mock.timers.tick(RETIRED_POOL_CLOSE_MS);
    assert.equal(before.closed, true, 'closed once retired');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the token stays a per-request header: a new token keeps the pool and is sent at once', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kube-'));
  try {
    const kc = shareConnections(config(dir, 'token-1'));
    const one = await request(kc);
    (kc.getCurrentUser() as { token?: string }).token = 'token-2';
    const two = await request(kc);
    assert.equal(one.authorization, 'Bearer token-1');
    assert.equal(two.authorization, 'Bearer token-2');
    assert.equal(two.dispatcher, one.dispatcher);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
