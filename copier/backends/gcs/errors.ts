// Translates @google-cloud/storage (ApiError, gaxios) and network errors into DataSyncErrors at the
// gcs backend's edge. Pure: classification looks only at the error and its `cause` chain.
import { NETWORK_ERROR_CODES, codeForHttpStatus } from '../support/transport-errors.ts';
import { DataSyncError, asDataSyncError, type ErrorCode, type Side } from '../../errors.ts';

export interface ErrorContext {
  side: Side;
  /** gs://bucket/prefix (endpoint), never a credential. */
  endpoint: string;
  path?: string;
  op: string;
}

export function classifyGcsError(err: unknown): ErrorCode {
  for (let e: unknown = err, depth = 0; e != null && depth < 10; depth++) {
    const x = e as { name?: unknown; code?: unknown; status?: unknown; message?: unknown; cause?: unknown; response?: { status?: unknown } };
    if (x.name === 'AbortError' || x.code === 'ABORT_ERR') return 'Aborted';
    const status = typeof x.code === 'number' ? x.code : typeof x.status === 'number' ? x.status : typeof x.response?.status === 'number' ? x.response.status : undefined;
    if (status !== undefined && status >= 400) return codeForHttpStatus(status);
    if (typeof x.code === 'string' && NETWORK_ERROR_CODES[x.code]) return NETWORK_ERROR_CODES[x.code]!;
    if (typeof x.message === 'string' && /ECONNREFUSED/.test(x.message)) return 'Unreachable';
    if (x.code === 'CONTENT_DOWNLOAD_MISMATCH' || x.code === 'FILE_NO_UPLOAD') return 'ChecksumMismatch';
    e = x.cause;
  }
  return 'Internal';
}

const NEXT_STEP: Partial<Record<ErrorCode, string>> = {
  NotFound: 'check the bucket and path exist',
  Unauthenticated: 'check the credentials.json key of the credentials Secret',
  PermissionDenied: 'grant the service account access to the bucket',
  Throttled: 'the request rate is too high; it will be retried with backoff',
  Unreachable: 'check the endpoint address and network',
  PreconditionFailed: 'the object changed or already exists',
  AlreadyExists: 'the object already exists',
};

export function translateGcsError(err: unknown, ctx: ErrorContext): DataSyncError {
  const existing = asDataSyncError(err);
  if (existing) return existing;
  const code = classifyGcsError(err);
  const what = ctx.path === undefined ? ctx.endpoint : `gs object ${JSON.stringify(ctx.path)} in ${ctx.endpoint}`;
  const detail = err instanceof Error ? err.message : String(err);
  const step = NEXT_STEP[code];
  return new DataSyncError(`gcs ${ctx.op} of ${what} failed (${code}): ${detail}${step ? `; ${step}` : ''}`, {
    code,
    side: ctx.side,
    endpoint: ctx.endpoint,
    ...(ctx.path === undefined ? {} : { path: ctx.path }),
    cause: err,
  });
}
