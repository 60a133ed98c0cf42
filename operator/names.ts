// Deterministic names and labels. A run's objects are named from the DataSync and the run ID, and the
// run ID is derived from what triggered it, so a restarted operator recomputes the same names and an
// AlreadyExists tells it the object is there: no duplicate Jobs.
import { createHash } from 'node:crypto';

export const LABEL_NAME = 'datasync.dev/name';
export const LABEL_RUN = 'datasync.dev/run';
export const LABEL_STEP = 'datasync.dev/step';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'datasync-operator';
export const ANNOTATION_PROGRESS = 'datasync.dev/progress';
/** JSON of RunMeta on the plan Job: what started the run, for status after an operator restart. */
export const ANNOTATION_RUN_META = 'datasync.dev/run-meta';
/** JSON of the plan result on the copy Job, so the run survives the plan pod being garbage-collected. */
export const ANNOTATION_PLAN = 'datasync.dev/plan';
export const FINALIZER = 'datasync.dev/cleanup';
export const COPIER_SERVICE_ACCOUNT = 'datasync-copier';
export const COPIER_CLUSTER_ROLE = 'datasync-copier';
export const COPIER_ROLE_BINDING = 'datasync-copier';
export const FIELD_MANAGER = 'datasync-operator';

export type Step = 'plan' | 'copy' | 'commit';

export function shortHash(text: string, length = 6): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** `<name>-<runId>[-<step>]`, shortened with a hash so it stays a valid 63-character label value. */
export function runObjectName(dataSync: string, runId: string, step?: Step): string {
  const suffix = step ? `-${runId}-${step}` : `-${runId}`;
  const full = dataSync + suffix;
  if (full.length <= 63) return full;
  const keep = 63 - suffix.length - 7;
  return `${dataSync.slice(0, keep).replace(/-+$/, '')}-${shortHash(dataSync)}${suffix}`;
}

export function dataSyncLabelValue(name: string): string {
  return name.length <= 63 ? name : `${name.slice(0, 56)}-${shortHash(name)}`;
}
