import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { RunReport } from '../../api/types.ts';
import { notifyRun, postRunReport, backoffDelayMs, resolveWebhookUrl, WEBHOOK_URL_ENV } from './index.ts';

const report: RunReport = {
  id: '20261121-0215-ab12', trigger: 'Schedule', outcome: 'Failed', startTime: '2026-11-21T02:15:00Z', endTime: '2026-11-21T02:16:00Z',
  durationSeconds: 60, filesExpected: 3, filesCopied: 2, filesSkipped: 0, filesFailed: 1, filesDeleted: 0,
  bytesExpected: 30, bytesCopied: 20, bytesSkipped: 0, bytesFailed: 10, bytesDeleted: 0,
  failedFiles: [{ path: '2026/11/20/c', error: 'Transient' }], partitions: { published: ['2026/11/19'], waiting: ['2026/11/20'], skipped: [] }, watermark: '2026/11/19',
};

interface Received { method: string; url: string; headers: IncomingMessage['headers']; body: string }

/** A receiver on 127.0.0.1 that answers each request with the next status from a script. */
async function receiver(statuses: number[], opts: { hangFirst?: boolean } = {}) {
  const received: Received[] = [];
  let n = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      const i = n++;
      if (opts.hangFirst && i === 0) return; // never answers: the client's timeout must fire
      res.statusCode = statuses[Math.min(i, statuses.length - 1)] ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/T0KEN-secret?sig=abc`,
    received,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

const noSleep = { sleep: async () => {}, random: () => 0.5 };

test('posts the run report as JSON once when the receiver accepts it', async () => {
  const rx = await receiver([204]);
  try {
    const r = await postRunReport(report, { url: rx.url, ...noSleep });
    assert.deepEqual(r, { delivered: true, attempts: 1, status: 204 });
    assert.equal(rx.received.length, 1);
    const got = rx.received[0]!;
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/hooks/T0KEN-secret?sig=abc');
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.headers['x-datasync-run-id'], report.id);
    assert.deepEqual(JSON.parse(got.body), report);
  } finally { await rx.close(); }
});

test('retries 5xx and 429 with exponential backoff until the receiver recovers', async () => {
  const rx = await receiver([503, 500, 429, 200]);
  const delays: number[] = [];
  try {
    const r = await postRunReport(report, { url: rx.url, baseDelayMs: 100, maxDelayMs: 250, sleep: async (ms) => { delays.push(ms); }, random: () => 0.5 });
    assert.equal(r.delivered, true);
    assert.equal(r.attempts, 4);
    assert.deepEqual(delays, [100, 200, 250], 'doubling, capped at maxDelayMs');
    assert.equal(rx.received.length, 4);
    assert.ok(rx.received.every((x) => x.body === rx.received[0]!.body), 'the same body every time');
  } finally { await rx.close(); }
});

test('gives up after the attempt budget and reports why, without the secret URL', async () => {
  const rx = await receiver([502]);
  try {
    const r = await postRunReport(report, { url: rx.url, attempts: 3, ...noSleep });
    assert.equal(r.delivered, false);
    assert.equal(r.attempts, 3);
    assert.equal(r.status, 502);
    assert.equal(r.reason, 'WebhookFailed');
    assert.match(r.error ?? '', /answered HTTP 502 \(after 3 attempts\)/);
    assert.doesNotMatch(r.error ?? '', /T0KEN|sig=/);
    assert.equal(rx.received.length, 3);
  } finally { await rx.close(); }
});

test('a 4xx other than 408/429 is not retried: the request itself is wrong', async () => {
  const rx = await receiver([404]);
  try {
    const r = await postRunReport(report, { url: rx.url, ...noSleep });
    assert.deepEqual([r.delivered, r.attempts, r.status, r.reason], [false, 1, 404, 'WebhookRejected']);
  } finally { await rx.close(); }
});

test('a receiver that hangs times out and the next attempt succeeds', async () => {
  const rx = await receiver([200], { hangFirst: true });
  try {
    const r = await postRunReport(report, { url: rx.url, timeoutMs: 300, ...noSleep });
    assert.deepEqual([r.delivered, r.attempts], [true, 2]);
  } finally { await rx.close(); }
});

test('connection refused never throws; the error names only the origin', async () => {
  const rx = await receiver([200]);
  const url = rx.url;
  await rx.close();
  const r = await postRunReport(report, { url, attempts: 2, ...noSleep });
  assert.equal(r.delivered, false);
  assert.match(r.error ?? '', /^http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  assert.doesNotMatch(r.error ?? '', /T0KEN/);
  const bad = await postRunReport(report, { url: 'ftp://x/y', ...noSleep });
  assert.deepEqual([bad.delivered, bad.attempts, bad.reason], [false, 0, 'WebhookRejected']);
});

test('real backoff timing: a receiver failing twice is retried after about 50ms then 100ms', async () => {
  const rx = await receiver([500, 500, 200]);
  try {
    const t0 = performance.now();
    const r = await postRunReport(report, { url: rx.url, baseDelayMs: 50, random: () => 0.5 });
    const elapsed = performance.now() - t0;
    assert.equal(r.attempts, 3);
    assert.ok(elapsed >= 140 && elapsed < 2000, `elapsed ${elapsed}`);
  } finally { await rx.close(); }
});

test('backoff has bounded jitter', () => {
  assert.equal(backoffDelayMs(1, 1000, 30_000, () => 0), 800);
  assert.equal(backoffDelayMs(1, 1000, 30_000, () => 1), 1200);
  assert.equal(backoffDelayMs(10, 1000, 30_000, () => 0.5), 30_000);
});

test('the URL comes from the flag, then the env var, then the mounted Secret', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'notify-'));
  try {
    const notify = { webhook: { urlSecretRef: { name: 'hooks', key: 'endpoint' } } };
    assert.deepEqual(resolveWebhookUrl(notify, { env: {}, secretsRoot: root }).url, undefined);
    assert.match(resolveWebhookUrl(notify, { env: {}, secretsRoot: root }).missing ?? '', /Secret "hooks" key "endpoint"/);
    mkdirSync(path.join(root, 'notify'));
    writeFileSync(path.join(root, 'notify', 'endpoint'), 'https://hooks.example/secret\n');
    assert.deepEqual(resolveWebhookUrl(notify, { env: {}, secretsRoot: root }), { url: 'https://hooks.example/secret', source: 'secret' });
    assert.deepEqual(resolveWebhookUrl(notify, { env: { [WEBHOOK_URL_ENV]: 'http://env/' }, secretsRoot: root }), { url: 'http://env/', source: 'env' });
    assert.deepEqual(resolveWebhookUrl(notify, { flagUrl: 'http://flag/', env: { [WEBHOOK_URL_ENV]: 'http://env/' } }), { url: 'http://flag/', source: 'flag' });
    const file = path.join(root, 'url.txt');
    writeFileSync(file, 'http://file/\n');
    assert.deepEqual(resolveWebhookUrl(undefined, { flagFile: file, env: {} }), { url: 'http://file/', source: 'file' });
    assert.deepEqual(resolveWebhookUrl(undefined, { env: {}, secretsRoot: root }), {});
  } finally { rmSync(root, { recursive: true, force: true }); }
});

test('notifyRun: fires only on the chosen outcomes; a failed delivery is a result, not an exception', async () => {
  const rx = await receiver([200]);
  try {
    const on = { webhook: { urlSecretRef: { name: 'hooks' } }, on: ['Failed' as const] };
    const sources = { flagUrl: rx.url, env: {} };
    assert.equal((await notifyRun(report, on, sources, noSleep)).state, 'Delivered');
    assert.deepEqual(await notifyRun({ ...report, outcome: 'Succeeded' }, on, sources, noSleep), { state: 'NotSelected', outcome: 'Succeeded' });
    assert.equal(rx.received.length, 1);
    assert.deepEqual(await notifyRun(report, undefined, { env: {}, secretsRoot: '/nonexistent' }), { state: 'NotConfigured' });
    const missing = await notifyRun(report, on, { env: {}, secretsRoot: '/nonexistent' });
    assert.equal(missing.state, 'Failed');
    const unreadable = await notifyRun(report, on, { flagFile: '/nonexistent/url', env: {} });
    assert.equal(unreadable.state, 'Failed');
  } finally { await rx.close(); }
  const down = await notifyRun(report, { webhook: { urlSecretRef: { name: 'h' } } }, { flagUrl: rx.url, env: {} }, { attempts: 2, ...noSleep });
  assert.equal(down.state, 'Failed');
});
