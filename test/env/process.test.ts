// The start/stop library: clear errors naming the server and its log, and no orphans even when the
// process that started the servers is killed outright.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ManagedProcess, ServerError, freePort, isAlive, retryOnPortClash, waitReady } from './process.ts';

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'env-process-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A free port that this process then holds until the test ends, as another server would. */
async function occupiedPort(t: { after: (fn: () => void) => void }): Promise<number> {
  const port = await freePort();
  const blocker = createServer().listen(port, '127.0.0.1');
  t.after(() => blocker.close());
  await new Promise((r) => blocker.once('listening', r));
  return port;
}

test('a server that exits before it is ready fails with its name and the tail of its log', async (t) => {
  const dir = scratch(t);
  const proc = new ManagedProcess({ name: 'flaky-server', command: '/bin/sh', args: ['-c', 'echo starting; echo "fatal: no disk" >&2; exit 7'], logFile: path.join(dir, 'flaky.log') });
  await assert.rejects(waitReady(proc, async () => false, 10_000), (err: unknown) => {
    assert.ok(err instanceof ServerError);
    assert.match(err.message, /^flaky-server: exited with code 7 before it was ready/);
    assert.match(err.message, /fatal: no disk/);
    return true;
  });
});

test('a server that never becomes ready times out with its name and log, and is stopped', async (t) => {
  const dir = scratch(t);
  const proc = new ManagedProcess({ name: 'slow-server', command: '/bin/sh', args: ['-c', 'echo "waiting for godot"; exec sleep 60'], logFile: path.join(dir, 'slow.log') });
  t.after(() => proc.stop());
  const t0 = Date.now();
  await assert.rejects(waitReady(proc, async () => false, 800), /slow-server: not ready after 1s[\s\S]*waiting for godot/);
  assert.ok(Date.now() - t0 < 5000);
  await proc.stop(1000);
  assert.equal(isAlive(proc.pid), false);
});

test('freePort hands out distinct ports below the ephemeral range, which outgoing connections never get', async () => {
  const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  const ports = await Promise.all(Array.from({ length: 30 }, () => freePort()));
  assert.equal(new Set(ports).size, ports.length, `distinct: ${ports.join(', ')}`);
  for (const port of ports) assert.ok(port >= 20000 && port < ephemeralStart, `${port} below ${ephemeralStart}`);
  // and each is free: a server can listen on it
  for (const port of ports) {
    const srv = createServer().listen(port, '127.0.0.1');
    await new Promise((resolve, reject) => srv.once('listening', resolve).once('error', reject));
    await new Promise((resolve) => srv.close(resolve));
  }
});

test('a port clash surfaces as the server failing, not as a hang', async (t) => {
  const dir = scratch(t);
  const port = await occupiedPort(t);
  const server = `require('node:net').createServer().listen(${port}, '127.0.0.1').on('error', (e) => { console.error(e.message); process.exit(1); })`;
  const proc = new ManagedProcess({ name: 'clashing-server', command: process.execPath, args: ['-e', server], logFile: path.join(dir, 'clash.log') });
  await assert.rejects(waitReady(proc, async () => false, 20_000), /clashing-server: exited with code 1[\s\S]*EADDRINUSE/);
});

test('a server whose port was taken before it bound is started again on a new port; other failures are not retried', async (t) => {
  const dir = scratch(t);
  // The first port it is given is taken by the time it binds, as when another process got it first.
  const taken = await occupiedPort(t);
  const ports = [taken];
  const servers: ManagedProcess[] = [];
  t.after(() => Promise.all(servers.map((s) => s.stop())));
  const start = async () => {
    const port = ports.length > servers.length ? ports[servers.length]! : await freePort();
    const script = `require('node:http').createServer((q, r) => r.end('mine')).listen(${port}, '127.0.0.1').on('error', (e) => { console.error(e.message); process.exit(1); })`;
    const proc = new ManagedProcess({ name: 'server', command: process.execPath, args: ['-e', script], logFile: path.join(dir, `server-${servers.length}.log`) });
    servers.push(proc);
    // Ready once it answers as itself: the blocker accepts connections but never answers.
    await waitReady(proc, async () => fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(300) }).then(async (r) => (await r.text()) === 'mine', () => false), 20_000);
    return port;
  };
  const retried: string[] = [];
  const port = await retryOnPortClash(start, (err) => retried.push((err as Error).message));
  assert.notEqual(port, taken);
  assert.equal(retried.length, 1);
  assert.match(retried[0]!, /EADDRINUSE/);
  // Any other failure ends the start at once.
  let calls = 0;
  await assert.rejects(retryOnPortClash(async () => { calls++; throw new Error('server: exited with code 1: no disk'); }, () => {}), /no disk/);
  assert.equal(calls, 1);
});

test('stop() escalates to SIGKILL for a server that ignores SIGTERM, and takes its children', async (t) => {
  const dir = scratch(t);
  const pidFile = path.join(dir, 'child.pid');
  const proc = new ManagedProcess({
    name: 'stubborn', command: '/bin/sh',
    args: ['-c', `trap '' TERM; sleep 300 & echo $! > ${pidFile}; while :; do sleep 0.1; done`],
    logFile: path.join(dir, 'stubborn.log'),
  });
  await waitReady(proc, async () => readFileSync(pidFile, 'utf8').trim() !== '', 5000);
  const grandchild = Number(readFileSync(pidFile, 'utf8'));
  const t0 = Date.now();
  await proc.stop(500);
  assert.ok(Date.now() - t0 >= 450, 'SIGTERM alone should not have stopped it');
  await sleep(200);
  assert.equal(isAlive(proc.pid), false);
  assert.equal(isAlive(grandchild), false, 'a child of the server survived');
});

test('when the starting process is SIGKILLed, the watchdog kills its servers', async (t) => {
  const dir = scratch(t);
  const pidFile = path.join(dir, 'server.pid');
  // A parent that starts a server (and the server a child of its own), reports, then waits forever.
  const parentScript = path.join(dir, 'parent.ts');
  writeFileSync(parentScript, `
import { ManagedProcess } from ${JSON.stringify(path.join(import.meta.dirname, 'process.ts'))};
const p = new ManagedProcess({ name: 'orphan-candidate', command: '/bin/sh', args: ['-c', 'sleep 300 & echo $$ $! > ${pidFile}; wait'], logFile: ${JSON.stringify(path.join(dir, 'server.log'))}, graceSeconds: 1 });
setInterval(() => {}, 1000);
`);
  const parent = spawn(process.execPath, [parentScript], { stdio: 'ignore' });
  t.after(() => parent.kill('SIGKILL'));
  let pids: number[] = [];
  for (let i = 0; i < 100 && pids.length < 2; i++) {
    await sleep(100);
    try {
      pids = readFileSync(pidFile, 'utf8').trim().split(' ').map(Number);
    } catch {
      // not yet
    }
  }
  assert.equal(pids.length, 2, 'the server did not start');
  for (const pid of pids) assert.ok(isAlive(pid));
  parent.kill('SIGKILL');
  let alive = pids;
  for (let i = 0; i < 50 && alive.length > 0; i++) {
    await sleep(100);
    alive = pids.filter(isAlive);
  }
  assert.deepEqual(alive, [], 'processes outlived their parent');
});

test('a server that died during the run fails the tests that use it, naming it, and only those', async (t) => {
  const { recordFailure } = await import('./environment.ts');
  const { testEnv, ENDPOINTS_ENV } = await import('./endpoints.ts');
  const dir = scratch(t);
  const file = path.join(dir, 'endpoints.json');
  writeFileSync(file, JSON.stringify({ kubeconfig: '/k', s3: { endpoint: 'http://127.0.0.1:1' }, gcs: { endpoint: 'http://127.0.0.1:2' }, bin: '/b' }));
  const saved = process.env[ENDPOINTS_ENV];
  process.env[ENDPOINTS_ENV] = file;
  t.after(() => { if (saved === undefined) delete process.env[ENDPOINTS_ENV]; else process.env[ENDPOINTS_ENV] = saved; });
  recordFailure(file, ['s3'], 'minio exited with code 2 during the run\n--- last lines ---\nERROR disk full');
  const env = testEnv();
  assert.throws(() => env.s3.endpoint, /test environment: minio exited with code 2 during the run[\s\S]*disk full/);
  assert.equal(env.gcs.endpoint, 'http://127.0.0.1:2');
  assert.equal(env.kubeconfig, '/k');
});
