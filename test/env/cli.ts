// `npm run env:up` / `npm run env:down`: the same environment as the tests, kept running for
// interactive use. `up` provisions, starts a detached supervisor and waits until everything is
// ready; the supervisor writes .datasync-env/endpoints.json and stays until `down`.
//   node test/env/cli.ts up | down | status
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { INTERACTIVE_ENDPOINTS, type TestEndpoints } from './endpoints.ts';
import { startEnvironment } from './environment.ts';
import { isAlive, tailOf } from './process.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const STATE_DIR = path.dirname(INTERACTIVE_ENDPOINTS);
const PID_FILE = path.join(STATE_DIR, 'env.pid');
const LOG_FILE = path.join(STATE_DIR, 'env.log');

function runningPid(): number | undefined {
  try {
    const pid = Number(readFileSync(PID_FILE, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function summary(e: TestEndpoints): string {
  return [
    `kubeconfig  ${e.kubeconfig}`,
    `s3          ${e.s3.endpoint} (access key ${e.s3.accessKeyId})`,
    `gcs         ${e.gcs.endpoint}`,
    `webhdfs     ${e.webhdfs.url} (user ${e.webhdfs.user})`,
    `azure       ${e.azure.endpoint}`,
    `bin         ${e.bin}`,
    `pod runner  node ${e.podRunner?.nodeName ?? '?'}, host root ${e.podRunner?.hostRoot ?? '?'}`,
    `logs        ${e.logs ?? '?'}`,
    '',
    `endpoints:  ${INTERACTIVE_ENDPOINTS}`,
    `try:        kubectl --kubeconfig ${e.kubeconfig} get nodes`,
    'stop with:  npm run env:down',
  ].join('\n');
}

async function up(): Promise<number> {
  const existing = runningPid();
  if (existing) {
    process.stdout.write(`env: already up (pid ${existing})\n`);
    if (existsSync(INTERACTIVE_ENDPOINTS)) process.stdout.write(summary(JSON.parse(readFileSync(INTERACTIVE_ENDPOINTS, 'utf8')) as TestEndpoints) + '\n');
    return 0;
  }
  const provision = spawnSync('bash', [path.join(REPO, 'test/env/provision.sh')], { stdio: 'inherit' });
  if (provision.status !== 0) return provision.status ?? 1;
  mkdirSync(STATE_DIR, { recursive: true });
  rmSync(INTERACTIVE_ENDPOINTS, { force: true });
  rmSync(PID_FILE, { force: true });
  const log = openSync(LOG_FILE, 'w');
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'cli.ts'), 'serve'], { detached: true, stdio: ['ignore', log, log], cwd: REPO });
  child.unref();
  const t0 = Date.now();
  while (Date.now() - t0 < 240_000) {
    await sleep(250);
    if (child.exitCode !== null || (child.pid !== undefined && !isAlive(child.pid))) {
      process.stderr.write(`env: the environment failed to start; last lines of ${LOG_FILE}:\n${tailOf(LOG_FILE, 40)}\n`);
      return 1;
    }
    if (existsSync(INTERACTIVE_ENDPOINTS) && runningPid() === child.pid) {
      const endpoints = JSON.parse(readFileSync(INTERACTIVE_ENDPOINTS, 'utf8')) as TestEndpoints;
      process.stdout.write(`env: up in ${((Date.now() - t0) / 1000).toFixed(1)}s (pid ${child.pid}, log ${LOG_FILE})\n${summary(endpoints)}\n`);
      return 0;
    }
  }
  process.stderr.write(`env: not up after 240s; see ${LOG_FILE}\n`);
  if (child.pid) process.kill(child.pid, 'SIGTERM');
  return 1;
}

async function serve(): Promise<void> {
  const env = await startEnvironment({
    endpointsFile: INTERACTIVE_ENDPOINTS,
    log: (m) => process.stdout.write(`${new Date().toISOString()} ${m}\n`),
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${new Date().toISOString()} ${signal}: stopping\n`);
    rmSync(INTERACTIVE_ENDPOINTS, { force: true });
    void env.stop().finally(() => {
      rmSync(env.runDir, { recursive: true, force: true });
      rmSync(PID_FILE, { force: true });
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => stop('SIGHUP'));
  // `up` waits for this pid file next to a fresh endpoints file.
  writeFileSync(PID_FILE, `${process.pid}\n`);
  process.stdout.write(`${new Date().toISOString()} up; endpoints in ${INTERACTIVE_ENDPOINTS}\n`);
  setInterval(() => {}, 1 << 30);
}

async function down(): Promise<number> {
  const pid = runningPid();
  if (!pid) {
    process.stdout.write('env: not running\n');
    rmSync(PID_FILE, { force: true });
    rmSync(INTERACTIVE_ENDPOINTS, { force: true });
    return 0;
  }
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 150 && isAlive(pid); i++) await sleep(100);
  if (isAlive(pid)) {
    // Its servers' watchdogs take them down once it is gone.
    process.kill(pid, 'SIGKILL');
    process.stderr.write(`env: supervisor ${pid} did not stop in 15s; killed\n`);
  }
  rmSync(PID_FILE, { force: true });
  rmSync(INTERACTIVE_ENDPOINTS, { force: true });
  process.stdout.write('env: down\n');
  return 0;
}

const command = process.argv[2];
switch (command) {
  case 'up': process.exitCode = await up(); break;
  case 'serve': await serve(); break;
  case 'down': process.exitCode = await down(); break;
  case 'status': {
    const pid = runningPid();
    process.stdout.write(pid && existsSync(INTERACTIVE_ENDPOINTS)
      ? `env: up (pid ${pid})\n${summary(JSON.parse(readFileSync(INTERACTIVE_ENDPOINTS, 'utf8')) as TestEndpoints)}\n`
      : 'env: not running\n');
    break;
  }
  default:
    process.stderr.write('usage: node test/env/cli.ts up|down|status\n');
    process.exitCode = 2;
}
