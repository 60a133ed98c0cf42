// `datasync run`: plan in this process, one child process per shard (restarted on a crash up to
// retry.backoffLimitPerShard, as a Job's backoffLimitPerIndex), then commit here.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunReport } from '../api/types.ts';
import type { Logger } from './log.ts';
import { buildOptions } from './options.ts';
import { commitWith, openRun, planWith } from './phases.ts';
import { writeRunConfig, type RunConfig } from './runtime/run-config.ts';
import { EXIT_CONFIG, EXIT_FILES_FAILED, EXIT_OK } from './runtime/exit-codes.ts';
import { ProgressBoard, startProgressRenderer } from './runtime/progress.ts';
import type { ShardProgress } from './copy/worker.ts';
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
  // One set of backends for plan and commit in this process: the SDK clients are built once and
  // the commit reuses the plan's connections (the shards are other processes with their own).
  const opened = await openRun(cfg);
  const dir = mkdtempSync(path.join(tmpdir(), 'datasync-run-'));
  const configFile = path.join(dir, 'run.json');
  try {
    writeRunConfig(configFile, cfg);
    const plan = await planWith(opened, cfg, startTime, opts.log);
    opts.log.info({ runId: cfg.runId, totals: plan.totals }, 'planned');
    const board = new ProgressBoard();
    for (const s of plan.shards) board.update({ shard: s.index, filesTotal: s.files, filesDone: 0, bytesTotal: s.bytes, bytesDone: 0, filesSkipped: 0, filesFailed: 0, transferring: 0 });
    const stop = startProgressRenderer(board, process.stderr, { quiet: opts.quiet || plan.totals.filesToCopy === 0 });
    let priorError: string | undefined;
    try {
      const results = await Promise.all(plan.shards.filter((s) => s.files > 0).map((s) => runShardChild(s.index, configFile, options.backoffLimitPerShard, board, opts)));
      const failures = results.filter((r) => r !== undefined);
      if (failures.length) priorError = failures.join('; ');
    } finally {
      stop();
    }
    return await commitWith(opened, cfg, opts.log, priorError);
  } finally {
    await opened.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs one shard to completion; returns an error message if it could not finish. */
async function runShardChild(shard: number, configFile: string, backoffLimit: number, board: ProgressBoard, opts: LocalRunOptions): Promise<string | undefined> {
  for (let attempt = 1; ; attempt++) {
    const child = fork(opts.cliScript, ['worker', 'copy', '--run-config', configFile, '--shard', String(shard)], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, DATASYNC_WORKER_ATTEMPT: String(attempt) },
    });
    opts.log.info({ shard, pid: child.pid, attempt }, 'shard worker started');
    child.on('message', (m: { type?: string; progress?: ShardProgress }) => {
      if (m?.type === 'progress' && m.progress) board.update(m.progress);
    });
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('exit', (c, s) => resolve({ code: c, signal: s }));
    });
    if (code === EXIT_OK || code === EXIT_FILES_FAILED) return undefined;
    if (code === EXIT_CONFIG) return `shard ${shard} stopped on a configuration error (see the log above)`;
    const why = signal ? `killed by ${signal}` : `exit code ${code}`;
    if (attempt > backoffLimit) return `shard ${shard} failed ${attempt} times (last: ${why}); raise retry.backoffLimitPerShard or see the log`;
    opts.log.warn({ shard, attempt, why }, 'shard worker died; restarting, it resumes from its journal');
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
