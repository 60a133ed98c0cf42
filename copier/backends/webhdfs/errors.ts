// Translates WebHDFS failures (RemoteException JSON, HTTP status, network errors) into
// DataSyncErrors at the webhdfs backend's edge. Pure, and follows `cause`.
import { NETWORK_ERROR_CODES, codeForHttpStatus } from '../support/transport-errors.ts';
import { DataSyncError, asDataSyncError, type ErrorCode, type Side } from '../../errors.ts';

/** A NameNode or DataNode answer with a RemoteException body (or just an error status). */
export class WebHdfsError extends Error {
  override name = 'WebHdfsError';
  readonly status: number;
  /** Java simple class name, e.g. FileNotFoundException. */
  readonly exception: string;

  constructor(status: number, exception: string, message: string) {
    super(message);
    this.status = status;
    this.exception = exception;
  }
}

const BY_EXCEPTION: Record<string, ErrorCode> = {
  FileNotFoundException: 'NotFound',
  AccessControlException: 'PermissionDenied',
  AuthorizationException: 'PermissionDenied',
  SecurityException: 'Unauthenticated',
  AuthenticationException: 'Unauthenticated',
  InvalidToken: 'Unauthenticated',
  FileAlreadyExistsException: 'AlreadyExists',
  StandbyException: 'Unreachable', // every namenode was standby: a failover is in progress
  RetriableException: 'Transient',
  SafeModeException: 'Transient',
  NSQuotaExceededException: 'PermissionDenied',
  DSQuotaExceededException: 'PermissionDenied',
  ParentNotDirectoryException: 'InvalidConfig',
  PathIsNotEmptyDirectoryException: 'Unsupported',
  UnsupportedOperationException: 'Unsupported',
};

export function classifyWebHdfsError(err: unknown): ErrorCode {
  for (let e: unknown = err, depth = 0; e != null && depth < 10; depth++) {
    if (e instanceof WebHdfsError) {
      const byName = BY_EXCEPTION[e.exception];
      if (byName) return byName;
      return codeForHttpStatus(e.status);
    }
    const x = e as { name?: unknown; code?: unknown; cause?: unknown };
    if (x.name === 'AbortError') return 'Aborted';
    if (typeof x.code === 'string' && NETWORK_ERROR_CODES[x.code]) return NETWORK_ERROR_CODES[x.code]!;
    e = x.cause;
  }
  return 'Internal';
}

const NEXT_STEP: Partial<Record<ErrorCode, string>> = {
  NotFound: 'check the path exists',
  PermissionDenied: 'check the HDFS permissions for the user (webhdfs.user) on this path',
  Unauthenticated: 'check the delegation token in the Secret key "token" (it may have expired)',
  Unreachable: 'check the namenode addresses and that one of them is active',
  Throttled: 'the namenode is overloaded; it will be retried with backoff',
};

export interface ErrorContext {
  side: Side;
  endpoint: string;
  path?: string;
  op: string;
}

/** Delegation tokens travel in URLs; they must never reach a message. */
export function redact(text: string): string {
  return text.replace(/(delegation|token)=[^&\s]+/gi, '$1=REDACTED');
}

export function translateWebHdfsError(err: unknown, ctx: ErrorContext): DataSyncError {
  const existing = asDataSyncError(err);
  if (existing) return existing;
  const code = classifyWebHdfsError(err);
  const what = ctx.path === undefined ? ctx.endpoint : `${JSON.stringify(ctx.path)} in ${ctx.endpoint}`;
  const detail = redact(err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err));
  const step = NEXT_STEP[code];
  return new DataSyncError(`webhdfs ${ctx.op} of ${what} failed (${code}): ${detail}${step ? `; ${step}` : ''}`, {
    code,
    side: ctx.side,
    endpoint: ctx.endpoint,
    ...(ctx.path === undefined ? {} : { path: ctx.path }),
    cause: err,
  });
}
