// The `datasync` command line. Local runs (`run`, `plan`, `validate`) and the worker commands the
// operator runs in Job pods (`worker plan|copy|commit`), per docs/design.md.
import { parseArgs } from 'node:util';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DataSyncSpec, RunReport } from '../api/types.ts';
import { createLogger, type Logger } from './log.ts';
import { buildOptions, loadManifest, validateSpec } from './options.ts';
import { newRunId, readRunConfig, type RunConfig } from './runtime/run-config.ts';
import { EXIT_CONFIG, EXIT_FILES_FAILED, EXIT_OK, EXIT_OTHER, exitCodeFor } from './runtime/exit-codes.ts';
import { writeTerminationLog } from './runtime/termination-log.ts';
import { commitPhase, copyPhase, openRun, planPhase } from './phases.ts';
import type { ShardProgress } from './copy/worker.ts';
import { DataSyncError } from './errors.ts';
// Each command imports what only it needs when it runs (`await import`): a shard worker is a new
// process per shard and per retry, and the planner, watch loop, notifier and YAML parser it never
// uses were a third of its start-up CPU.

const USAGE = `usage:
  datasync run -f sync.yaml [--report out.json] [--quiet]   plan, copy with shard workers, commit; JSON report on stdout
      [--as-of ISO-TIME]         plan as of this time (filters.minAge, partitions.lookback); env DATASYNC_AS_OF
      [--webhook-url URL | --webhook-url-file FILE]   notify.webhook's URL locally; env DATASYNC_WEBHOOK_URL
      [--passes N]               with spec.watch: stop after N passes (default: until SIGINT/SIGTERM);
                                 each pass prints one JSON line {pass, retries, report}
  datasync plan -f sync.yaml [--json]                       dry run: what would be copied, skipped, deleted, and why
  datasync validate -f sync.yaml                            check a manifest (a DataSync object or a bare spec)
  datasync worker plan|copy|commit --run-config FILE [--shard N]   one phase of a run (used by the operator's Jobs)

Relative filesystem paths in a manifest are resolved against the manifest file's directory.
Logs are JSON on stderr (DATASYNC_LOG_LEVEL: debug|info|warn|error; default warn for run/plan).`;

export async function main(argv: string[], cliScript: string): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run': return await runCommand(rest, cliScript);
      case 'plan': return await planCommand(rest);
      case 'validate': return await validateCommand(rest);
      case 'worker': return await workerCommand(rest);
      case undefined: case '-h': case '--help': case 'help':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? EXIT_CONFIG : EXIT_OK;
      default:
        process.stderr.write(`datasync: unknown command '${command}'\n${USAGE}\n`);
        return EXIT_CONFIG;
    }
  } catch (err) {
    process.stderr.write(`datasync: ${describe(err)}\n`);
    return exitCodeFor(err);
  }
}

function describe(err: unknown): string {
  if (err instanceof DataSyncError) return err.message;
  if (err instanceof Error) return err.stack ?? err.message;
  return String(err);
}

function parse(args: string[], options: NonNullable<Parameters<typeof parseArgs>[0]>['options']) {
  try {
    return parseArgs({ args, options: options ?? {}, allowPositionals: true, strict: true });
  } catch (err) {
    throw new DataSyncError(`${(err as Error).message}\n${USAGE}`, { code: 'InvalidConfig', side: 'config' });
  }
}

function manifestArg(values: Record<string, unknown>): string {
  const file = values['file'];
  if (typeof file !== 'string') throw new DataSyncError(`-f FILE is required\n${USAGE}`, { code: 'InvalidConfig', side: 'config' });
  return file;
}

function outcomeExitCode(report: RunReport): number {
  if (report.outcome === 'Succeeded') return EXIT_OK;
  if (report.outcome === 'PartiallyFailed') return EXIT_FILES_FAILED;
  return /maxDelete guard tripped/.test(report.message ?? '') ? EXIT_CONFIG : EXIT_OTHER;
}

async function runCommand(args: string[], cliScript: string): Promise<number> {
  const { values } = parse(args, {
    file: { type: 'string', short: 'f' }, report: { type: 'string' }, quiet: { type: 'boolean', short: 'q' }, 'run-id': { type: 'string' },
    // as-of time, webhook URL, watch passes
    'as-of': { type: 'string' }, 'webhook-url': { type: 'string' }, 'webhook-url-file': { type: 'string' }, passes: { type: 'string' },
  });
  const log = createLogger('datasync', process.env['DATASYNC_LOG_LEVEL'] ?? 'warn');
  process.env['DATASYNC_LOG_LEVEL'] ??= 'warn';
  const { spec, name } = loadManifest(manifestArg(values));
  // watch mode, "as of" time and notifications (copier/watch, copier/notify).
  const notifyFlags = { webhookUrl: values['webhook-url'] as string | undefined, webhookUrlFile: values['webhook-url-file'] as string | undefined };
  if (spec.watch) {
    buildOptions(spec); // a bad spec fails before the first pass
    const passes = values['passes'] === undefined ? undefined : Number(values['passes']);
    if (passes !== undefined && (!Number.isInteger(passes) || passes < 1)) throw new DataSyncError(`--passes must be a positive integer`, { code: 'InvalidConfig', side: 'config' });
    const { runWatchCommand } = await import('./watch/run-command.ts');
    return runWatchCommand({ spec, name, cliScript, log, quiet: values['quiet'] === true, maxPasses: passes, notifyFlags });
  }
  const asOfText = (values['as-of'] as string | undefined) ?? process.env['DATASYNC_AS_OF'];
  if (asOfText !== undefined && Number.isNaN(Date.parse(asOfText))) throw new DataSyncError(`--as-of '${asOfText}' is not an ISO 8601 time`, { code: 'InvalidConfig', side: 'config' });
  const cfg: RunConfig = {
    runId: (values['run-id'] as string | undefined) ?? newRunId(), trigger: 'Cli', ...(name ? { name } : {}), spec,
    ...(asOfText ? { asOf: new Date(asOfText).toISOString() } : {}),
  };
  const startTime = new Date().toISOString();
  const { failedReport, runLocally } = await import('./local-run.ts');
  const { notifyAfterRun } = await import('./notify/cli.ts');
  let report: RunReport;
  let code: number;
  try {
    report = await runLocally(cfg, { quiet: values['quiet'] === true, log, cliScript });
    code = outcomeExitCode(report);
  } catch (err) {
    report = failedReport(cfg.runId, startTime, err);
    code = exitCodeFor(err);
  }
  await notifyAfterRun(report, spec.notify, notifyFlags); // never changes the exit code
  const json = JSON.stringify(report, null, 2);
  if (typeof values['report'] === 'string') writeFileSync(values['report'], `${json}\n`);
  process.stdout.write(`${json}\n`);
  if (report.outcome !== 'Succeeded' && report.message && code !== EXIT_OK) process.stderr.write(`datasync: ${report.outcome}: ${report.message}\n`);
  return code;
}

async function planCommand(args: string[]): Promise<number> {
  const { values } = parse(args, { file: { type: 'string', short: 'f' }, json: { type: 'boolean' } });
  const { spec } = loadManifest(manifestArg(values));
  const [{ planDecisions }, { openIndex }, { checkDeleteGuard }] = await Promise.all([import('./plan/planner.ts'), import('./plan/mtime-index.ts'), import('./commit/guard.ts')]);
  const opened = await openRun({ runId: 'dry-run', trigger: 'Cli', spec });
  const counts = { copy: 0, skip: 0, delete: 0, keep: 0, filtered: 0, copyBytes: 0, destination: 0, sourceInScope: 0 };
  try {
    // The destination's recorded-mtime index answers for the objects it describes, as in a run
    // (read only here): the same decisions without a HEAD per unchanged object.
    const index = opened.destination.features.listModTimeIsUploadTime ? openIndex(opened.state, opened.options.state.prefix, opened.destination.location) : undefined;
    for await (const p of planDecisions(opened.options, opened.source, opened.destination, undefined, undefined, index)) {
      const a = p.decision.action;
      counts[a]++;
      if (a === 'copy') counts.copyBytes += p.src!.size;
      if (a === 'copy' || a === 'skip') counts.sourceInScope++;
      if (p.dst && a !== 'filtered') counts.destination++;
      const line = values['json'] ? `${JSON.stringify({ action: a, path: p.path, reason: p.decision.reason, size: p.src?.size ?? p.dst?.size })}\n` : `${a.padEnd(8)} ${p.path}  (${p.decision.reason})\n`;
      // Waits for a pipe to take it: planning outruns a reader, and unwritten lines would pile up in memory.
      if (!process.stdout.write(line)) await once(process.stdout, 'drain');
    }
  } finally {
    await opened.close();
  }
  const o = opened.options;
  const summary = `would copy ${counts.copy} files (${counts.copyBytes} bytes), skip ${counts.skip}, delete ${counts.delete}, leave ${counts.keep + counts.filtered} alone`;
  const guard = o.mode === 'Sync' ? checkDeleteGuard('destination files', counts.delete, counts.destination, o.maxDelete)
    : o.mode === 'Move' ? checkDeleteGuard('source files', counts.sourceInScope, counts.sourceInScope, o.maxDelete) : undefined;
  process.stderr.write(`datasync plan: ${summary}${guard && !guard.allowed ? `\ndatasync plan: ${guard.message?.replace('nothing was deleted', 'a run would delete nothing')}` : ''}\n`);
  return EXIT_OK;
}

async function validateCommand(args: string[]): Promise<number> {
  const { values } = parse(args, { file: { type: 'string', short: 'f' } });
  const file = manifestArg(values);
  const { spec } = loadManifest(file);
  const fromSchema = await schemaProblems(spec);
  // Where the CRD schema already flagged a field, its own message is enough.
  const flagged = new Set(fromSchema.map((p) => p.split(':')[0]));
  const problems = [...fromSchema, ...validateSpec(spec).filter((p) => !flagged.has(p.split(':')[0]))];
  if (problems.length) {
    process.stderr.write(`${file}: invalid\n${[...new Set(problems)].map((p) => `  - ${p}`).join('\n')}\n`);
    return EXIT_CONFIG;
  }
  process.stdout.write(`${file}: valid\n`);
  return EXIT_OK;
}

/** The CRD's own schema, when api/schema.ts is there to give it. */
async function schemaProblems(spec: DataSyncSpec): Promise<string[]> {
  const schemaFile = path.resolve(import.meta.dirname, '../api/schema.ts');
  const compiled = path.resolve(import.meta.dirname, '../api/schema.js');
  const file = existsSync(compiled) ? compiled : existsSync(schemaFile) ? schemaFile : undefined;
  if (!file) return [];
  const mod = (await import(pathToFileURL(file).href)) as { dataSyncSchema?: Record<string, unknown>; toJsonSchema?: (s: never) => Record<string, unknown> };
  if (!mod.dataSyncSchema) return [];
  // toJsonSchema turns the CRD dialect (int-or-string, x-kubernetes-*) into plain JSON Schema.
  const schema = mod.toJsonSchema ? mod.toJsonSchema(mod.dataSyncSchema as never) : mod.dataSyncSchema;
  type AjvError = { instancePath: string; message?: string; params?: { allowedValues?: unknown[]; additionalProperty?: string } };
  const { Ajv } = (await import('ajv')) as unknown as { Ajv: new (o: object) => { compile(s: object): ((d: unknown) => boolean) & { errors?: AjvError[] | null } } };
  const ajv = new Ajv({ allErrors: true, strict: false });
  // The schema may describe the whole object or only the spec.
  const props = (schema['properties'] as Record<string, object> | undefined) ?? {};
  const target = props['spec'] && !props['source'] ? props['spec'] : schema;
  const validate = ajv.compile(target);
  if (validate(spec)) return [];
  return (validate.errors ?? []).map((e) => {
    const where = e.instancePath.replace(/^\//, '').replaceAll('/', '.') || 'spec';
    const extra = e.params?.allowedValues ? ` (${e.params.allowedValues.join(', ')})` : e.params?.additionalProperty ? ` '${e.params.additionalProperty}'` : '';
    return `${where}: ${e.message ?? 'invalid'}${extra}`;
  });
}

async function workerCommand(args: string[]): Promise<number> {
  const [phase, ...rest] = args;
  const { values } = parse(rest, { 'run-config': { type: 'string' }, shard: { type: 'string' }, 'after-plan': { type: 'boolean' } });
  const file = values['run-config'];
  if (typeof file !== 'string') throw new DataSyncError(`--run-config FILE is required\n${USAGE}`, { code: 'InvalidConfig', side: 'config' });
  const cfg = readRunConfig(file);
  const log = createLogger(`datasync-${phase ?? 'worker'}`);
  buildOptions(cfg.spec); // fail fast (exit 3) on a bad spec, before touching any endpoint
  try {
    switch (phase) {
      case 'plan': {
        const plan = await planPhase(cfg);
        const summary = { phase: 'plan', runId: cfg.runId, ...plan.totals, shards: plan.shards.length };
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        writeTerminationLog(summary);
        return EXIT_OK;
      }
      case 'copy': {
        const shardText = (values['shard'] as string | undefined) ?? process.env['JOB_COMPLETION_INDEX'];
        const shard = Number(shardText);
        if (shardText === undefined || !Number.isInteger(shard) || shard < 0) throw new DataSyncError(`--shard N (or JOB_COMPLETION_INDEX) must be a shard index, got '${shardText}'`, { code: 'InvalidConfig', side: 'config' });
        // Locally the parent `datasync run` draws the progress; in a pod it goes to our pod's annotation.
        const send = process.send?.bind(process);
        // Started by `datasync run` while it plans (runtime/prestart.ts): wait for the plan before copying.
        const planned = values['after-plan'] === true && send ? (await import('./runtime/prestart.ts')).awaitPlanned() : undefined;
        // Loaded only in pods: the Kubernetes client is heavy for local runs.
        const pod = send ? undefined : (await import('./progress/pod-annotation.ts')).createPodProgressReporter({ onError: (err) => log.warn({ err: (err as Error).message }, 'progress annotation patch failed') });
        const onProgress = (p: ShardProgress) => {
          if (send) send({ type: 'progress', progress: p });
          else { pod!.report({ ...p }); log.debug({ progress: p }, 'progress'); }
        };
        let summary;
        try {
          summary = await copyPhase(cfg, shard, log, onProgress, planned);
          if (!summary) return EXIT_OK; // the run ended without work for this prestarted shard
          pod?.report({ ...summary, failedFiles: undefined });
        } finally {
          await pod?.close();
        }
        const out = { phase: 'copy', runId: cfg.runId, ...summary };
        process.stdout.write(`${JSON.stringify(out)}\n`);
        writeTerminationLog(out);
        return summary.filesFailed > 0 ? EXIT_FILES_FAILED : EXIT_OK;
      }
      case 'commit': {
        const report = await commitPhase(cfg, log);
        // the commit pod holds the notify Secret; the result rides in the termination
        // log so the operator sets Degraded (reason WebhookFailed/WebhookRejected) without the URL.
        const notify = await (await import('./notify/cli.ts')).notifyAfterRun(report, cfg.spec.notify);
        process.stdout.write(`${JSON.stringify(report)}\n`);
        writeTerminationLog({ phase: 'commit', ...report, notify });
        return outcomeExitCode(report);
      }
      default:
        throw new DataSyncError(`unknown worker phase '${phase}': use plan, copy or commit`, { code: 'InvalidConfig', side: 'config' });
    }
  } catch (err) {
    log.error({ err: describe(err), code: (err as DataSyncError).code, side: (err as DataSyncError).side }, 'worker failed');
    writeTerminationLog({ phase, runId: cfg.runId, error: describe(err).slice(0, 2000) });
    throw err;
  }
}

// Run directly (`node copier/cli.ts ...`), as well as through bin/datasync.js.
if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2), fileURLToPath(import.meta.url));
}
