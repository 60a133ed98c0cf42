// AWS SDK v3 errors → DataSyncError. This is the only place that knows S3 error names; everything
// above the backend sees a code, the side at fault and whether a retry can help. Messages name the
// endpoint and the next step, never a credential (SDK messages carry none either).
import { DataSyncError, type ErrorCode, type Side } from '../../errors.ts';
import { NETWORK_ERROR_CODES, codeForHttpStatus } from '../support/transport-errors.ts';

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
  cause?: unknown;
  errors?: unknown[];
}

const BY_NAME: Record<string, ErrorCode> = {
  NoSuchKey: 'NotFound',
  NotFound: 'NotFound',
  NoSuchBucket: 'NotFound',
  NoSuchUpload: 'NotFound',
  InvalidAccessKeyId: 'Unauthenticated',
  SignatureDoesNotMatch: 'Unauthenticated',
  ExpiredToken: 'Unauthenticated',
  InvalidToken: 'Unauthenticated',
  CredentialsProviderError: 'Unauthenticated',
  AccessDenied: 'PermissionDenied',
  AllAccessDisabled: 'PermissionDenied',
  SlowDown: 'Throttled',
  Throttling: 'Throttled',
  ThrottlingException: 'Throttled',
  RequestLimitExceeded: 'Throttled',
  TooManyRequests: 'Throttled',
  PreconditionFailed: 'PreconditionFailed',
  BadDigest: 'ChecksumMismatch',
  InvalidDigest: 'ChecksumMismatch',
  XAmzContentChecksumMismatch: 'ChecksumMismatch',
  InvalidBucketName: 'InvalidConfig',
  InvalidStorageClass: 'InvalidConfig',
  InternalError: 'Transient',
  ServiceUnavailable: 'Throttled',
  RequestTimeout: 'Timeout',
  TimeoutError: 'Timeout',
  RequestTimeTooSkewed: 'InvalidConfig',
  AbortError: 'Aborted',
};

/** Pure: classifies an SDK (or Node network) error, following `cause` and AggregateError members. */
export function classifyS3Error(err: unknown): ErrorCode {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length) {
    const e = queue.shift() as SdkErrorShape | undefined;
    if (e == null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const netCode = e.code !== undefined ? NETWORK_ERROR_CODES[e.code] : undefined;
    if (netCode) return netCode;
    const named = e.name !== undefined ? BY_NAME[e.name] : undefined;
    if (named) return named;
    if (e.$retryable?.throttling) return 'Throttled';
    const status = e.$metadata?.httpStatusCode;
    const byStatus = status !== undefined && status >= 400 ? codeForHttpStatus(status) : 'Internal';
    if (byStatus !== 'Internal') return byStatus;
    if (e.cause !== undefined) queue.push(e.cause);
    if (Array.isArray(e.errors)) queue.push(...e.errors);
  }
  return 'Internal';
}

const NEXT_STEP: Partial<Record<ErrorCode, string>> = {
  Unauthenticated: 'check the access key and secret (credentialsSecretRef keys accessKeyId/secretAccessKey, or AWS_* variables locally)',
  PermissionDenied: 'grant the credentials access to the bucket and prefix',
  Unreachable: 'check the endpoint URL and that the server is reachable from here',
  Timeout: 'check the network path to the endpoint',
  Throttled: 'the server asked to slow down; lower parallelism or bandwidthLimit',
};

export function translateS3Error(err: unknown, op: string, side: Side, location: string, path?: string): DataSyncError {
  if (err instanceof DataSyncError) return err;
  const code = classifyS3Error(err);
  const e = err as SdkErrorShape;
  const detail = [e.name, e.code, e.message].filter((x) => x && x !== 'Error' && x !== 'UnknownError').join(': ') || String(err);
  const noBucket = e.name === 'NoSuchBucket';
  const what = path === undefined ? location : `${path} in ${location}`;
  const next = noBucket ? 'create the bucket or fix spec bucket' : NEXT_STEP[code];
  const message = `${op} ${what} failed (${code}): ${detail}${next ? `; ${next}` : ''}`;
  return new DataSyncError(message, {
    code: noBucket ? 'InvalidConfig' : code,
    side,
    endpoint: location,
    ...(path === undefined ? {} : { path }),
    // The server refused bytes that did not match the checksum sent with them: damaged in transit,
    // so another attempt (which reads the source again) is the cure.
    ...(code === 'ChecksumMismatch' ? { retryable: true } : {}),
    cause: err,
  });
}
