// `datasync run`: plan in this process, one child process per shard (restarted on a crash up to
// retry.backoffLimitPerShard, as a Job's backoffLimitPerIndex), then commit here. A shard's first
// worker starts while the plan is made and waits for it (runtime/prestart.ts).
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunReport } from '../api/types.ts';
import type { Logger } from './log.ts';
import { buildOptions } from './options.ts';
import { commitWith, openRun, planWith, type Opened } from './phases.ts';
import { writeRunConfig, type RunConfig } from './runtime/run-config.ts';
import { EXIT_CONFIG, EXIT_FILES_FAILED, EXIT_OK } from './runtime/exit-codes.ts';
import { ProgressBoard, startProgressRenderer } from './runtime/progress.ts';
import type { ShardProgress } from './copy/worker.ts';
import type { PlannedMessage, WaitingMessage } from './runtime/prestart.ts';
import { DataSyncError } from './errors.ts';

export interface LocalRunOptions {
  quiet: boolean;
  log: Logger;
  /** The script that starts this CLI, re-used to start shard workers. */
  cliScript: string;
}

export async function runLocally(cfg: RunConfig, opts: LocalRunOptions): Promise<RunReport> {
  const options = buildOptions(cfg.spec);
  const startTime = new Date().toISOString();
  const dir = mkdtempSync(path.join(tmpdir(), 'datasync-run-'));
  const configFile = path.join(dir, 'run.json');
  // Each shard's worker starts as soon as the planner gives that shard a file (runtime/prestart.ts).
  const prestarted = new Map<number, ShardProcess>();
  const prestart = (shard: number) => prestarted.set(shard, new ShardProcess(shard, configFile, 1, opts, { afterPlan: true }));
  let opened: Opened | undefined;
  try {
    writeRunConfig(configFile, cfg);
    // One set of backends for plan and commit in this process: the SDK clients are built once and
    // the commit reuses the plan's connections (the shards are other processes with their own).
    opened = await openRun(cfg);
    const plan = await planWith(opened, cfg, startTime, opts.log, prestart);
    opts.log.info({ runId: cfg.runId, totals: plan.totals }, 'planned');
    const board = new ProgressBoard();
    for (const s of plan.shards) board.update({ shard: s.index, filesTotal: s.files, filesDone: 0, bytesTotal: s.bytes, bytesDone: 0, filesSkipped: 0, filesFailed: 0, transferring: 0 });
    const stop = startProgressRenderer(board, process.stderr, { quiet: opts.quiet || plan.totals.filesToCopy === 0 });
    let priorError: string | undefined;
    try {
      const results = await Promise.all(plan.shards.filter((s) => s.files > 0).map((s) => {
        const first = prestarted.get(s.index);
        prestarted.delete(s.index);
        first?.release(true);
        return runShardChild(s.index, configFile, options.backoffLimitPerShard, board, opts, first);
      }));
      const failures = results.filter((r) => r !== undefined);
      if (failures.length) priorError = failures.join('; ');
    } finally {
      stop();
    }
    return await commitWith(opened, cfg, opts.log, priorError);
  } finally {
    // Workers the run did not use (planning failed): tell them to stop, and wait, so none outlives the run.
    await Promise.all([...prestarted.values()].map((p) => { p.release(false); return p.exited; }));
    await opened?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** One shard worker process: its exit, its progress, and (when prestarted) the go-ahead it waits for. */
class ShardProcess {
  readonly exited: Promise<Exit>;
  onProgress: ((p: ShardProgress) => void) | undefined;
  readonly #child: ChildProcess;
  readonly #waiting: Promise<void>;

  constructor(shard: number, configFile: string, attempt: number, opts: LocalRunOptions, { afterPlan }: { afterPlan: boolean }) {
    this.#child = fork(opts.cliScript, ['worker', 'copy', '--run-config', configFile, '--shard', String(shard), ...(afterPlan ? ['--after-plan'] : [])], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, DATASYNC_WORKER_ATTEMPT: String(attempt) },
    });
    opts.log.info({ shard, workerPid: this.#child.pid, attempt, afterPlan }, 'shard worker started');
    this.exited = new Promise((resolve) => this.#child.on('exit', (code, signal) => resolve({ code, signal })));
    this.#waiting = new Promise((resolve) => {
      this.#child.on('message', (m: WaitingMessage | { type?: string; progress?: ShardProgress }) => {
        if (m?.type === 'waiting') resolve();
        else if (m?.type === 'progress' && 'progress' in m && m.progress) this.onProgress?.(m.progress);
      });
    });
  }

  /** Tells a prestarted worker the plan is written (copy) or that the run has no work for it. */
  release(copy: boolean): void {
    void this.#waiting.then(() => {
      if (this.#child.connected) this.#child.send({ type: 'planned', copy } satisfies PlannedMessage, () => {});
    });
  }
}

/**
 * Runs one shard to completion, restarting its worker on a crash; returns an error message if it
 * could not finish. `first`, if given, is the worker prestarted for it during the plan.
 */
async function runShardChild(shard: number, configFile: string, backoffLimit: number, board: ProgressBoard, opts: LocalRunOptions, first?: ShardProcess): Promise<string | undefined> {
  for (let attempt = 1; ; attempt++) {
    const worker = attempt === 1 && first ? first : new ShardProcess(shard, configFile, attempt, opts, { afterPlan: false });
    worker.onProgress = (p) => board.update(p);
    const { code, signal } = await worker.exited;
    if (code === EXIT_OK || code === EXIT_FILES_FAILED) return undefined;
    if (code === EXIT_CONFIG) return `shard ${shard} stopped on a configuration error (see the log above)`;
    const why = signal ? `killed by ${signal}` : `exit code ${code}`;
    if (attempt > backoffLimit) return `shard ${shard} failed ${attempt} times (last: ${why}); raise retry.backoffLimitPerShard or see the log`;
    opts.log.warn({ shard, attempt, why }, 'shard worker died; restarting, it resumes from its journal');
    board.restarted(shard);
  }
}

export function failedReport(runId: string, startTime: string, err: unknown): RunReport {
  const end = new Date();
  return {
    id: runId, trigger: 'Cli', outcome: 'Failed', startTime, endTime: end.toISOString(),
    durationSeconds: Math.max(0, Math.round((end.getTime() - Date.parse(startTime)) / 100) / 10),
    filesExpected: 0, filesCopied: 0, filesSkipped: 0, filesFailed: 0, filesDeleted: 0,
    bytesExpected: 0, bytesCopied: 0, bytesSkipped: 0, bytesFailed: 0, bytesDeleted: 0,
    failedFiles: [], message: err instanceof DataSyncError || err instanceof Error ? err.message : String(err),
  };
}
