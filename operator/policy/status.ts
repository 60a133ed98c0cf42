// Status assembly: conditions with stable reasons, the printer-column summary, history trimming and
// change detection. Pure; the reconciler feeds it observations and a clock.
import type { Condition, DataSyncStatus, Phase, RunReport, CurrentRun } from '../../api/types.ts';

export const Reasons = {
  Succeeded: 'RunSucceeded',
  PartiallyFailed: 'RunPartiallyFailed',
  Failed: 'RunFailed',
  Running: 'RunActive',
  Idle: 'NoActiveRun',
  NotRunYet: 'NoRunYet',
  Suspended: 'Suspended',
  InvalidSchedule: 'InvalidSchedule',
  ApplyFailed: 'ApplyFailed',
  PodsNotStarting: 'PodsNotStarting',
  WebhookFailed: 'WebhookFailed',
} as const;

export function setCondition(conditions: Condition[] | undefined, next: Omit<Condition, 'lastTransitionTime'>, now: Date): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? list[i] : undefined;
  const lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : now.toISOString();
  const cond: Condition = { ...next, lastTransitionTime };
  if (i >= 0) list[i] = cond;
  else list.push(cond);
  const order = { Ready: 0, Progressing: 1, Degraded: 2 } as const;
  return list.sort((a, b) => order[a.type] - order[b.type]);
}

const UNITS = ['B', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi'];
export function humanBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${n}` : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)}${UNITS[u]}`;
}

export function summary(current: CurrentRun | undefined, last: RunReport | undefined): DataSyncStatus['summary'] {
  if (current?.planned && current.progress) {
    const p = current.progress;
    return {
      progress: `${Math.floor(p.percent)}%`,
      files: `${p.filesCopied + p.filesSkipped + p.filesFailed}/${current.planned.files}`,
      bytes: `${humanBytes(p.bytesCopied)}/${humanBytes(current.planned.bytes)}`,
    };
  }
  if (current) return { progress: '0%', files: current.planned ? `0/${current.planned.files}` : '-', bytes: current.planned ? `0/${humanBytes(current.planned.bytes)}` : '-' };
  if (last) {
    const done = last.filesCopied + last.filesSkipped;
    return {
      progress: last.outcome === 'Succeeded' ? '100%' : `${last.filesExpected ? Math.floor((100 * done) / Math.max(1, last.filesExpected + last.filesSkipped)) : 0}%`,
      files: `${last.filesCopied}/${last.filesExpected}`,
      bytes: `${humanBytes(last.bytesCopied)}/${humanBytes(last.bytesExpected)}`,
    };
  }
  return undefined;
}

export function phaseOf(args: { activeStage?: 'Planning' | 'Copying' | 'Publishing'; suspended: boolean; lastRun?: RunReport }): Phase {
  if (args.activeStage) return args.activeStage;
  if (args.suspended) return 'Suspended';
  if (!args.lastRun) return 'Idle';
  return args.lastRun.outcome === 'Succeeded' ? 'Succeeded' : 'Failed';
}

export function appendHistory(history: RunReport[] | undefined, report: RunReport, limit: number): RunReport[] {
  return [report, ...(history ?? []).filter((r) => r.id !== report.id)].slice(0, Math.max(0, limit));
}

/** Deep equality of JSON values, ignoring key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** A merge patch for status that also removes fields the new status no longer has. */
export function statusMergePatch(prev: DataSyncStatus | undefined, next: DataSyncStatus): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...next };
  for (const k of Object.keys(prev ?? {})) if (!(k in next) || (next as Record<string, unknown>)[k] === undefined) patch[k] = null;
  return patch;
}

/** Strips what looks like a credential from text that goes into status, events or logs. */
export function redact(text: string): string {
  return text
    .replace(/(:\/\/)[^/@\s:]+:[^/@\s]+@/g, '$1***@')
    // key=value (query strings, env, connection strings) and "key": "value" (JSON); not prose such as "SignatureDoesNotMatch: The ...".
    .replace(/((?:signature|sig|token|secret|password|accesskey|secretaccesskey|accountkey|sharedaccesssignature|credential)[\w-]*(?:=|"\s*:\s*"))[^\s&"',;]+/gi, '$1***');
}
