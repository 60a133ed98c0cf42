// Node fs errors → DataSyncError, at the backend's edge.
import { DataSyncError, type ErrorCode, type Side } from '../../errors.ts';

const CODES: Record<string, ErrorCode> = {
  ENOENT: 'NotFound',
  ENOTDIR: 'NotFound',
  EACCES: 'PermissionDenied',
  EPERM: 'PermissionDenied',
  EROFS: 'PermissionDenied',
  EEXIST: 'AlreadyExists',
  EBUSY: 'Transient',
  EAGAIN: 'Transient',
  EIO: 'Transient',
  ETIMEDOUT: 'Timeout',
  ENOSPC: 'Internal',
  EISDIR: 'InvalidConfig',
};

export function translateFsError(err: unknown, op: string, side: Side, location: string, path?: string): DataSyncError {
  if (err instanceof DataSyncError) return err;
  const code = (err as { code?: string }).code ?? '';
  const mapped = (err as Error).name === 'AbortError' || code === 'ABORT_ERR' ? 'Aborted' : (CODES[code] ?? 'Internal');
  const what = path === undefined ? location : `${path} in ${location}`;
  const reason = (err as Error).message ?? String(err);
  return new DataSyncError(`${op} ${what} failed: ${reason}`, {
    code: mapped,
    side,
    endpoint: location,
    ...(path === undefined ? {} : { path }),
    cause: err,
  });
}
