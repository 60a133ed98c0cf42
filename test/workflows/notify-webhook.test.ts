// Notifications through the real CLI: `datasync run` posts its report to a local receiver on
// 127.0.0.1 that fails the first attempt, and a receiver that never accepts does not change the
// data run's outcome or exit code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { reportOf, runCli, writeSpec } from './support/cli.ts';
import type { RunReport } from '../../api/types.ts';

async function receiver(statuses: number[]) {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      bodies.push(body);
      res.statusCode = statuses[Math.min(bodies.length - 1, statuses.length - 1)] ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook/s3cr3t`, bodies, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('datasync run notifies with the report, retrying a failed delivery; a dead receiver never fails the run', { timeout: 60_000 }, async () => {
  const work = mkdtempSync(path.join(tmpdir(), 'wf-notify-'));
  try {
    mkdirSync(path.join(work, 'src/a'), { recursive: true });
    writeFileSync(path.join(work, 'src/a/x.txt'), 'hello');
    const spec = writeSpec(path.join(work, 'spec.yaml'), {
      source: { filesystem: { path: path.join(work, 'src') } },
      destination: { filesystem: { path: path.join(work, 'dst') } },
      notify: { webhook: { urlSecretRef: { name: 'hooks', key: 'url' } }, on: ['Succeeded', 'Failed'] },
      parallelism: { shards: 1 },
    });
    // The URL comes from the mounted Secret, as in a pod.
    mkdirSync(path.join(work, 'secrets/notify'), { recursive: true });
    const rx = await receiver([503, 200]);
    writeFileSync(path.join(work, 'secrets/notify/url'), `${rx.url}\n`);
    const ok = await runCli(['run', '-f', spec, '--quiet'], { env: { DATASYNC_SECRETS_DIR: path.join(work, 'secrets') } });
    await rx.close();
    assert.equal(ok.code, 0, `${ok.stderr}\n${ok.stdout}`);
    const report = reportOf(ok);
    assert.equal(rx.bodies.length, 2, 'one failed attempt, one delivered');
    assert.deepEqual(JSON.parse(rx.bodies[1]!) as RunReport, report);
    assert.equal(readFileSync(path.join(work, 'dst/a/x.txt'), 'utf8'), 'hello');
    assert.doesNotMatch(ok.stderr, /webhook not delivered/);

    // A receiver that always refuses: reported on stderr without the secret path, run still succeeds.
    writeFileSync(path.join(work, 'src/a/y.txt'), 'more');
    const refusing = await receiver([404]);
    const degraded = await runCli(['run', '-f', spec, '--quiet', '--webhook-url', refusing.url]);
    await refusing.close();
    assert.equal(degraded.code, 0, degraded.stderr);
    assert.equal(reportOf(degraded).outcome, 'Succeeded');
    assert.match(degraded.stderr, /webhook not delivered \(WebhookRejected\): http:\/\/127\.0\.0\.1:\d+ answered HTTP 404/);
    assert.doesNotMatch(degraded.stderr, /s3cr3t/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
