// Start and stop of the real servers: free 127.0.0.1 ports, one data directory each, a log file each,
// readiness with a timeout, and teardown that leaves no process behind, even when this process is
// killed. Every server is started through a tiny shell watchdog (WATCHDOG below) in its own process
// group: the watchdog holds the read end of a pipe whose write end only this process has, so when
// this process exits for any reason (normal end, Ctrl-C, SIGKILL) the pipe closes and the watchdog
// kills the whole group: SIGTERM, then SIGKILL once the server is gone or after a grace period.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// $1 is the grace in tenths of a second; the rest is the command. fd 3 is the pipe to the parent.
// `exec` keeps the server's pid equal to the group id, so `kill -SIG -$$` reaches it and its children
// (dash, the /bin/sh here, takes no `--` in kill).
const WATCHDOG = `
exec 3<&0
( trap '' TERM INT
  read -r _ <&3
  kill -TERM -$$ 2>/dev/null
  i=0; while [ $i -lt "$1" ] && kill -0 $$ 2>/dev/null; do sleep 0.1; i=$((i+1)); done
  kill -KILL -$$ 2>/dev/null ) &
shift
exec "$@" </dev/null 3<&-
`;

export interface StartOptions {
  /** Shown in every error, e.g. "minio". */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  /** Seconds the watchdog waits after SIGTERM before SIGKILL when the parent dies. */
  graceSeconds?: number;
  /** How long stop() waits after SIGTERM before SIGKILL (default 5s). */
  stopGraceMs?: number;
}

export class ServerError extends Error {
  constructor(name: string, message: string, logFile: string) {
    super(`${name}: ${message}\n--- last lines of ${logFile} ---\n${tailOf(logFile)}`);
    this.name = 'ServerError';
  }
}

export function tailOf(file: string, lines = 25): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n').trimEnd() || '(log is empty)';
  } catch {
    return '(no log written)';
  }
}

/** A process in its own group, watched so it dies with us. */
export class ManagedProcess {
  readonly name: string;
  readonly logFile: string;
  readonly child: ChildProcess;
  readonly pid: number;
  exitCode: number | null = null;
  signal: NodeJS.Signals | null = null;
  readonly exited: Promise<void>;
  private stopping = false;
  private readonly stopGraceMs: number;

  constructor(options: StartOptions) {
    this.name = options.name;
    this.logFile = options.logFile;
    this.stopGraceMs = options.stopGraceMs ?? 5000;
    mkdirSync(path.dirname(options.logFile), { recursive: true });
    const log = openSync(options.logFile, 'a');
    const grace = String(Math.round((options.graceSeconds ?? 5) * 10));
    try {
      this.child = spawn('/bin/sh', ['-c', WATCHDOG, 'watchdog', grace, options.command, ...options.args], {
        detached: true,
        stdio: ['pipe', log, log],
        env: options.env ?? process.env,
        cwd: options.cwd,
      });
    } finally {
      closeSync(log);
    }
    if (this.child.pid === undefined) throw new ServerError(this.name, `could not start ${options.command}`, this.logFile);
    this.pid = this.child.pid;
    liveProcesses.add(this);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitCode = code;
        this.signal = signal;
        liveProcesses.delete(this);
        // The server is gone: closing the pipe lets the watchdog clear anything it left in its group.
        this.child.stdin?.destroy();
        resolve();
      });
    });
    this.child.on('error', () => {});
    this.child.stdin?.on('error', () => {});
    // The parent must not wait for the watchdog's pipe or the child to exit.
    this.child.unref();
    (this.child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }

  get running(): boolean {
    return this.exitCode === null && this.signal === null;
  }

  describeExit(): string {
    return this.signal ? `exited on ${this.signal}` : `exited with code ${this.exitCode}`;
  }

  /** Send a signal to the whole process group. */
  kill(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.pid, signal);
    } catch {
      // already gone
    }
  }

  /** SIGTERM to the group, SIGKILL after graceMs; resolves once the server has exited. */
  async stop(graceMs = this.stopGraceMs): Promise<void> {
    // Hold the event loop open until the exit is seen (the child is normally unref'd).
    this.child.ref();
    if (this.stopping) return this.exited;
    this.stopping = true;
    if (!this.running) {
      this.kill('SIGKILL');
      return;
    }
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    // Anything the server forked and left in its group.
    this.kill('SIGKILL');
  }
}

const liveProcesses = new Set<ManagedProcess>();

/** Synchronous last resort on exit: kill every group still alive. */
function killAllNow(): void {
  for (const p of liveProcesses) p.kill('SIGKILL');
}
process.on('exit', killAllNow);

/**
 * Poll `check` until it resolves true. Fails with the server's name and log tail on timeout or when
 * the process exits first.
 */
export async function waitReady(proc: ManagedProcess, check: () => Promise<boolean>, timeoutMs: number, what = 'ready'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    if (!proc.running) throw new ServerError(proc.name, `${proc.describeExit()} before it was ${what}`, proc.logFile);
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      throw new ServerError(proc.name, `not ${what} after ${Math.round(timeoutMs / 1000)}s${lastError ? ` (last check: ${lastError})` : ''}`, proc.logFile);
    }
    await sleep(150);
  }
}

/** True when an HTTP GET answers with the expected status (any status when omitted). */
export async function httpAnswers(url: string, expect?: (status: number) => boolean): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000), redirect: 'manual' });
  await res.arrayBuffer();
  return expect ? expect(res.status) : true;
}

/**
 * A port free on 127.0.0.1 right now, and likely to stay free until its server binds it. It is
 * drawn below the kernel's ephemeral range: ports in that range are also handed to outgoing
 * connections and to servers that bind port 0, and one of those took the MiniCluster's HTTP port
 * during its JVM's start-up ("Failed to bind to localhost/127.0.0.1:37237", a red CI run). Ports
 * handed out by this process are not handed out again. A server that still loses a race fails
 * with its log, and startEnvironment starts it again on new ports.
 */
export async function freePort(): Promise<number> {
  const [floor, ceiling] = [PRIVATE_FLOOR, ephemeralStart()];
  for (let tries = 0; ceiling - floor >= 1000 && tries < 100; tries++) {
    const port = floor + Math.floor(Math.random() * (ceiling - floor));
    if (handedOut.has(port)) continue;
    handedOut.add(port); // before the check, so that concurrent calls cannot both pick it
    if (await canListen(port)) return port;
  }
  return listenOnAnyPort(); // no room below the ephemeral range: the kernel's choice
}

/** What a server's log says when its port was taken (Go, Node, Java). */
const PORT_CLASH = /EADDRINUSE|address already in use|BindException/i;

/**
 * Runs a server's start (which draws its ports with freePort) again when it failed because a port
 * was taken before the server bound it; any other failure, or a third clash, is thrown.
 */
export async function retryOnPortClash<T>(start: () => Promise<T>, onRetry: (err: unknown) => void, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (attempt >= attempts || !PORT_CLASH.test(err instanceof Error ? err.message : String(err))) throw err;
      onRetry(err);
    }
  }
}

/** Where the ports freePort draws from start: above the usual fixed ports of local services. */
const PRIVATE_FLOOR = 20000;
const handedOut = new Set<number>();

function ephemeralStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768; // Linux's default
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function listenOnAnyPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

const RUNS_ROOT = path.join(os.tmpdir(), 'datasync-env');

/**
 * A fresh directory for this run's data and logs: <tmp>/datasync-env/<pid>-<time>. Directories of
 * runs whose process is gone (killed before it could clean up) are removed first.
 */
export function makeRunDir(): string {
  mkdirSync(RUNS_ROOT, { recursive: true });
  for (const entry of readdirSync(RUNS_ROOT)) {
    const pid = Number(entry.split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    if (pid !== process.pid && !isAlive(pid)) {
      const dir = path.join(RUNS_ROOT, entry);
      // A directory younger than a minute may belong to a run that is just starting in another pid namespace.
      try {
        if (Date.now() - statSync(dir).mtimeMs > 60_000) rmSync(dir, { recursive: true, force: true });
      } catch {
        // raced with another cleaner
      }
    }
  }
  const dir = path.join(RUNS_ROOT, `${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** True while the process exists and is not a zombie awaiting its reaper. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
