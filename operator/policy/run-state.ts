// What state is a run in? Derived only from the observed Jobs and pods of that run (VolSync: phase
// from observed status, never from remembered state), so a restarted operator sees the same thing.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { FailedFile, RunReport, ShardStatus, CurrentRun } from '../../api/types.ts';
import { ANNOTATION_PLAN, ANNOTATION_PROGRESS, LABEL_STEP, type Step } from '../names.ts';

export const EXIT_CONFIG_ERROR = 3;
export const EXIT_FILES_FAILED = 4;
const COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';
export const FAILED_FILES_SAMPLE = 20;

export interface PlanResult { files: number; bytes: number; shards: number; partitions?: number }

/** A worker's final summary (termination message), parsed leniently: every field is optional. */
export interface WorkerSummary {
  filesCopied?: number; bytesCopied?: number; filesSkipped?: number; bytesSkipped?: number;
  filesFailed?: number; bytesFailed?: number; filesDeleted?: number; bytesDeleted?: number;
  filesExpected?: number; bytesExpected?: number;
  /** A copy pod's: what earlier pods of its shard finished, which it found in the journal. */
  filesResumed?: number; bytesResumed?: number;
  failedFiles?: FailedFile[];
  error?: string;
  raw: Record<string, unknown>;
}

/** The live progress a copy pod writes into its own annotation. */
export interface ShardProgress {
  filesDone: number; filesTotal: number; bytesDone: number; bytesTotal: number;
  filesSkipped: number; filesFailed: number; filesCopied?: number; bytesCopied?: number;
  /** Set with filesCopied and bytesCopied: those count this pod's copies, these what earlier pods of its shard finished. */
  filesResumed?: number; bytesResumed?: number;
  /** When the pod wrote this (ms since the epoch), if it said. */
  updatedAtMs?: number;
}

/** Keeps the end of a long path (the file name tells most) so messages stay readable and bounded. */
export function shortPath(p: string, max = 160): string {
  return p.length <= max ? p : `…${p.slice(p.length - max + 1)}`;
}

export type JobState = 'Active' | 'Complete' | 'Failed';
export function jobState(job: V1Job | undefined): JobState | undefined {
  if (!job) return undefined;
  const conds = job.status?.conditions ?? [];
  if (conds.some((c) => c.type === 'Complete' && c.status === 'True')) return 'Complete';
  if (conds.some((c) => c.type === 'Failed' && c.status === 'True')) return 'Failed';
  return 'Active';
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function parseJson(text: string | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function terminated(pod: V1Pod): { exitCode: number; message?: string; reason?: string } | undefined {
  const cs = pod.status?.containerStatuses?.[0];
  const t = cs?.state?.terminated ?? cs?.lastState?.terminated;
  if (!t) return undefined;
  return { exitCode: t.exitCode, ...(t.message ? { message: t.message } : {}), ...(t.reason ? { reason: t.reason } : {}) };
}

function errorText(raw: Record<string, unknown>): string | undefined {
  const e = raw['error'];
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object') {
    const o = e as Record<string, unknown>;
    const msg = typeof o['message'] === 'string' ? o['message'] : JSON.stringify(o);
    return typeof o['endpoint'] === 'string' && !msg.includes(o['endpoint']) ? `${o['endpoint']}: ${msg}` : msg;
  }
  return typeof raw['message'] === 'string' && raw['outcome'] === undefined ? raw['message'] : undefined;
}

export function parseSummary(text: string | undefined): WorkerSummary | undefined {
  const raw = parseJson(text);
  if (!raw) return text ? { error: text.slice(0, 512), raw: {} } : undefined;
  const body = (raw['report'] && typeof raw['report'] === 'object' ? raw['report'] : raw) as Record<string, unknown>;
  const out: WorkerSummary = { raw: body };
  for (const k of ['filesCopied', 'bytesCopied', 'filesSkipped', 'bytesSkipped', 'filesFailed', 'bytesFailed', 'filesDeleted', 'bytesDeleted', 'filesExpected', 'bytesExpected', 'filesResumed', 'bytesResumed'] as const) {
    const v = num(body[k]);
    if (v !== undefined) out[k] = v;
  }
  if (Array.isArray(body['failedFiles'])) {
    out.failedFiles = (body['failedFiles'] as unknown[]).flatMap((f) => {
      const o = f as Record<string, unknown> | null;
      return o && typeof o['path'] === 'string' ? [{ path: o['path'], error: typeof o['error'] === 'string' ? o['error'] : String(o['error'] ?? 'failed') }] : [];
    });
  }
  const err = errorText(raw);
  if (err) out.error = err;
  return out;
}

/** The plan worker's totals: `{files, bytes, shards}` at the top level or under `planned`/`plan`. */
export function parsePlanResult(text: string | undefined): PlanResult | undefined {
  const raw = parseJson(text);
  if (!raw) return undefined;
  const body = (['planned', 'plan'].map((k) => raw[k]).find((v) => v && typeof v === 'object') ?? raw) as Record<string, unknown>;
  const shards = num(body['shards']);
  if (shards === undefined) return undefined;
  // Shards carry the files to copy; files skipped at plan time are not part of the copy progress.
  const files = num(body['filesToCopy']) ?? num(body['files']) ?? num(body['filesExpected']) ?? 0;
  const bytes = num(body['bytesToCopy']) ?? num(body['bytes']) ?? num(body['bytesExpected']) ?? 0;
  const partitions = num(body['partitions']);
  return { files, bytes, shards: Math.max(0, Math.floor(shards)), ...(partitions !== undefined ? { partitions } : {}) };
}

export function parseProgress(pod: V1Pod): ShardProgress | undefined {
  const raw = parseJson(pod.metadata?.annotations?.[ANNOTATION_PROGRESS]);
  if (!raw) return undefined;
  const n = (k: string): number => num(raw[k]) ?? 0;
  const p: ShardProgress = { filesDone: n('filesDone'), filesTotal: n('filesTotal'), bytesDone: n('bytesDone'), bytesTotal: n('bytesTotal'), filesSkipped: n('filesSkipped'), filesFailed: n('filesFailed') };
  for (const k of ['filesCopied', 'bytesCopied', 'filesResumed', 'bytesResumed'] as const) {
    const v = num(raw[k]);
    if (v !== undefined) p[k] = v;
  }
  const at = typeof raw['updatedAt'] === 'string' ? Date.parse(raw['updatedAt']) : NaN;
  if (Number.isFinite(at)) p.updatedAtMs = at;
  return p;
}

function finishedAtMs(pod: V1Pod): number | undefined {
  const cs = pod.status?.containerStatuses?.[0];
  const at = (cs?.state?.terminated ?? cs?.lastState?.terminated)?.finishedAt;
  const ms = at === undefined ? NaN : new Date(at as unknown as string).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

/** "1,3-5" (Job status.failedIndexes) → {1,3,4,5} */
export function parseIndexSet(text: string | undefined): Set<number> {
  const out = new Set<number>();
  for (const part of (text ?? '').split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || Number.isNaN(a)) continue;
    for (let i = a; i <= (b ?? a); i++) out.add(i);
  }
  return out;
}

export interface RunObjects { jobs: Partial<Record<Step, V1Job>>; pods: Partial<Record<Step, V1Pod[]>> }

export function groupRunObjects(jobs: V1Job[], pods: V1Pod[]): RunObjects {
  const out: RunObjects = { jobs: {}, pods: {} };
  for (const j of jobs) {
    const step = j.metadata?.labels?.[LABEL_STEP] as Step | undefined;
    if (step) out.jobs[step] = j;
  }
  for (const p of pods) {
    const step = p.metadata?.labels?.[LABEL_STEP] as Step | undefined;
    if (step) (out.pods[step] ??= []).push(p);
  }
  return out;
}

const byCreation = (a: V1Pod, b: V1Pod): number =>
  new Date(a.metadata?.creationTimestamp ?? 0).getTime() - new Date(b.metadata?.creationTimestamp ?? 0).getTime();

/** The most telling failure of a step: a worker's error text, else the Job's condition message. */
export function failureMessage(step: Step, job: V1Job | undefined, pods: V1Pod[] = []): string {
  for (const pod of [...pods].sort(byCreation).reverse()) {
    const t = terminated(pod);
    if (!t || t.exitCode === 0) continue;
    const s = parseSummary(t.message);
    const what = t.exitCode === EXIT_CONFIG_ERROR ? 'configuration error' : t.exitCode === EXIT_FILES_FAILED ? 'files failed' : `exit code ${t.exitCode}`;
    const detail = s?.error ?? s?.failedFiles?.map((f) => `${shortPath(f.path)}: ${f.error}`).slice(0, 3).join('; ');
    return `${step} step failed (${what})${detail ? `: ${detail}` : ''}`;
  }
  const cond = job?.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
  return `${step} step failed${cond?.message ? `: ${cond.message}` : cond?.reason ? `: ${cond.reason}` : ''}`;
}

export type RunStage =
  | { kind: 'NeedPlan' }
  | { kind: 'Planning' }
  | { kind: 'NeedCopy'; plan: PlanResult }
  | { kind: 'Copying'; plan: PlanResult }
  | { kind: 'NeedCommit'; plan: PlanResult }
  | { kind: 'Publishing'; plan: PlanResult }
  | { kind: 'Succeeded'; plan: PlanResult; commit: WorkerSummary | undefined }
  | { kind: 'Failed'; plan: PlanResult | undefined; message: string };

export function planOf(objs: RunObjects): PlanResult | undefined {
  const fromCopy = parsePlanResult(objs.jobs.copy?.metadata?.annotations?.[ANNOTATION_PLAN]);
  if (fromCopy) return fromCopy;
  for (const pod of objs.pods.plan ?? []) {
    const t = terminated(pod);
    if (t?.exitCode === 0) {
      const plan = parsePlanResult(t.message);
      if (plan) return plan;
    }
  }
  return undefined;
}

export function runStage(objs: RunObjects): RunStage {
  const { jobs, pods } = objs;
  const plan = jobState(jobs.plan);
  if (!plan) return jobs.copy || jobs.commit ? stageAfterPlan(objs) : { kind: 'NeedPlan' };
  if (plan === 'Active') return { kind: 'Planning' };
  if (plan === 'Failed') return { kind: 'Failed', plan: undefined, message: failureMessage('plan', jobs.plan, pods.plan) };
  return stageAfterPlan(objs);
}

function stageAfterPlan(objs: RunObjects): RunStage {
  const { jobs, pods } = objs;
  const plan = planOf(objs);
  if (!plan) return { kind: 'Failed', plan: undefined, message: 'plan step finished without a result (no {files, bytes, shards} in its termination message)' };
  const copy = jobState(jobs.copy);
  if (plan.shards > 0 || copy) {
    if (!copy) return { kind: 'NeedCopy', plan };
    if (copy === 'Active') return { kind: 'Copying', plan };
    if (copy === 'Failed') return { kind: 'Failed', plan, message: failureMessage('copy', jobs.copy, pods.copy) };
  }
  const commit = jobState(jobs.commit);
  if (!commit) return { kind: 'NeedCommit', plan };
  if (commit === 'Active') return { kind: 'Publishing', plan };
  if (commit === 'Failed') return { kind: 'Failed', plan, message: failureMessage('commit', jobs.commit, pods.commit) };
  const done = (pods.commit ?? []).map(terminated).find((t) => t?.exitCode === 0);
  return { kind: 'Succeeded', plan, commit: parseSummary(done?.message) };
}

/** Per-shard status and run totals from the copy pods (the newest pod of each index wins). */
export function shardStatuses(plan: PlanResult, copyJob: V1Job | undefined, copyPods: V1Pod[]): ShardStatus[] {
  const failed = parseIndexSet(copyJob?.status?.failedIndexes);
  const succeeded = parseIndexSet(copyJob?.status?.completedIndexes);
  const byIndex = new Map<number, V1Pod[]>();
  for (const pod of copyPods) {
    const idx = Number(pod.metadata?.annotations?.[COMPLETION_INDEX] ?? pod.metadata?.labels?.[COMPLETION_INDEX]);
    if (!Number.isInteger(idx)) continue;
    byIndex.set(idx, [...(byIndex.get(idx) ?? []), pod]);
  }
  const out: ShardStatus[] = [];
  for (let index = 0; index < plan.shards; index++) {
    const podsOfIndex = (byIndex.get(index) ?? []).sort(byCreation);
    const latest = podsOfIndex.at(-1);
    // The newest report: a retried pod has none until its first, and the shard's counts should not
    // drop to zero while it starts (seconds here, longer where an image is pulled).
    const progress = podsOfIndex.map(parseProgress).filter((p) => p !== undefined).at(-1);
    const done = succeeded.has(index) || podsOfIndex.some((p) => p.status?.phase === 'Succeeded');
    const state: ShardStatus['state'] = done ? 'Succeeded' : failed.has(index) ? 'Failed' : latest?.status?.phase === 'Running' ? 'Running' : 'Pending';
    const filesTotal = progress?.filesTotal ?? 0;
    const bytesTotal = progress?.bytesTotal ?? 0;
    out.push({
      index, state,
      filesDone: done ? Math.max(progress?.filesDone ?? 0, filesTotal) : progress?.filesDone ?? 0,
      filesTotal,
      bytesDone: done ? Math.max(progress?.bytesDone ?? 0, bytesTotal) : progress?.bytesDone ?? 0,
      bytesTotal,
      attempts: podsOfIndex.length,
    });
  }
  return out;
}

/**
 * Run totals over the newest pod of each shard that has reported: its progress annotation, or its
 * final summary once it exited. A retried pod counts from its first report; until then its
 * predecessor's last report stands, so the totals do not dip while it starts.
 */
export function runProgress(plan: PlanResult, copyJob: V1Job | undefined, copyPods: V1Pod[], now: Date): NonNullable<CurrentRun['progress']> {
  // Each pod's report parsed once: which pod stands for its shard depends on it, and so do the totals.
  const newest = new Map<string, { pod: V1Pod; summary: WorkerSummary | undefined; p: ShardProgress | undefined }>();
  for (const pod of [...copyPods].sort(byCreation)) {
    const summary = parseSummary(terminated(pod)?.message);
    const p = parseProgress(pod);
    if (summary?.filesCopied !== undefined || p) newest.set(pod.metadata?.annotations?.[COMPLETION_INDEX] ?? pod.metadata?.name ?? '', { pod, summary, p });
  }
  let filesCopied = 0, bytesCopied = 0, filesSkipped = 0, filesFailed = 0, bytesDone = 0, filesDone = 0;
  // The rate is taken as of the newest report, not the reconcile's clock: then an unchanged set of
  // reports gives an unchanged status, and the reconcile that follows our own status write (its
  // watch event) writes nothing. Timed by `now`, status changed on every reconcile and the
  // operator rewrote it about every 100 ms during a copy.
  let asOfMs: number | undefined;
  for (const { pod, summary, p } of newest.values()) {
    const reportedAt = summary ? finishedAtMs(pod) : p?.updatedAtMs;
    if (reportedAt !== undefined) asOfMs = Math.max(asOfMs ?? 0, reportedAt);
    // A pod's summary counts its own copies; what earlier pods of its shard copied in this run
    // (resumed from the journal) is copied too, as the commit's report will say.
    if (summary && summary.filesCopied !== undefined) {
      const copied = summary.filesCopied + (summary.filesResumed ?? 0);
      const bytes = (summary.bytesCopied ?? 0) + (summary.bytesResumed ?? 0);
      filesCopied += copied;
      bytesCopied += bytes;
      filesSkipped += summary.filesSkipped ?? 0;
      filesFailed += summary.filesFailed ?? 0;
      bytesDone += bytes + (summary.bytesSkipped ?? 0) + (summary.bytesFailed ?? 0);
      filesDone += copied + (summary.filesSkipped ?? 0) + (summary.filesFailed ?? 0);
    } else if (p) {
      const copied = p.filesCopied !== undefined ? p.filesCopied + (p.filesResumed ?? 0) : Math.max(0, p.filesDone - p.filesSkipped - p.filesFailed);
      filesCopied += copied;
      bytesCopied += p.bytesCopied !== undefined ? p.bytesCopied + (p.bytesResumed ?? 0) : p.bytesDone;
      filesSkipped += p.filesSkipped;
      filesFailed += p.filesFailed;
      bytesDone += p.bytesDone;
      filesDone += p.filesDone;
    }
  }
  const percent = plan.bytes > 0 ? (100 * bytesDone) / plan.bytes : plan.files > 0 ? (100 * filesDone) / plan.files : 0;
  const started = copyJob?.status?.startTime ? new Date(copyJob.status.startTime).getTime() : now.getTime();
  const seconds = Math.max(1, ((asOfMs ?? now.getTime()) - started) / 1000);
  const bytesPerSecond = Math.round(bytesCopied / seconds);
  const remaining = Math.max(0, plan.bytes - bytesDone);
  return {
    filesCopied, bytesCopied, filesSkipped, filesFailed,
    percent: Math.min(100, Math.round(percent * 10) / 10),
    bytesPerSecond,
    ...(bytesPerSecond > 0 ? { etaSeconds: Math.round(remaining / bytesPerSecond) } : {}),
  };
}

/** Failed files named by the copy pods' summaries (a bounded sample). */
export function failedFilesOf(copyPods: V1Pod[]): FailedFile[] {
  const seen = new Map<string, FailedFile>();
  for (const pod of [...copyPods].sort(byCreation)) {
    for (const f of parseSummary(terminated(pod)?.message)?.failedFiles ?? []) seen.set(f.path, f);
  }
  return [...seen.values()].slice(0, FAILED_FILES_SAMPLE);
}

/** The final report: the commit worker's report where present, completed with the operator's own totals. */
export function buildReport(args: {
  id: string; trigger: RunReport['trigger']; startTime: string; now: Date; outcome: RunReport['outcome'];
  plan: PlanResult | undefined; copyJob: V1Job | undefined; copyPods: V1Pod[]; commit: WorkerSummary | undefined; message?: string;
}): RunReport {
  const { plan, commit, now } = args;
  const progress = plan ? runProgress(plan, args.copyJob, args.copyPods, now) : undefined;
  const c = commit ?? { raw: {} };
  const failedFiles = (c.failedFiles ?? failedFilesOf(args.copyPods)).slice(0, FAILED_FILES_SAMPLE);
  const filesFailed = c.filesFailed ?? progress?.filesFailed ?? 0;
  const outcome: RunReport['outcome'] = args.outcome === 'Succeeded' && filesFailed > 0 ? 'PartiallyFailed' : args.outcome;
  const start = new Date(args.startTime);
  const rawOutcome = c.raw['outcome'];
  const report: RunReport = {
    id: args.id,
    ...(args.trigger ? { trigger: args.trigger } : {}),
    outcome: args.outcome === 'Succeeded' && (rawOutcome === 'PartiallyFailed' || rawOutcome === 'Failed') ? rawOutcome : outcome,
    startTime: args.startTime,
    endTime: now.toISOString(),
    durationSeconds: Math.max(0, Math.round((now.getTime() - start.getTime()) / 1000)),
    filesExpected: c.filesExpected ?? plan?.files ?? 0,
    filesCopied: c.filesCopied ?? progress?.filesCopied ?? 0,
    filesSkipped: c.filesSkipped ?? progress?.filesSkipped ?? 0,
    filesFailed,
    filesDeleted: c.filesDeleted ?? 0,
    bytesExpected: c.bytesExpected ?? plan?.bytes ?? 0,
    bytesCopied: c.bytesCopied ?? progress?.bytesCopied ?? 0,
    bytesSkipped: c.bytesSkipped ?? 0,
    bytesFailed: c.bytesFailed ?? 0,
    bytesDeleted: c.bytesDeleted ?? 0,
    failedFiles,
  };
  const message = args.message ?? (typeof c.raw['message'] === 'string' ? c.raw['message'] : undefined);
  if (message) report.message = message.slice(0, 1024);
  const parts = c.raw['partitions'] as RunReport['partitions'] | undefined;
  if (parts && Array.isArray(parts.published) && Array.isArray(parts.waiting) && Array.isArray(parts.skipped)) report.partitions = parts;
  if (typeof c.raw['watermark'] === 'string') report.watermark = c.raw['watermark'];
  const retries = c.raw['retries'];
  if (retries && typeof retries === 'object') report.retries = retries as NonNullable<RunReport['retries']>;
  // The commit pod sends the webhook itself (it holds the Secret) and reports what became of it.
  const notify = c.raw['notify'] as { state?: unknown; attempts?: unknown; reason?: unknown; error?: unknown } | undefined;
  if (notify && typeof notify.state === 'string') {
    report.notification = {
      state: notify.state as NonNullable<RunReport['notification']>['state'],
      ...(typeof notify.attempts === 'number' ? { attempts: notify.attempts } : {}),
      ...(typeof notify.reason === 'string' ? { reason: notify.reason } : {}),
      ...(typeof notify.error === 'string' ? { error: notify.error.slice(0, 512) } : {}),
    };
  }
  return report;
}
