// `datasync run -f spec.yaml` when the spec has `watch`: the CLI hands over here. Each pass is a
// full local run (runLocally) with a fresh run id, trigger Watch, and the pass's start as its
// "as of" time; each pass notifies like a single run would.
import type { DataSyncSpec, RunReport } from '../../api/types.ts';
import type { Logger } from '../log.ts';
import { failedReport, runLocally } from '../local-run.ts';
import { newRunId, type RunConfig } from '../runtime/run-config.ts';
import { notifyAfterRun, type NotifyFlags } from '../notify/cli.ts';
import { stopOnSignals, watchLocally } from './local.ts';
import type { Clock } from './clock.ts';

export interface WatchCommandInput {
  spec: DataSyncSpec;
  name?: string | undefined;
  cliScript: string;
  log: Logger;
  quiet: boolean;
  maxPasses?: number | undefined;
  notifyFlags?: NotifyFlags;
  clock?: Clock;
}

/** Returns the exit code: 0 when stopped normally, 3 on a config error, 1 when the last pass failed. */
export async function runWatchCommand(input: WatchCommandInput): Promise<number> {
  const stop = stopOnSignals();
  let last: RunReport | undefined;
  try {
    const result = await watchLocally({
      spec: input.spec,
      newRunId: (at) => newRunId(at),
      ...(input.maxPasses === undefined ? {} : { maxPasses: input.maxPasses }),
      ...(input.clock ? { clock: input.clock } : {}),
      signal: stop.signal,
      emit: (line) => process.stdout.write(`${line}\n`),
      runPass: async ({ runId, asOfMs }) => {
        const cfg: RunConfig = { runId, trigger: 'Watch', ...(input.name ? { name: input.name } : {}), spec: input.spec, asOf: new Date(asOfMs).toISOString() };
        try {
          last = await runLocally(cfg, { quiet: input.quiet, log: input.log, cliScript: input.cliScript });
        } catch (err) {
          // A pass that could not even plan (source unreachable, ...) is a failed pass, not the end.
          last = { ...failedReport(runId, new Date(asOfMs).toISOString(), err), trigger: 'Watch' };
          if ((err as { side?: string })?.side === 'config') throw err;
        }
        return last;
      },
      afterPass: async (report) => {
        // An idle pass (nothing planned) is not worth a notification every interval.
        if (report.filesExpected === 0 && report.filesDeleted === 0 && report.outcome === 'Succeeded') return;
        await notifyAfterRun(report, input.spec.notify, input.notifyFlags);
      },
    });
    if (result.stoppedBy === 'fatal') {
      process.stderr.write(`datasync: watch stopped: ${result.fatalError ?? 'configuration error'}\n`);
      return 3;
    }
    return last && last.outcome === 'Failed' ? 1 : 0;
  } finally {
    stop.dispose();
  }
}
