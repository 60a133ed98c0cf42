// The bench's own parts, checked for correctness only: no timings are asserted here (the bench
// reports speed; `npm test` must not fail on a noisy machine).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { S3Client, ListObjectsV2Command, HeadObjectCommand } from '@aws-sdk/client-s3';
import { startSynthetic } from './synthetic-s3.ts';
import { parseWarpAverage } from './tools.ts';
import { Allowance, startThrottleProxy } from './throttle-proxy.ts';
import { startS3Tap } from './s3-tap.ts';
import { median, alternate, bestCeiling, roundDeadline, type Outcome } from './stats.ts';
import { cpuMsOf, untilIdle } from './settle.ts';
import { fmtRatio, judge } from './report.ts';
import { runTimed } from './proc.ts';
import { summarise } from '../profile-summary.ts';
import { crc32cSlice8 } from '../micro/crc32c.ts';
import { Crc32c } from '@aws-crypto/crc32c';

test('synthetic listing source pages through every key, and answers delimiter listings', async () => {
  const s = await startSynthetic(2500);
  const c = new S3Client({ endpoint: s.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  try {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const r = await c.send(new ListObjectsV2Command({ Bucket: s.bucket, ContinuationToken: token }));
      for (const o of r.Contents ?? []) keys.push(o.Key!);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    assert.equal(keys.length, 2500);
    assert.deepEqual([...keys].sort(), keys);
    assert.equal(new Set(keys).size, 2500);
    const dirs = await c.send(new ListObjectsV2Command({ Bucket: s.bucket, Delimiter: '/' }));
    assert.deepEqual(dirs.CommonPrefixes?.map((p) => p.Prefix), ['p0000/', 'p0001/', 'p0002/']);
    const inDir = await c.send(new ListObjectsV2Command({ Bucket: s.bucket, Prefix: 'p0002/', Delimiter: '/' }));
    assert.equal(inDir.Contents?.length, 500);
    const head = await c.send(new HeadObjectCommand({ Bucket: s.bucket, Key: keys[1234]! }));
    assert.equal(head.ContentLength, 1024);
  } finally {
    c.destroy();
    await s.close();
  }
});

test('throttling proxy passes bytes through unchanged in both directions', async () => {
  const echo = createServer((sock) => sock.pipe(sock));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const port = (echo.address() as { port: number }).port;
  const proxy = await startThrottleProxy(port, 50 * 1024 * 1024);
  try {
    const payload = Buffer.alloc(200_000, 'x');
    const got = await new Promise<Buffer>((resolve, reject) => {
      const sock = connect(Number(new URL(proxy.endpoint).port), '127.0.0.1');
      const parts: Buffer[] = [];
      let n = 0;
      sock.on('data', (d: Buffer) => { parts.push(d); n += d.length; if (n >= payload.length) { sock.end(); resolve(Buffer.concat(parts)); } });
      sock.on('error', reject);
      sock.write(payload);
    });
    assert.ok(got.equals(payload));
    assert.equal(proxy.connections(), 1);
  } finally {
    await proxy.close();
    echo.close();
  }
});

test('the throttle holds a stream to its rate, and idle time buys no more than the burst', () => {
  const MiB = 1024 * 1024;
  const a = new Allowance(MiB, 64 * 1024, 0); // 1 MiB/s
  assert.equal(a.take(64 * 1024, 0), 0, 'the burst goes at once');
  assert.equal(a.take(MiB, 0), 1000, 'then a MiB waits a second');
  // Ten seconds idle: a schedule from the connection's start would now let 10 MiB through at once.
  assert.equal(a.take(64 * 1024, 11_000), 0);
  assert.equal(a.take(MiB, 11_000), 1000);
  // Steady sending at the rate never waits more than a chunk's worth.
  const b = new Allowance(MiB, 64 * 1024, 0);
  let worst = 0;
  for (let t = 0; t < 2000; t += 62.5) worst = Math.max(worst, b.take(64 * 1024, t));
  assert.ok(worst <= 62.5, `waited ${worst} ms`);
});

test('median, alternation and target judgement', async () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  const order: string[] = [];
  const out = await alternate([
    { name: 'a', run: async () => { order.push('a'); return 1; } },
    { name: 'b', run: async () => { order.push('b'); return 2; } },
  ], 3, () => {});
  assert.deepEqual(order, ['a', 'b', 'b', 'a', 'a', 'b']);
  assert.deepEqual(out.get('b')?.samples, [2, 2, 2]);
  assert.equal(judge(1.3, '>= 1.2'), true);
  assert.equal(judge(0.6, '<= 0.5'), false);
  assert.equal(judge(null, '>= 1.0'), null);
  // printed so that the printed ratio judges as the real one
  assert.equal(fmtRatio(0.9968, '>= 1.0'), '0.997');
  assert.equal(fmtRatio(1.0012, '>= 1.0'), '1.00');
  assert.equal(fmtRatio(0.5004, '<= 0.5'), '0.5004');
  assert.equal(fmtRatio(3.567, '>= 3.5'), '3.57');
  assert.equal(fmtRatio(2.16, null), '2.16');
});

test('the time budget cuts rounds back to three, never fewer, and a settle runs before every run', async () => {
  const counted = async (deadlineMs: number | undefined) => {
    const runs: string[] = [];
    let settles = 0;
    const out = await alternate([
      { name: 'a', run: async () => { runs.push('a'); return 1; } },
      { name: 'b', run: async () => { runs.push('b'); return 2; } },
    ], 5, () => {}, { settle: async () => { settles++; }, ...(deadlineMs === undefined ? {} : { deadlineMs }) });
    return { runs: runs.length, settles, samples: out.get('a')!.samples.length };
  };
  // A deadline already passed: the minimum of three rounds still runs, and no more.
  assert.deepEqual(await counted(Date.now() - 1), { runs: 6, settles: 6, samples: 3 });
  // A day away, or none: all five.
  assert.deepEqual(await counted(Date.now() + 86_400_000), { runs: 10, settles: 10, samples: 5 });
  assert.deepEqual(await counted(undefined), { runs: 10, settles: 10, samples: 5 });
});

test('a timed run reports the CPU time and peak RSS of the processes it waited for, a failed one too', { skip: !existsSync('/usr/bin/time') && 'no GNU time' }, async () => {
  // The child burns at least 400 ms of CPU by its own account and touches 100 MiB; the parent only
  // waits for it, then exits 3. The figures must be the child's, and survive GNU time's
  // "Command exited with non-zero status" line.
  const child = `const b = Buffer.alloc(100 * 2 ** 20, 1); let x = 0; while ((process.cpuUsage().user + process.cpuUsage().system) / 1000 < 400) x += b[x % b.length]; console.log(x > 0)`;
  const parent = `const r = require('node:child_process').spawnSync(process.execPath, ['-e', ${JSON.stringify(child)}], { stdio: 'inherit' }); process.exit(r.status === 0 ? 3 : 1)`;
  const r = await runTimed(process.execPath, ['-e', parent]);
  assert.equal(r.exitCode, 3, r.stderr);
  assert.ok(r.cpuMs !== null && r.cpuMs >= 400, `cpuMs ${r.cpuMs}: the child's 400 ms are missing`);
  assert.ok(r.peakRssKiB !== null && r.peakRssKiB >= 100 * 1024, `peakRssKiB ${r.peakRssKiB}: the child's 100 MiB are missing`);
});

test('settling waits out a busy process, and gives up on one that never idles', async () => {
  // A child that burns 600 ms of its own CPU time, says so, then sleeps: untilIdle must not return
  // before it has (the wait is judged by the child's CPU time, not by a clock).
  const burner = spawn(process.execPath, ['-e', `
    const t = process.cpuUsage();
    process.send('ready');
    for (;;) { const u = process.cpuUsage(t); if ((u.user + u.system) / 1000 >= 600) break; }
    process.send('done');
    setTimeout(() => {}, 60000);`], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    let done = false;
    burner.on('message', (m) => { if (m === 'done') done = true; });
    await new Promise((r) => burner.once('message', r));
    const s = await untilIdle(burner.pid!, { intervalMs: 100, quietIntervals: 4, maxMs: 30_000 });
    assert.equal(s.idle, true);
    assert.equal(done, true, 'returned while the child was still busy');
    assert.ok(s.cpuMs > 0 && cpuMsOf(burner.pid!)! >= 600, `the child's CPU time: ${cpuMsOf(burner.pid!)} ms`);
  } finally { burner.kill(); }
  const spinner = spawn(process.execPath, ['-e', 'process.send("ready"); for (;;);'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    await new Promise((r) => spinner.once('message', r));
    const s = await untilIdle(spinner.pid!, { intervalMs: 100, quietIntervals: 3, maxMs: 800 });
    assert.equal(s.idle, false);
    assert.ok(s.cpuMs > 0, 'a spinning process showed no CPU time');
  } finally { spinner.kill(); }
  // No such process: nothing to wait for, and it says it could not tell.
  assert.deepEqual(await untilIdle(2 ** 30), { idle: false, waitedMs: 0, cpuMs: 0 });
});

test('the ceiling is the best median among warp (or the SDK loop) and the named peers, never datasync', () => {
  const o = (samples: number[], errors: string[] = []): Outcome<number> => ({ samples, errors });
  const out = new Map([['datasync', o([900, 910, 905])], ['ceiling', o([700, 750, 720])], ['s5cmd', o([780, 790, 770])], ['rclone', o([560, 600, 580])]]);
  const best = bestCeiling(out, ['rclone', 's5cmd']);
  assert.equal(best.value, 780);
  assert.equal(best.outcome, out.get('s5cmd'));
  assert.equal(best.note('files/s'), "ceiling = s5cmd (beat the raw SDK PUT loop's 720 files/s)");
  out.set('ceiling', o([800, 820, 810]));
  assert.equal(bestCeiling(out, ['rclone', 's5cmd']).note('files/s'), 'ceiling = raw SDK PUT loop');
  assert.equal(bestCeiling(out, ['rclone', 's5cmd'], 'warp put').note('files/s'), 'ceiling = warp put');
  out.set('ceiling', o([600]));
  assert.equal(bestCeiling(out, ['rclone', 's5cmd'], 'warp put').note('files/s'), "ceiling = s5cmd (beat the warp put's 600 files/s)");
  // a peer that only failed is no candidate
  const failed = bestCeiling(new Map([['ceiling', o([], ['boom'])], ['s5cmd', o([], ['boom'])]]), ['s5cmd']);
  assert.equal(failed.value, null);
  assert.equal(failed.note('MiB/s'), 'no ceiling measured');
});

/** A directory holding one .cpuprofile: `functions` are the root's children, ids 2, 3, ...; samples name them by id. */
function profileDir(functions: string[], samples: number[], timeDeltas: number[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'prof-'));
  const cf = (functionName: string) => ({ functionName, url: 'file:///x/lib.js', lineNumber: 0, columnNumber: 0 });
  const children = functions.map((fn, i) => ({ id: i + 2, callFrame: cf(fn) }));
  writeFileSync(path.join(dir, 'a.cpuprofile'), JSON.stringify({
    nodes: [{ id: 1, callFrame: cf('(root)'), children: children.map((c) => c.id) }, ...children], samples, timeDeltas,
  }));
  return dir;
}

test('profile summary sums self time per function and skips idle', () => {
  const dir = profileDir(['hot', 'cold', '(idle)'], [2, 2, 3, 4, 2], [1000, 1000, 1000, 50000, 1000]);
  const top = summarise([dir], 5);
  assert.equal(top[0]?.fn, 'hot');
  assert.equal(top[0]?.selfMs, 3);
  assert.equal(top[0]?.selfPct, 75);
  assert.ok(!top.some((t) => t.fn === '(idle)'));
});

test('profile summary charges a sample at most 3 intervals: a long gap was off-CPU time, not the function on the stack', () => {
  const dir = profileDir(['hot', 'unlucky'], [2, 2, 2, 2, 3, 2], [1000, 1000, 1000, 1000, 88000, 1000]);
  const totals = { attributedMs: 0, clippedMs: 0 };
  const top = summarise([dir], 5, totals);
  assert.deepEqual(top.map((t) => [t.fn, t.selfMs]), [['hot', 5], ['unlucky', 3]]);
  assert.equal(totals.attributedMs, 8);
  assert.equal(totals.clippedMs, 85);
});

test('slicing-by-8 CRC32C equals @aws-crypto/crc32c, also when continued across chunks', () => {
  const data = Buffer.from(Array.from({ length: 1001 }, (_, i) => (i * 31) & 0xff));
  const ref = new Crc32c().update(data).digest() >>> 0;
  assert.equal(crc32cSlice8(data), ref);
  assert.equal(crc32cSlice8(data.subarray(300), crc32cSlice8(data.subarray(0, 300))), ref);
  assert.equal(crc32cSlice8(Buffer.from('123456789')), 0xe3069283);
});

test('S3 tap forwards requests unchanged (Host kept) and timestamps the first body byte of each PUT', async () => {
  const seen: Array<{ method: string | undefined; url: string | undefined; host: string | undefined; body: string }> = [];
  const upstream = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => { seen.push({ method: req.method, url: req.url, host: req.headers.host, body }); res.writeHead(200, { etag: '"x"' }); res.end('ok'); });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const tap = await startS3Tap((upstream.address() as { port: number }).port);
  try {
    const before = performance.timeOrigin + performance.now();
    const { status, etag, text } = await new Promise<{ status: number; etag: string; text: string }>((resolve, reject) => {
      const req = httpRequest(`${tap.endpoint}/bkt/dir/a%20b.bin?x-id=PutObject`, { method: 'PUT', headers: { 'content-length': '5', expect: '100-continue' } }, (res) => {
        let t = '';
        res.on('data', (d: Buffer) => { t += d.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, etag: String(res.headers.etag), text: t }));
      });
      req.on('error', reject);
      req.end('hello');
    });
    assert.equal(status, 200);
    assert.equal(etag, '"x"');
    assert.equal(text, 'ok');
    assert.deepEqual(seen, [{ method: 'PUT', url: '/bkt/dir/a%20b.bin?x-id=PutObject', host: new URL(tap.endpoint).host, body: 'hello' }]);
    const at = tap.firstBodyByte('/bkt/dir/a b.bin');
    assert.ok(at !== undefined && at >= before);
    assert.equal(tap.firstBodyByte('/bkt/other'), undefined);
    assert.equal(tap.records[0]?.bodyBytes, 5);
  } finally {
    await tap.close();
    upstream.close();
  }
});

test('a scenario\'s round deadline leaves the scenarios after it their minimum time', () => {
  const mins = { B5: 300, B7: 150, B4R: 70 };
  assert.equal(roundDeadline(1_000_000, [], mins), 1_000_000, 'the last scenario may use the whole budget');
  assert.equal(roundDeadline(1_000_000, ['B4R'], mins), 930_000);
  assert.equal(roundDeadline(1_000_000, ['B5', 'B7', 'B4R'], mins), 480_000);
  assert.equal(roundDeadline(1_000_000, ['B9'], mins), 940_000, 'an unlisted scenario is reserved 60 s');
});

test("warp's report: the run's average in MiB/s and objects/s, whatever unit it prints; no average is an error", () => {
  // As warp v1.3.1 printed them on this machine (16 KiB and 256 MiB objects).
  const small = 'Report: PUT. Concurrency: 64. Ran: 14s\n * Average: 21.47 MiB/s, 1374.11 obj/s\n * Reqs: Avg: 46.5ms, 50%: 41.2ms\n';
  assert.deepEqual(parseWarpAverage(small), { mibPerSec: 21.47, objectsPerSec: 1374.11 });
  const large = '\nReport: PUT. Concurrency: 8. Ran: 20s\n * Average: 320.70 MiB/s, 1.25 obj/s\n\nThroughput, split into 20 x 1s:\n * Fastest: 455.9MiB/s, 1.78 obj/s\n';
  assert.deepEqual(parseWarpAverage(large), { mibPerSec: 320.7, objectsPerSec: 1.25 });
  assert.equal(parseWarpAverage(' * Average: 1.50 GiB/s, 6.00 obj/s').mibPerSec, 1536);
  assert.equal(parseWarpAverage(' * Average: 512.00 KiB/s, 32.00 obj/s').mibPerSec, 0.5);
  assert.throws(() => parseWarpAverage('warp: <ERROR> bucket does not exist'), /no 'Average/);
});
