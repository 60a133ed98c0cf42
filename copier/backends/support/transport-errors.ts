// The one place that says what an HTTP status or a Node/undici network error code means, for every
// backend's error translation. Service-specific names (S3's SlowDown, Azure's ServerBusy, HDFS's
// StandbyException) stay in each backend's errors.ts and are checked first.
import type { ErrorCode } from '../../errors.ts';

/** Node, undici and TLS error codes: connection trouble is Unreachable, a dropped stream Transient. */
export const NETWORK_ERROR_CODES: Readonly<Record<string, ErrorCode>> = {
  ECONNREFUSED: 'Unreachable',
  ENOTFOUND: 'Unreachable',
  EAI_AGAIN: 'Unreachable',
  EHOSTUNREACH: 'Unreachable',
  ENETUNREACH: 'Unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'Unreachable',
  // TLS: the server cannot be reached securely.
  ERR_SSL_WRONG_VERSION_NUMBER: 'Unreachable',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'Unreachable',
  SELF_SIGNED_CERT_IN_CHAIN: 'Unreachable',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'Unreachable',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'Unreachable',
  CERT_HAS_EXPIRED: 'Unreachable',
  ERR_TLS_CERT_ALTNAME_INVALID: 'Unreachable',
  ECONNRESET: 'Transient',
  EPIPE: 'Transient',
  UND_ERR_SOCKET: 'Transient',
  UND_ERR_CLOSED: 'Transient',
  ETIMEDOUT: 'Timeout',
  UND_ERR_HEADERS_TIMEOUT: 'Timeout',
  UND_ERR_BODY_TIMEOUT: 'Timeout',
  UND_ERR_ABORTED: 'Aborted',
  ABORT_ERR: 'Aborted',
};

/** What an HTTP error status means when the service said nothing more specific. */
export function codeForHttpStatus(status: number): ErrorCode {
  if (status === 404) return 'NotFound';
  if (status === 401) return 'Unauthenticated';
  if (status === 403) return 'PermissionDenied';
  if (status === 408) return 'Timeout';
  if (status === 409) return 'AlreadyExists';
  if (status === 412) return 'PreconditionFailed';
  if (status === 429 || status === 503) return 'Throttled';
  if (status >= 500) return 'Transient';
  return 'Internal';
}
