// The three phases as the worker commands and `datasync run` call them: build options from the
// run config once, open the backends, run the phase, close.
import type { Backend } from './backends/backend.ts';
import { openBackend } from './backends/index.ts';
import { buildOptions, type RunOptions } from './options.ts';
import type { RunConfig } from './runtime/run-config.ts';
import type { Logger } from './log.ts';
import type { RunReport } from '../api/types.ts';
import type { Plan } from './plan/manifest.ts';
import type { ShardProgress, ShardSummary } from './copy/worker.ts';
// Each phase's module is imported when that phase runs: a shard worker loads neither the planner
// nor the committer.

export interface Opened {
  options: RunOptions;
  source: Backend;
  destination: Backend;
  state: Backend;
  close(): Promise<void>;
}

export async function openRun(cfg: RunConfig): Promise<Opened> {
  const options = buildOptions(cfg.spec);
  const source = await openBackend(options.source, 'source', { partSize: options.partSize });
  const destination = await openBackend(options.destination, 'destination', { partSize: options.partSize });
  const stateIsDestination = JSON.stringify(options.state.endpoint) === JSON.stringify(options.destination);
  const state = stateIsDestination ? destination : await openBackend(options.state.endpoint, 'state', { partSize: options.partSize });
  return {
    options, source, destination, state,
    async close() {
      await Promise.allSettled([source.close(), destination.close(), state === destination ? undefined : state.close()]);
    },
  };
}

async function withRun<T>(cfg: RunConfig, fn: (o: Opened) => Promise<T>): Promise<T> {
  const opened = await openRun(cfg);
  try {
    return await fn(opened);
  } finally {
    await opened.close();
  }
}

export function planPhase(cfg: RunConfig, startTime?: string, log?: Logger): Promise<Plan> {
  return withRun(cfg, (o) => planWith(o, cfg, startTime, log));
}

/** The plan phase on backends the caller opened (`datasync run` keeps them for the commit). */
export async function planWith(o: Opened, cfg: RunConfig, startTime?: string, log?: Logger, onShardHasWork?: (shard: number) => void): Promise<Plan> {
  const { writePlan } = await import('./plan/planner.ts');
  return writePlan({
    runId: cfg.runId, trigger: cfg.trigger, options: o.options, source: o.source, destination: o.destination, state: o.state, ...(startTime ? { startTime } : {}),
    ...(cfg.asOf ? { now: Date.parse(cfg.asOf) } : {}), log, onShardHasWork,
  });
}

/**
 * `planned`, for a worker started before its plan was written: resolves true once it is, false if
 * the run ends without work for this shard; the worker loads and opens its backends meanwhile, and
 * copies nothing (resolving to undefined) on false.
 */
export function copyPhase(cfg: RunConfig, shard: number, log: Logger, onProgress?: (p: ShardProgress) => void): Promise<ShardSummary>;
export function copyPhase(cfg: RunConfig, shard: number, log: Logger, onProgress: ((p: ShardProgress) => void) | undefined, planned: Promise<boolean> | undefined): Promise<ShardSummary | undefined>;
export function copyPhase(cfg: RunConfig, shard: number, log: Logger, onProgress?: (p: ShardProgress) => void, planned?: Promise<boolean>): Promise<ShardSummary | undefined> {
  return withRun(cfg, async (o) => {
    const { runShard } = await import('./copy/worker.ts');
    if (planned && !(await planned)) return undefined;
    return runShard({ runId: cfg.runId, shard, options: o.options, source: o.source, destination: o.destination, state: o.state, log, ...(onProgress ? { onProgress } : {}) });
  });
}

export function commitPhase(cfg: RunConfig, log: Logger, priorError?: string): Promise<RunReport> {
  return withRun(cfg, (o) => commitWith(o, cfg, log, priorError));
}

export async function commitWith(o: Opened, cfg: RunConfig, log: Logger, priorError?: string): Promise<RunReport> {
  const { runCommit } = await import('./commit/committer.ts');
  return runCommit({ runId: cfg.runId, options: o.options, source: o.source, destination: o.destination, state: o.state, log, ...(priorError ? { priorError } : {}) });
}
