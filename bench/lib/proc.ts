// Runs one timed tool invocation: wall time, exit code, peak RSS and CPU time. Both come from GNU
// time (`/usr/bin/time -f '%M %U %S'`), which reports the largest resident set, and the user and
// system time, of the process tree it waited for (a tool's worker processes included). Peak RSS is
// the figure B4 compares and CPU time what B2 reports per file; neither costs the timed path anything.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Keep at most this many bytes of stdout/stderr (tools like rclone can be chatty). */
  keepBytes?: number;
}

export interface RunResult {
  command: string;
  exitCode: number | null;
  wallMs: number;
  peakRssKiB: number | null;
  /** User plus system CPU time of the tool and every process it waited for; null without GNU time. */
  cpuMs: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const TIME_BIN = '/usr/bin/time';
const live = new Set<number>();
// A bench killed mid-run must not leave a tool copying in the background.
process.on('exit', () => {
  for (const pid of live) {
    try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
  }
});

export async function runTimed(command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const keep = opts.keepBytes ?? 64 * 1024;
  const rssFile = path.join(os.tmpdir(), `bench-rss-${process.pid}-${randomBytes(4).toString('hex')}`);
  const useTime = existsSync(TIME_BIN);
  const [cmd, argv] = useTime ? [TIME_BIN, ['-q', '-f', '%M %U %S', '-o', rssFile, command, ...args]] : [command, args];
  const started = process.hrtime.bigint();
  // detached: own process group, so a timeout kills the tool and every worker it forked.
  const child = spawn(cmd, argv, { env: opts.env ?? process.env, cwd: opts.cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) live.add(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { if (stdout.length < keep) stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { if (stderr.length < keep) stderr += d.toString(); });
  let timedOut = false;
  const timer = opts.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        try { process.kill(-(child.pid ?? 0), 'SIGKILL'); } catch { /* gone */ }
      }, opts.timeoutMs)
    : undefined;
  const exitCode = await new Promise<number | null>((resolve) => {
    child.on('error', (err) => { stderr += String(err); resolve(127); });
    child.on('close', (code) => resolve(code));
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (timer) clearTimeout(timer);
  if (child.pid !== undefined) live.delete(child.pid);
  let peakRssKiB: number | null = null;
  let cpuMs: number | null = null;
  if (useTime) {
    try {
      // The last line: GNU time puts a note such as "Command exited with non-zero status" before it.
      const lines = readFileSync(rssFile, 'utf8').trim().split('\n');
      const [rss, user, system] = (lines[lines.length - 1] ?? '').trim().split(/\s+/).map(Number);
      if (rss !== undefined && Number.isFinite(rss) && rss > 0) peakRssKiB = rss;
      if (user !== undefined && system !== undefined && Number.isFinite(user) && Number.isFinite(system)) cpuMs = (user + system) * 1000;
    } catch { /* the tool never started */ }
    rmSync(rssFile, { force: true });
  }
  return { command: [command, ...args].join(' '), exitCode, wallMs, peakRssKiB, cpuMs, stdout, stderr, timedOut };
}

/** A short description of a failed run for the table's notes. */
export function failureNote(r: RunResult): string {
  const tail = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ').slice(0, 300);
  return r.timedOut ? `timed out after ${Math.round(r.wallMs / 1000)}s` : `exit ${r.exitCode}: ${tail}`;
}
