// Translates @google-cloud/storage (ApiError, gaxios) and network errors into DataSyncErrors at the
// gcs backend's edge. Pure: classification looks only at the error and its `cause` chain.
import { DataSyncError, asDataSyncError, type ErrorCode, type Side } from '../../errors.ts';

export interface ErrorContext {
  side: Side;
  /** gs://bucket/prefix (endpoint), never a credential. */
  endpoint: string;
  path?: string;
  op: string;
}

const NETWORK_CODES: Record<string, ErrorCode> = {
  ECONNREFUSED: 'Unreachable',
  ENOTFOUND: 'Unreachable',
  EAI_AGAIN: 'Unreachable',
  EHOSTUNREACH: 'Unreachable',
  ENETUNREACH: 'Unreachable',
  ECONNRESET: 'Transient',
  EPIPE: 'Transient',
  ETIMEDOUT: 'Timeout',
  UND_ERR_CONNECT_TIMEOUT: 'Timeout',
  UND_ERR_SOCKET: 'Transient',
};

export function classifyGcsError(err: unknown): ErrorCode {
  for (let e: unknown = err, depth = 0; e != null && depth < 10; depth++) {
    const x = e as { name?: unknown; code?: unknown; status?: unknown; message?: unknown; cause?: unknown; response?: { status?: unknown } };
    if (x.name === 'AbortError' || x.code === 'ABORT_ERR') return 'Aborted';
    const status = typeof x.code === 'number' ? x.code : typeof x.status === 'number' ? x.status : typeof x.response?.status === 'number' ? x.response.status : undefined;
    if (status !== undefined && status >= 400) return byStatus(status);
    if (typeof x.code === 'string' && NETWORK_CODES[x.code]) return NETWORK_CODES[x.code]!;
    if (typeof x.message === 'string' && /ECONNREFUSED/.test(x.message)) return 'Unreachable';
    if (x.code === 'CONTENT_DOWNLOAD_MISMATCH' || x.code === 'FILE_NO_UPLOAD') return 'ChecksumMismatch';
    e = x.cause;
  }
  return 'Internal';
}

function byStatus(status: number): ErrorCode {
  if (status === 404) return 'NotFound';
  if (status === 401) return 'Unauthenticated';
  if (status === 403) return 'PermissionDenied';
  if (status === 409) return 'AlreadyExists';
  if (status === 412) return 'PreconditionFailed';
  if (status === 429 || status === 503) return 'Throttled';
  if (status === 408) return 'Timeout';
  if (status === 400 || status === 416) return 'Internal';
  if (status >= 500) return 'Transient';
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
