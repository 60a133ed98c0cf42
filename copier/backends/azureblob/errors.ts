// Translates @azure/storage-blob (RestError) and network errors into DataSyncErrors at the
// azureBlob backend's edge. Pure, and follows `cause`. Messages never carry a SAS signature.
import { NETWORK_ERROR_CODES, codeForHttpStatus } from '../support/transport-errors.ts';
import { DataSyncError, asDataSyncError, type ErrorCode, type Side } from '../../errors.ts';

export interface ErrorContext {
  side: Side;
  endpoint: string;
  path?: string;
  op: string;
}

const BY_SERVICE_CODE: Record<string, ErrorCode> = {
  BlobNotFound: 'NotFound',
  ContainerNotFound: 'NotFound',
  ResourceNotFound: 'NotFound',
  AuthenticationFailed: 'Unauthenticated',
  NoAuthenticationInformation: 'Unauthenticated',
  InvalidAuthenticationInfo: 'Unauthenticated',
  AuthorizationFailure: 'PermissionDenied',
  AuthorizationPermissionMismatch: 'PermissionDenied',
  InsufficientAccountPermissions: 'PermissionDenied',
  BlobAlreadyExists: 'AlreadyExists',
  ConditionNotMet: 'PreconditionFailed',
  ServerBusy: 'Throttled',
  TooManyRequests: 'Throttled',
  OperationTimedOut: 'Timeout',
  Md5Mismatch: 'ChecksumMismatch',
  InvalidMd5: 'ChecksumMismatch',
};

// Some SDK errors only carry the network code inside their message.
const NETWORK_IN_MESSAGE = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH/;

export function classifyAzureError(err: unknown): ErrorCode {
  for (let e: unknown = err, depth = 0; e != null && depth < 10; depth++) {
    const x = e as { name?: unknown; code?: unknown; statusCode?: unknown; message?: unknown; cause?: unknown };
    if (x.name === 'AbortError' || x.code === 'ABORT_ERR') return 'Aborted';
    if (typeof x.code === 'string' && BY_SERVICE_CODE[x.code]) return BY_SERVICE_CODE[x.code]!;
    if (typeof x.statusCode === 'number' && x.statusCode >= 400) return codeForHttpStatus(x.statusCode);
    if (typeof x.code === 'string' && NETWORK_ERROR_CODES[x.code]) return NETWORK_ERROR_CODES[x.code]!;
    if (typeof x.message === 'string' && NETWORK_IN_MESSAGE.test(x.message)) return 'Unreachable';
    if (x.code === 'REQUEST_SEND_ERROR') return 'Transient';
    e = x.cause;
  }
  return 'Internal';
}

const NEXT_STEP: Partial<Record<ErrorCode, string>> = {
  NotFound: 'check the container and path exist',
  Unauthenticated: 'check the connectionString, accountName/accountKey or sasToken key of the credentials Secret',
  PermissionDenied: 'grant the credential access to the container (a SAS needs read, write, delete and list)',
  Throttled: 'the account is throttling; it will be retried with backoff',
  Unreachable: 'check the endpoint address and network',
};

/** SAS signatures and account keys must never reach a log. */
export function redact(text: string): string {
  return text.replace(/(sig|AccountKey|SharedAccessSignature)=[^&;\s]+/gi, '$1=REDACTED');
}

export function translateAzureError(err: unknown, ctx: ErrorContext): DataSyncError {
  const existing = asDataSyncError(err);
  if (existing) return existing;
  const code = classifyAzureError(err);
  const what = ctx.path === undefined ? ctx.endpoint : `blob ${JSON.stringify(ctx.path)} in ${ctx.endpoint}`;
  const raw = err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err);
  const detail = redact(raw || ((err as { code?: unknown }).code as string | undefined) || 'no detail');
  const step = NEXT_STEP[code];
  return new DataSyncError(`azureBlob ${ctx.op} of ${what} failed (${code}): ${detail}${step ? `; ${step}` : ''}`, {
    code,
    side: ctx.side,
    endpoint: ctx.endpoint,
    ...(ctx.path === undefined ? {} : { path: ctx.path }),
    cause: err,
  });
}
