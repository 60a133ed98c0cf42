// When does a DataSync start its next run? A pure function of the spec, the status, the active run
// and an injected clock (cert-manager's "trigger" controller shape), so every case is unit-tested.
import { CronExpressionParser } from 'cron-parser';
import type { DataSyncSpec, DataSyncStatus, RunReport } from '../../api/types.ts';
import { shortHash } from '../names.ts';

export type TriggerKind = NonNullable<RunReport['trigger']>;

/** What started a run; stored on the plan Job so status can be rebuilt after a restart. */
export interface RunMeta {
  id: string;
  trigger: TriggerKind;
  generation: number;
  startTime: string;
  scheduledTime?: string;
  manual?: string;
}

export interface TriggerInput {
  spec: DataSyncSpec;
  status: DataSyncStatus;
  generation: number;
  creationTimestamp: Date;
  /** The run currently active, if any (Forbid: no second run while one is active). */
  activeRun: RunMeta | undefined;
  now: Date;
}

export interface TriggerDecision {
  start?: RunMeta;
  /** concurrencyPolicy Replace: cancel the active run before starting `start`. */
  replaceActive?: boolean;
  nextScheduleTime?: Date;
  /** Reconcile again after this long even if nothing changes (the next schedule time). */
  requeueAfterMs?: number;
  /** The schedule passed the CRD's shape check but cron-parser refuses it. */
  invalidSchedule?: string;
}

const compactTime = (d: Date): string => d.toISOString().replace(/[-:T]/g, '').slice(0, 12); // yyyymmddhhmm

export function runIdFor(trigger: TriggerKind, generation: number, at: Date, manual?: string): string {
  switch (trigger) {
    case 'Generation': return `g${generation}`;
    // The generation changes with every edit of trigger.manual, so A -> B -> A yields a new ID.
    case 'Manual': return `m${generation}-${shortHash(manual ?? '', 4)}`;
    case 'Schedule': return `s${compactTime(at)}`;
    case 'Watch': return `w${compactTime(at)}${String(at.getUTCSeconds()).padStart(2, '0')}`;
    case 'Cli': return `c${compactTime(at)}`;
  }
}

function parseDuration(text: string): number {
  let ms = 0;
  for (const m of text.matchAll(/([0-9]+)(ms|s|m|h|d)/g)) {
    const n = Number(m[1]);
    ms += n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const)[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  }
  return ms;
}

/**
 * The latest cron occurrence in (after, now], and the first one after now.
 * Occurrences come from cron-parser's next() only, the direction nextScheduleTime is computed in, so
 * the run status announces is the run that happens. Around a DST change its prev() disagrees with
 * next(): on the spring-forward day next() moves a local time that does not exist (02:30) an hour
 * on and prev() skips it, so that day's run would never start; on the autumn day next() yields a
 * repeated local time (01:30) once and prev() also yields the second one, a second run that night.
 * prev() is used only to find a point two occurrences back to walk forward from.
 */
export function scheduleWindow(schedule: string, timeZone: string | undefined, after: Date, now: Date): { due?: Date; next: Date } {
  const tz = timeZone ?? 'UTC';
  const next = CronExpressionParser.parse(schedule, { currentDate: now, tz }).next().toDate();
  const back = CronExpressionParser.parse(schedule, { currentDate: new Date(now.getTime() + 1), tz });
  back.prev();
  const from = Math.max(after.getTime(), back.prev().toDate().getTime() - 1);
  const forward = CronExpressionParser.parse(schedule, { currentDate: new Date(from), tz });
  let due: Date | undefined;
  for (let i = 0; i < 100; i++) {
    const occurrence = forward.next().toDate();
    if (occurrence.getTime() > now.getTime()) break;
    due = occurrence;
  }
  return due ? { due, next } : { next };
}

export function decideTrigger(input: TriggerInput): TriggerDecision {
  const { spec, status, generation, now, activeRun } = input;
  const meta = (trigger: TriggerKind, at: Date = now): RunMeta => ({
    id: runIdFor(trigger, generation, at, spec.trigger?.manual),
    trigger,
    generation,
    startTime: now.toISOString(),
    ...(trigger === 'Schedule' ? { scheduledTime: at.toISOString() } : {}),
    ...(spec.trigger?.manual !== undefined ? { manual: spec.trigger.manual } : {}),
  });

  let nextScheduleTime: Date | undefined;
  let due: Date | undefined;
  if (spec.schedule) {
    const after = new Date(status.lastScheduleTime ?? input.creationTimestamp.toISOString());
    try {
      const window = scheduleWindow(spec.schedule, spec.timeZone, after, now);
      nextScheduleTime = window.next;
      due = window.due;
      if (due && spec.startingDeadlineSeconds !== undefined && now.getTime() - due.getTime() > spec.startingDeadlineSeconds * 1000) due = undefined;
    } catch (err) {
      return { invalidSchedule: `schedule ${JSON.stringify(spec.schedule)} is not a valid cron expression: ${(err as Error).message}` };
    }
  } else if (spec.watch) {
    // endTime comes from the Jobs' completion times (the control plane's clock), startTime from this
    // operator's clock. Counting from the later of the two keeps a clock that runs ahead of the
    // control plane (skew, or an injected clock) from finding the next pass due the moment the last
    // one is recorded, which would "start" it again under the same run ID.
    const last = status.lastRun;
    const lastMs = Math.max(...[last?.endTime, last?.startTime].filter((t): t is string => !!t).map((t) => Date.parse(t)).filter((t) => !Number.isNaN(t)));
    nextScheduleTime = Number.isFinite(lastMs) ? new Date(lastMs + parseDuration(spec.watch.interval)) : now;
    if (nextScheduleTime.getTime() <= now.getTime()) due = now;
  }

  if (spec.suspend) return {};
  const requeue = nextScheduleTime ? { nextScheduleTime, requeueAfterMs: Math.max(1000, nextScheduleTime.getTime() - now.getTime()) } : {};
  if (activeRun) {
    // Replace cancels an active run when the next scheduled (or watch) run is due; manual and
    // generation runs never cancel one.
    if (spec.concurrencyPolicy === 'Replace' && due && (spec.schedule || spec.watch)) {
      const start = spec.schedule ? meta('Schedule', due) : meta('Watch');
      if (start.id !== activeRun.id) return { ...requeue, start, replaceActive: true };
    }
    return requeue;
  }

  const manual = spec.trigger?.manual;
  if (manual !== undefined && manual !== status.lastManualTrigger) return { ...requeue, start: meta('Manual') };
  if (spec.schedule) return due ? { ...requeue, start: meta('Schedule', due) } : requeue;
  if (spec.watch) return due ? { ...requeue, start: meta('Watch') } : requeue;
  if (status.lastRunGeneration !== generation) return { start: meta('Generation') };
  return {};
}
