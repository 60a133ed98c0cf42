// Typed errors, after Smithy/AWS SDK v3 and rclone's fserrors: every failure carries a stable code,
// whether retrying can help, and which side is at fault. Backends translate SDK errors at their edge
// (see each backend's errors.ts); everything above them only ever sees a DataSyncError.

export type Side = 'source' | 'destination' | 'state' | 'config' | 'internal';

export type ErrorCode =
  | 'NotFound'
  | 'AlreadyExists'
  | 'PermissionDenied' // authenticated, but not allowed
  | 'Unauthenticated' // bad or missing credentials
  | 'Throttled' // 429/503 SlowDown: retryable, back off harder
  | 'Unreachable' // DNS, connection refused, TLS
  | 'Timeout'
  | 'Transient' // 5xx and resets: retryable
  | 'PreconditionFailed' // a conditional write lost a race
  | 'ChecksumMismatch'
  | 'InvalidConfig'
  | 'Unsupported' // a backend lacks a capability: callers fall back
  | 'GuardTripped' // a safety guard (maxDelete) refused the operation
  | 'Aborted'
  | 'Internal';

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['Throttled', 'Unreachable', 'Timeout', 'Transient']);

export interface DataSyncErrorInit {
  code: ErrorCode;
  side: Side;
  /** Human-readable location, e.g. "s3://bucket/prefix (http://127.0.0.1:9000)". Never a credential. */
  endpoint?: string;
  path?: string;
  retryable?: boolean;
  cause?: unknown;
}

export class DataSyncError extends Error {
  override name = 'DataSyncError';
  readonly code: ErrorCode;
  readonly side: Side;
  readonly retryable: boolean;
  readonly endpoint: string | undefined;
  readonly path: string | undefined;

  constructor(message: string, init: DataSyncErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.side = init.side;
    this.retryable = init.retryable ?? RETRYABLE.has(init.code);
    this.endpoint = init.endpoint;
    this.path = init.path;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, side: this.side, retryable: this.retryable, message: this.message, endpoint: this.endpoint, path: this.path };
  }
}

/** Finds a DataSyncError anywhere in an error's `cause` chain. */
export function asDataSyncError(err: unknown): DataSyncError | undefined {
  for (let e: unknown = err, depth = 0; e != null && depth < 10; depth++) {
    if (e instanceof DataSyncError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isRetryable(err: unknown): boolean {
  return asDataSyncError(err)?.retryable ?? false;
}

export function hasCode(err: unknown, code: ErrorCode): boolean {
  return asDataSyncError(err)?.code === code;
}

/** The sentinel for an absent optional capability, as rclone's fs.ErrorCantCopy. */
export function unsupported(what: string, endpoint?: string): DataSyncError {
  return new DataSyncError(`${what} is not supported by ${endpoint ?? 'this backend'}`, {
    code: 'Unsupported',
    side: 'internal',
    ...(endpoint === undefined ? {} : { endpoint }),
  });
}
