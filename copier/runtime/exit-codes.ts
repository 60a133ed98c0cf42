// Worker exit codes (docs/design.md): the copy Job's podFailurePolicy maps CONFIG to FailIndex.
import { asDataSyncError } from '../errors.ts';

export const EXIT_OK = 0;
export const EXIT_OTHER = 1;
export const EXIT_CONFIG = 3;
export const EXIT_FILES_FAILED = 4;

/** Retrying cannot help these: bad spec, bad credentials, missing bucket, no permission. */
export function exitCodeFor(err: unknown): number {
  const e = asDataSyncError(err);
  if (!e) return EXIT_OTHER;
  if (e.side === 'config' || ['InvalidConfig', 'Unauthenticated', 'PermissionDenied', 'GuardTripped'].includes(e.code)) return EXIT_CONFIG;
  return EXIT_OTHER;
}
