// The level-triggered reconcile of one DataSync: read the DataSync and the Jobs and pods it owns,
// work out what should exist, create what is missing under deterministic names, and write status
// only when it changed. It never asks which event woke it up, so it is safe to run any number of
// times, after any crash.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { DataSync, DataSyncStatus, RunReport, CurrentRun } from '../api/types.ts';
import { GROUP, VERSION, PLURAL } from '../api/types.ts';
import { MERGE_PATCH, createIfAbsent, errorMessage, ignoreNotFound, isNotFound, type Kube } from './kube.ts';
import {
  ANNOTATION_RUN_META, COPIER_CLUSTER_ROLE, COPIER_ROLE_BINDING, COPIER_SERVICE_ACCOUNT, FINALIZER, LABEL_MANAGED_BY,
  LABEL_NAME, LABEL_RUN, MANAGED_BY, dataSyncLabelValue, runObjectName,
} from './names.ts';
import { decideTrigger, type RunMeta } from './policy/trigger.ts';
import {
  buildReport, groupRunObjects, runProgress, runStage, shortPath, shardStatuses, type RunObjects, type RunStage,
} from './policy/run-state.ts';
import { Reasons, appendHistory, jsonEqual, phaseOf, redact, setCondition, statusMergePatch, summary } from './policy/status.ts';
import { runConfigMap, runJob, type CopierDefaults } from './resources.ts';
import { emitEvent, type RunEvent } from './events.ts';
import type { Metrics } from './metrics.ts';

export interface ReconcilerDeps {
  kube: Kube;
  log: Logger;
  clock: () => Date;
  copier: CopierDefaults;
  metrics: Metrics;
  instance: string;
  /** How long the finalizer waits for Jobs and pods to go before it lets the DataSync go anyway. */
  finalizerTimeoutMs?: number;
  /** Requeue interval while a run is active (progress also arrives through the pod watch). */
  activeResyncMs?: number;
}

export interface ReconcileResult { requeueAfterMs?: number }

interface ObservedRun { id: string; meta: RunMeta | undefined; objects: RunObjects; stage: RunStage; jobs: V1Job[] }

const DEFAULT_HISTORY_LIMIT = 10;
const TERMINAL = new Set(['Succeeded', 'Failed']);

export async function reconcile(deps: ReconcilerDeps, namespace: string, name: string): Promise<ReconcileResult> {
  const { kube, log } = deps;
  let ds: DataSync;
  try {
    ds = (await kube.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name })) as DataSync;
  } catch (err) {
    if (isNotFound(err)) return {};
    throw err;
  }
  const selector = `${LABEL_NAME}=${dataSyncLabelValue(name)}`;
  const ownedByThis = (o: { metadata?: { ownerReferences?: Array<{ uid: string }> } }): boolean =>
    !!o.metadata?.ownerReferences?.some((r) => r.uid === ds.metadata.uid);

  if ((ds.metadata as { deletionTimestamp?: string }).deletionTimestamp) return finalize(deps, ds, selector);
  await ensureFinalizer(kube, ds);

  const [jobList, podList] = await Promise.all([
    kube.batch.listNamespacedJob({ namespace, labelSelector: selector }),
    kube.core.listNamespacedPod({ namespace, labelSelector: selector }),
  ]);
  const jobs = jobList.items.filter(ownedByThis);
  // Pods are owned by Jobs, not by the DataSync: keep those of this DataSync's Jobs.
  const jobUids = new Set(jobs.map((j) => j.metadata?.uid));
  const pods = podList.items.filter((p) => p.metadata?.ownerReferences?.some((r) => jobUids.has(r.uid)));

  const now = deps.clock();
  const prev: DataSyncStatus = ds.status ?? {};
  const status: DataSyncStatus = structuredClone(prev);
  const generation = Number(ds.metadata.generation ?? 1);
  const events: RunEvent[] = [];
  const recorded = new Set([prev.lastRun?.id, ...(prev.history ?? []).map((r) => r.id)].filter(Boolean));

  const runs = observeRuns(jobs, pods);
  // Record runs that ended and are not in status yet.
  for (const run of runs.filter((r) => TERMINAL.has(r.stage.kind) && !recorded.has(r.id))) {
    const report = finishReport(run, prev, now);
    recordRun(status, ds, report);
    recorded.add(run.id);
    events.push(report.outcome === 'Failed'
      ? { runId: run.id, reason: 'RunFailed', type: 'Warning', message: `run ${run.id} failed: ${report.message ?? ''}${failedFilesText(report)}` }
      : { runId: run.id, reason: 'RunSucceeded', type: report.outcome === 'Succeeded' ? 'Normal' : 'Warning', message: `run ${run.id} ${report.outcome === 'Succeeded' ? 'succeeded' : 'partially failed'}: ${report.filesCopied} files, ${report.bytesCopied} bytes copied, ${report.filesSkipped} skipped, ${report.filesFailed} failed${failedFilesText(report)}` });
    deps.metrics.runs.inc({ outcome: report.outcome });
    deps.metrics.bytesCopied.inc(report.bytesCopied);
    deps.metrics.filesCopied.inc(report.filesCopied);
    deps.metrics.runDuration.observe(report.durationSeconds);
  }
  // A run in status whose Jobs vanished (deleted by hand) ends as Failed rather than hanging.
  if (prev.currentRun && !recorded.has(prev.currentRun.id) && !runs.some((r) => r.id === prev.currentRun?.id)) {
    const cr = prev.currentRun;
    recordRun(status, ds, buildReport({ id: cr.id, trigger: cr.trigger, startTime: cr.startTime, now, outcome: 'Failed', plan: cr.planned, copyJob: undefined, copyPods: [], commit: undefined, message: 'the run\'s Jobs were deleted' }));
    recorded.add(cr.id);
  }

  // A run already in status (e.g. replaced, its Jobs still terminating) is never active again.
  let active = runs.find((r) => !TERMINAL.has(r.stage.kind) && !recorded.has(r.id));
  const decision = decideTrigger({
    spec: ds.spec, status, generation,
    creationTimestamp: new Date(String((ds.metadata as { creationTimestamp?: string }).creationTimestamp ?? now.toISOString())),
    activeRun: active?.meta ?? (active ? { id: active.id, trigger: 'Generation', generation, startTime: now.toISOString() } : undefined),
    now,
  });
  if (active && decision.start && decision.replaceActive) {
    const replaced = active;
    await deleteRunObjects(kube, namespace, name, replaced);
    recordRun(status, ds, buildReport({
      id: replaced.id, trigger: replaced.meta?.trigger, startTime: replaced.meta?.startTime ?? now.toISOString(), now, outcome: 'Failed',
      plan: 'plan' in replaced.stage ? replaced.stage.plan : undefined, copyJob: replaced.objects.jobs.copy, copyPods: replaced.objects.pods.copy ?? [], commit: undefined,
      message: `replaced by run ${decision.start.id} (concurrencyPolicy Replace)`,
    }));
    recorded.add(replaced.id);
    events.push({ runId: replaced.id, reason: 'RunReplaced', type: 'Warning', message: `run ${replaced.id} cancelled: replaced by run ${decision.start.id} (concurrencyPolicy Replace)` });
    deps.metrics.runs.inc({ outcome: 'Failed' });
    active = undefined;
  }
  if (!active && decision.start) {
    const meta = decision.start;
    active = { id: meta.id, meta, objects: { jobs: {}, pods: {} }, stage: { kind: 'NeedPlan' }, jobs: [] };
    events.push({ runId: meta.id, reason: 'RunStarted', type: 'Normal', message: `run ${meta.id} started (trigger ${meta.trigger}${meta.manual && meta.trigger === 'Manual' ? ` ${JSON.stringify(meta.manual)}` : ''})` });
    deps.metrics.runsStarted.inc({ trigger: meta.trigger });
  }

  let degradedMessage: string | undefined;
  if (active?.meta) {
    try {
      active.stage = await driveRun(deps, ds, active.meta, active.stage);
    } catch (err) {
      degradedMessage = `could not create the objects of run ${active.id}: ${errorMessage(err)}`;
      log.warn({ err: errorMessage(err), run: active.id }, 'applying run objects failed');
    }
    degradedMessage ??= stuckPodMessage(active);
    foldRunMeta(status, active.meta);
    status.currentRun = currentRun(active, now);
  } else {
    delete status.currentRun;
  }
  deps.metrics.activeRuns.set(active ? 1 : 0);

  // Status fields derived from the decision and observations.
  if (decision.nextScheduleTime) status.nextScheduleTime = decision.nextScheduleTime.toISOString();
  else delete status.nextScheduleTime;
  const activeStage = active ? stagePhase(active.stage) : undefined;
  status.phase = phaseOf({ ...(activeStage ? { activeStage } : {}), suspended: !!ds.spec.suspend, ...(status.lastRun ? { lastRun: status.lastRun } : {}) });
  const sum = summary(status.currentRun, status.lastRun);
  if (sum) status.summary = sum;
  status.observedGeneration = generation;
  status.conditions = conditions(status, ds, generation, now, { active: !!active, invalidSchedule: decision.invalidSchedule, degradedMessage });

  if (!jsonEqual(prev, status)) {
    await kube.custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { status: statusMergePatch(prev, status) } },
      MERGE_PATCH,
    );
  }
  for (const ev of events) {
    try {
      await emitEvent(kube, ds, ev, now, deps.instance);
    } catch (err) {
      log.warn({ err: errorMessage(err), reason: ev.reason }, 'event not recorded');
    }
  }
  // Objects of recorded runs go once status holds their report (the last run's stay for debugging).
  for (const run of runs) {
    if (recorded.has(run.id) && run.id !== status.lastRun?.id && run.id !== active?.id) await deleteRunObjects(kube, namespace, name, run);
  }

  if (active) return { requeueAfterMs: deps.activeResyncMs ?? 10_000 };
  return decision.requeueAfterMs !== undefined ? { requeueAfterMs: decision.requeueAfterMs } : {};
}

function observeRuns(jobs: V1Job[], pods: V1Pod[]): ObservedRun[] {
  const ids = [...new Set(jobs.map((j) => j.metadata?.labels?.[LABEL_RUN]).filter((x): x is string => !!x))];
  return ids.map((id) => {
    const runJobs = jobs.filter((j) => j.metadata?.labels?.[LABEL_RUN] === id);
    const objects = groupRunObjects(runJobs, pods.filter((p) => p.metadata?.labels?.[LABEL_RUN] === id));
    let meta: RunMeta | undefined;
    try {
      const text = objects.jobs.plan?.metadata?.annotations?.[ANNOTATION_RUN_META];
      meta = text ? (JSON.parse(text) as RunMeta) : undefined;
    } catch { meta = undefined; }
    return { id, meta, objects, stage: runStage(objects), jobs: runJobs };
  }).sort((a, b) => (a.meta?.startTime ?? '').localeCompare(b.meta?.startTime ?? ''));
}

/** Creates whatever the run's next step needs; returns the stage the created objects put it in. */
async function driveRun(deps: ReconcilerDeps, ds: DataSync, run: RunMeta, stage: RunStage): Promise<RunStage> {
  const { kube } = deps;
  const namespace = String(ds.metadata.namespace);
  const create = (job: V1Job) => createIfAbsent(() => kube.batch.createNamespacedJob({ namespace, body: job }));
  switch (stage.kind) {
    case 'NeedPlan':
      if (!ds.spec.copier?.serviceAccountName) await ensureCopierServiceAccount(kube, namespace);
      await createIfAbsent(() => kube.core.createNamespacedConfigMap({ namespace, body: runConfigMap(ds, run) }));
      await create(runJob({ ds, run, step: 'plan', defaults: deps.copier }));
      return { kind: 'Planning' };
    case 'NeedCopy':
      await create(runJob({ ds, run, step: 'copy', defaults: deps.copier, plan: stage.plan }));
      return { kind: 'Copying', plan: stage.plan };
    case 'NeedCommit':
      await create(runJob({ ds, run, step: 'commit', defaults: deps.copier, plan: stage.plan }));
      return { kind: 'Publishing', plan: stage.plan };
    default:
      return stage;
  }
}

// Waiting reasons a pod does not recover from by itself: the user must fix a reference or an image.
const STUCK_REASONS = new Set(['CreateContainerConfigError', 'CreateContainerError', 'ErrImagePull', 'ImagePullBackOff', 'InvalidImageName']);

/** A pod of the active run that cannot start (missing Secret or volume, bad image): the run waits, the DataSync is Degraded. */
function stuckPodMessage(run: ObservedRun): string | undefined {
  for (const [step, pods] of Object.entries(run.objects.pods)) {
    for (const pod of pods ?? []) {
      const waiting = pod.status?.containerStatuses?.[0]?.state?.waiting;
      if (waiting?.reason && STUCK_REASONS.has(waiting.reason)) {
        return `${step} pod ${pod.metadata?.name} cannot start (${waiting.reason}): ${waiting.message ?? ''}`.trim();
      }
      const unschedulable = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
      if (unschedulable) return `${step} pod ${pod.metadata?.name} is unschedulable: ${unschedulable.message ?? ''}`.trim();
    }
  }
  return undefined;
}

function stagePhase(stage: RunStage): 'Planning' | 'Copying' | 'Publishing' {
  switch (stage.kind) {
    case 'NeedPlan': case 'Planning': return 'Planning';
    case 'NeedCopy': case 'Copying': return 'Copying';
    default: return 'Publishing';
  }
}

function currentRun(run: ObservedRun, now: Date): CurrentRun {
  const meta = run.meta as RunMeta;
  const cr: CurrentRun = { id: run.id, trigger: meta.trigger, startTime: meta.startTime };
  const plan = 'plan' in run.stage ? run.stage.plan : undefined;
  if (plan) {
    cr.planned = plan;
    const copyPods = run.objects.pods.copy ?? [];
    cr.progress = runProgress(plan, run.objects.jobs.copy, copyPods, now);
    if (plan.shards > 0 && run.objects.jobs.copy) cr.shards = shardStatuses(plan, run.objects.jobs.copy, copyPods);
  }
  return cr;
}

/** Trigger bookkeeping comes from the run's own metadata, so it survives a crash before a status write. */
function foldRunMeta(status: DataSyncStatus, meta: RunMeta): void {
  status.lastRunGeneration = Math.max(status.lastRunGeneration ?? 0, meta.generation);
  if (meta.manual !== undefined) status.lastManualTrigger = meta.manual;
  if (meta.scheduledTime && (!status.lastScheduleTime || status.lastScheduleTime < meta.scheduledTime)) status.lastScheduleTime = meta.scheduledTime;
}

function finishReport(run: ObservedRun, prev: DataSyncStatus, now: Date): RunReport {
  const meta = run.meta;
  const stage = run.stage;
  const startTime = meta?.startTime ?? prev.currentRun?.startTime ?? now.toISOString();
  const jobsEnd = run.jobs.map((j) => j.status?.completionTime ?? j.status?.conditions?.find((c) => c.type === 'Failed' || c.type === 'Complete')?.lastTransitionTime)
    .filter((t): t is Date => !!t).map((t) => new Date(t).getTime());
  const end = jobsEnd.length ? new Date(Math.max(...jobsEnd)) : now;
  return buildReport({
    id: run.id,
    trigger: meta?.trigger,
    startTime,
    now: end,
    outcome: stage.kind === 'Succeeded' ? 'Succeeded' : 'Failed',
    plan: 'plan' in stage ? stage.plan : undefined,
    copyJob: run.objects.jobs.copy,
    copyPods: run.objects.pods.copy ?? [],
    commit: stage.kind === 'Succeeded' ? stage.commit : undefined,
    ...(stage.kind === 'Failed' ? { message: redact(stage.message) } : {}),
  });
}

function recordRun(status: DataSyncStatus, ds: DataSync, report: RunReport): void {
  status.lastRun = report;
  status.history = appendHistory(status.history, report, ds.spec.historyLimit ?? DEFAULT_HISTORY_LIMIT);
  if (report.outcome !== 'Failed') status.lastSuccessfulTime = report.endTime;
  // The watermark never moves backwards: a run that published nothing keeps the last one.
  if (report.watermark) status.watermark = { partition: report.watermark };
  if (status.currentRun?.id === report.id) delete status.currentRun;
}

function failedFilesText(report: RunReport): string {
  if (!report.failedFiles.length) return '';
  return `; failed files: ${report.failedFiles.slice(0, 5).map((f) => `${shortPath(f.path)} (${f.error.slice(0, 200)})`).join(', ')}`;
}

function conditions(
  status: DataSyncStatus, ds: DataSync, generation: number, now: Date,
  obs: { active: boolean; invalidSchedule: string | undefined; degradedMessage: string | undefined },
): NonNullable<DataSyncStatus['conditions']> {
  let list = status.conditions ?? [];
  const set = (type: 'Ready' | 'Progressing' | 'Degraded', s: 'True' | 'False', reason: string, message: string): void => {
    list = setCondition(list, { type, status: s, reason, message: redact(message), observedGeneration: generation }, now);
  };
  const last = status.lastRun;
  if (obs.invalidSchedule) {
    set('Degraded', 'True', Reasons.InvalidSchedule, obs.invalidSchedule);
  } else if (obs.degradedMessage) {
    set('Degraded', 'True', obs.degradedMessage.includes('cannot start') || obs.degradedMessage.includes('unschedulable') ? Reasons.PodsNotStarting : Reasons.ApplyFailed, obs.degradedMessage);
  } else if (last?.outcome === 'Failed') {
    set('Degraded', 'True', Reasons.Failed, `run ${last.id} failed: ${last.message ?? 'see events'}`);
  } else if (last?.outcome === 'PartiallyFailed') {
    set('Degraded', 'True', Reasons.PartiallyFailed, `run ${last.id}: ${last.filesFailed} files failed${failedFilesText(last)}`);
  } else if (last?.notification?.state === 'Failed') {
    // The data run succeeded; only its notification did not reach the receiver.
    set('Degraded', 'True', last.notification.reason ?? Reasons.WebhookFailed,
      `run ${last.id} succeeded, but its webhook notification failed after ${last.notification.attempts ?? 0} attempts: ${last.notification.error ?? 'no detail'}`);
  } else {
    set('Degraded', 'False', last ? Reasons.Succeeded : Reasons.NotRunYet, last ? `run ${last.id} succeeded` : 'no run has ended yet');
  }
  if (obs.active && status.currentRun) set('Progressing', 'True', Reasons.Running, `run ${status.currentRun.id} is ${status.phase}`);
  else set('Progressing', 'False', ds.spec.suspend ? Reasons.Suspended : Reasons.Idle, ds.spec.suspend ? 'suspended: no new runs start' : 'no run is active');
  if (obs.invalidSchedule) set('Ready', 'False', Reasons.InvalidSchedule, obs.invalidSchedule);
  else if (!last) set('Ready', 'False', Reasons.NotRunYet, 'no run has ended yet');
  else if (last.outcome === 'Succeeded') set('Ready', 'True', Reasons.Succeeded, `run ${last.id} succeeded`);
  else set('Ready', 'False', last.outcome === 'Failed' ? Reasons.Failed : Reasons.PartiallyFailed, `run ${last.id} ${last.outcome === 'Failed' ? 'failed' : 'partially failed'}`);
  return list;
}

async function ensureFinalizer(kube: Kube, ds: DataSync): Promise<void> {
  const finalizers = (ds.metadata as { finalizers?: string[] }).finalizers ?? [];
  if (finalizers.includes(FINALIZER)) return;
  const body = { metadata: { finalizers: [...finalizers, FINALIZER], resourceVersion: (ds.metadata as { resourceVersion?: string }).resourceVersion } };
  await kube.custom.patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, namespace: String(ds.metadata.namespace), plural: PLURAL, name: ds.metadata.name, body },
    MERGE_PATCH,
  );
}

/**
 * The copier's ServiceAccount and its RoleBinding to the datasync-copier ClusterRole (get/patch pods).
 * Checked at every run start (two creates that usually answer AlreadyExists), not cached: a namespace
 * may have been emptied and recreated since.
 */
async function ensureCopierServiceAccount(kube: Kube, namespace: string): Promise<void> {
  const labels = { [LABEL_MANAGED_BY]: MANAGED_BY };
  await createIfAbsent(() => kube.core.createNamespacedServiceAccount({
    namespace, body: { metadata: { name: COPIER_SERVICE_ACCOUNT, namespace, labels }, automountServiceAccountToken: false },
  }));
  await createIfAbsent(() => kube.rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: COPIER_ROLE_BINDING, namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: COPIER_CLUSTER_ROLE },
      subjects: [{ kind: 'ServiceAccount', name: COPIER_SERVICE_ACCOUNT, namespace }],
    },
  }));
}

async function deleteRunObjects(kube: Kube, namespace: string, dsName: string, run: ObservedRun): Promise<void> {
  for (const job of run.jobs) {
    await ignoreNotFound(() => kube.batch.deleteNamespacedJob({ namespace, name: String(job.metadata?.name), propagationPolicy: 'Background' }));
  }
  await ignoreNotFound(() => kube.core.deleteNamespacedConfigMap({ namespace, name: runObjectName(dsName, run.id) }));
}

/** Deletion: cancel Jobs, remove pods and run configs, then release the finalizer — after a bounded wait at most. */
async function finalize(deps: ReconcilerDeps, ds: DataSync, selector: string): Promise<ReconcileResult> {
  const { kube, log } = deps;
  const namespace = String(ds.metadata.namespace);
  const finalizers = (ds.metadata as { finalizers?: string[] }).finalizers ?? [];
  if (!finalizers.includes(FINALIZER)) return {};
  let remaining = 0;
  try {
    const jobs = (await kube.batch.listNamespacedJob({ namespace, labelSelector: selector })).items;
    for (const job of jobs) {
      if (!(job.metadata as { deletionTimestamp?: unknown } | undefined)?.deletionTimestamp) {
        await ignoreNotFound(() => kube.batch.deleteNamespacedJob({ namespace, name: String(job.metadata?.name), propagationPolicy: 'Background' }));
      }
    }
    const pods = (await kube.core.listNamespacedPod({ namespace, labelSelector: selector })).items;
    for (const pod of pods) {
      if (!pod.metadata?.deletionTimestamp) await ignoreNotFound(() => kube.core.deleteNamespacedPod({ namespace, name: String(pod.metadata?.name), gracePeriodSeconds: 5 }));
    }
    const cms = (await kube.core.listNamespacedConfigMap({ namespace, labelSelector: selector })).items;
    for (const cm of cms) await ignoreNotFound(() => kube.core.deleteNamespacedConfigMap({ namespace, name: String(cm.metadata?.name) }));
    remaining = jobs.length + pods.length;
  } catch (err) {
    // A namespace being torn down may refuse or lose these calls; the timeout below still applies.
    log.warn({ err: errorMessage(err) }, 'cleanup on deletion incomplete');
    remaining = 1;
  }
  const deletedAt = new Date(String((ds.metadata as { deletionTimestamp?: string }).deletionTimestamp)).getTime();
  const waited = deps.clock().getTime() - deletedAt;
  if (remaining > 0 && waited < (deps.finalizerTimeoutMs ?? 60_000)) return { requeueAfterMs: 1000 };
  const body = { metadata: { finalizers: finalizers.filter((f) => f !== FINALIZER), resourceVersion: (ds.metadata as { resourceVersion?: string }).resourceVersion } };
  try {
    await kube.custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name: ds.metadata.name, body }, MERGE_PATCH);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  return {};
}
