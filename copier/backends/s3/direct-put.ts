// PutObject of a body already in memory, sent without the SDK's per-request machinery.
//
// Why: on B2 (20,000 × 16 KiB files to MinIO) the SDK's middleware stack, endpoint rules, schema
// serde and signer cost ~0.6 ms of CPU per PutObject, over 40% of the copier's CPU, on a machine
// where the S3 server shares the cores. A single PUT of a buffered body is simple enough to send
// directly. The SDK stays in charge of everything that needs judgement:
// - where requests go: PutObjects go through the SDK first (s3.ts: DIRECT_AFTER_PUTS), and a
//   middleware learns from the first request it built and signed (protocol, host, path before the
//   key, signing region and service).
//   Only a plain SigV4 "s3" request with the key at the end of its path is learned; anything else
//   (S3 Express sessions, SigV4a, a path the key is not at the end of) keeps every PUT in the SDK;
// - credentials: the SDK's own provider (refreshing temporary ones), asked per request;
// - clock skew: the SDK's systemClockOffset, which it corrects on RequestTimeTooSkewed.
// Errors come out shaped like the SDK's ({name, $metadata.httpStatusCode, message}), so
// errors.ts classifies them the same way, and transient ones are retried as the SDK would.
import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type http from 'node:http';
import type { Pool } from 'undici';
import type { FinalizeRequestMiddleware, MetadataBearer } from '@smithy/types'; // types only

export interface DirectTarget {
  protocol: 'http:' | 'https:';
  hostname: string;
  port: number | undefined;
  /** The Host header the SDK signed (hostname, with the port when not the default). */
  host: string;
  /** The request path before the key: '/bucket' path-style, '' virtual-hosted, plus any endpoint path. */
  basePath: string;
  region: string;
  service: string;
}

export interface DirectCredentials { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

export interface DirectPutOptions {
  credentials: () => Promise<DirectCredentials>;
  /** Milliseconds to add to Date.now() for the signature (the SDK's measured clock skew). */
  clockOffset: () => number;
  /** Told the server's clock when it refused a request as too skewed, so the retry signs with its time. */
  correctClock: (serverNowMs: number) => void;
  maxAttempts: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
}

export interface DirectPutRequest {
  key: string;
  body: Buffer;
  /** Lower-case header names: x-amz-checksum-crc32c, x-amz-meta-*, x-amz-storage-class, content-type, if-none-match. */
  headers: Record<string, string>;
  signal?: AbortSignal | undefined;
}

/** S3's key encoding in paths: RFC 3986 unreserved characters and '/' stay, everything else is %XX (UTF-8). */
export function encodeKey(key: string): string {
  return encodeQueryValue(key).replace(/%2F/g, '/');
}

/** SigV4's URI encoding of a query name or value: RFC 3986 unreserved characters stay, everything else is %XX (UTF-8). */
export function encodeQueryValue(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * A middleware for the learning PutObject: after the SDK has signed the request, records where it
 * goes (through `learned`), if it is a plain SigV4 request for `key` that this module can repeat.
 */
export function learnTarget<I extends object, O extends MetadataBearer>(key: string, learned: (t: DirectTarget) => void): FinalizeRequestMiddleware<I, O> {
  return (next) => async (args) => {
    const r = args.request as { protocol?: string; hostname?: string; port?: number | undefined; path?: string; headers?: Record<string, string> };
    const target = targetOf(r, key);
    const result = await next(args);
    if (target) learned(target);
    return result;
  };
}

/** Pure: the target a signed SDK request for `key` shows, or undefined if it is not one to repeat. */
export function targetOf(r: { protocol?: string; hostname?: string; port?: number | undefined; path?: string; headers?: Record<string, string> }, key: string): DirectTarget | undefined {
  const headers = r.headers ?? {};
  const auth = headers['authorization'] ?? headers['Authorization'];
  const scope = /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request,/.exec(auth ?? '');
  if (!scope || headers['x-amz-s3session-token'] !== undefined) return undefined;
  const protocol = r.protocol === 'https:' ? 'https:' : r.protocol === 'http:' ? 'http:' : undefined;
  const host = headers['host'] ?? headers['Host'];
  const suffix = `/${encodeKey(key)}`;
  if (!protocol || !r.hostname || !host || !r.path?.endsWith(suffix)) return undefined;
  return { protocol, hostname: r.hostname, port: r.port, host, basePath: r.path.slice(0, -suffix.length), region: scope[1]!, service: scope[2]! };
}

/** Codes the SDK's standard retry strategy retries, besides any 5xx and connection errors. */
const THROTTLING = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequests', 'RequestThrottled', 'RequestTimeout', 'RequestTimeTooSkewed']);
const RETRY_NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export class DirectPut {
  readonly #target: DirectTarget;
  readonly #opts: DirectPutOptions;
  /**
   * undici rather than node:http: ~25% less CPU per small PUT, measured against MinIO. Imported on
   * the first direct PUT: loading it costs ~25 ms of CPU, which a process that only puts a few
   * state files should not pay (see DIRECT_AFTER_PUTS in s3.ts).
   */
  #pool: Promise<Pool> | undefined;
  readonly #keys: SigningKeys;

  constructor(target: DirectTarget, opts: DirectPutOptions) {
    this.#target = target;
    this.#opts = opts;
    this.#keys = new SigningKeys(target);
  }

  #connections(): Promise<Pool> {
    const t = this.#target;
    const origin = `${t.protocol}//${t.hostname}${t.port === undefined ? '' : `:${t.port}`}`;
    return this.#pool ??= import('undici').then(({ Pool }) => new Pool(origin, {
      connect: { timeout: this.#opts.connectTimeoutMs },
      headersTimeout: this.#opts.idleTimeoutMs,
      bodyTimeout: this.#opts.idleTimeoutMs,
    }));
  }

  /** Stores the object; resolves to its ETag. Throws SDK-shaped errors. */
  async put(req: DirectPutRequest): Promise<string | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#once(req);
      } catch (err) {
        if (attempt >= this.#opts.maxAttempts || !retryable(err) || req.signal?.aborted) throw err;
        // The SDK's standard backoff: full jitter on 100 ms × 2^attempt, at most 20 s.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(20_000, 100 * 2 ** attempt)));
      }
    }
  }

  async close(): Promise<void> {
    if (this.#pool) await (await this.#pool).destroy();
  }

  async #once(req: DirectPutRequest): Promise<string | undefined> {
    const t = this.#target;
    const creds = await this.#opts.credentials();
    const path = `${t.basePath}/${encodeKey(req.key)}`;
    const headers: Record<string, string> = {
      ...req.headers,
      host: t.host,
      'content-length': String(req.body.length),
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', // the signed x-amz-checksum-crc32c protects the body (see s3.ts)
      'x-amz-date': amzDate(Date.now() + this.#opts.clockOffset()),
      ...(creds.sessionToken ? { 'x-amz-security-token': creds.sessionToken } : {}),
    };
    headers['authorization'] = sigV4Authorization('PUT', path, headers, creds.accessKeyId, t, this.#keys.for(creds.secretAccessKey, headers['x-amz-date']!.slice(0, 8)));
    const res = await (await this.#connections()).request({ path, method: 'PUT', headers, body: req.body, ...(req.signal ? { signal: req.signal } : {}) });
    if (res.statusCode >= 200 && res.statusCode < 300) {
      await res.body.dump(); // empty for a PUT; reading it frees the connection for reuse
      const etag = res.headers['etag'];
      return Array.isArray(etag) ? etag[0] : etag;
    }
    const text = (await res.body.text()).slice(0, 65_536);
    const err = serviceError(res.statusCode, text, res.headers as http.IncomingHttpHeaders);
    const serverNow = Date.parse(String(res.headers['date'] ?? ''));
    if (err.name === 'RequestTimeTooSkewed' && Number.isFinite(serverNow)) this.#opts.correctClock(serverNow);
    throw err;
  }
}

/**
 * The day's signing key for one scope, derived once per day and secret, and held as a KeyObject:
 * Node 24 makes one of a Buffer key on every createHmac, about 10 µs per signature against 1.5 µs
 * for the HMAC itself (bench/micro/sigv4-key.ts); 4% of B2's copier CPU went there.
 */
export class SigningKeys {
  readonly #scope: { region: string; service: string };
  #last: { day: string; secret: string; key: KeyObject } | undefined;

  constructor(scope: { region: string; service: string }) {
    this.#scope = scope;
  }

  for(secret: string, day: string): KeyObject {
    const k = this.#last;
    if (k && k.day === day && k.secret === secret) return k.key;
    const key = createSecretKey(signingKey(secret, day, this.#scope.region, this.#scope.service));
    this.#last = { day, secret, key };
    return key;
  }
}

/** SigV4's derived key: HMAC chain over the day, region and service. */
export function signingKey(secret: string, day: string, region: string, service: string): Buffer {
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request');
}

/**
 * Pure: the SigV4 Authorization header (docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html),
 * signing every header given; headers must include x-amz-date and x-amz-content-sha256, `path` is
 * already URI-encoded (S3 encodes it once), and `query` is canonical (known-target.ts:
 * canonicalQuery) and sent exactly so.
 */
export function sigV4Authorization(method: string, path: string, headers: Record<string, string>, accessKeyId: string, scope: { region: string; service: string }, key: Buffer | KeyObject, query = ''): string {
  const date = headers['x-amz-date']!;
  const names = Object.keys(headers).map((h) => h.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const canonicalHeaders = names.map((h) => `${h}:${String(lower[h]).trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const canonical = `${method}\n${path}\n${query}\n${canonicalHeaders}\n${signedHeaders}\n${lower['x-amz-content-sha256']}`;
  const credentialScope = `${date.slice(0, 8)}/${scope.region}/${scope.service}/aws4_request`;
  const toSign = `AWS4-HMAC-SHA256\n${date}\n${credentialScope}\n${createHash('sha256').update(canonical).digest('hex')}`;
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${credentialScope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

export function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, ''); // 20261121T101500Z
}

/** An S3 error response as the SDK would have thrown it: named by its <Code>, with the HTTP status. */
export function serviceError(status: number, body: string, headers: http.IncomingHttpHeaders = {}): Error {
  const tag = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)?.[1];
  const code = tag('Code') ?? (status === 404 ? 'NotFound' : status === 403 ? 'Forbidden' : status === 412 ? 'PreconditionFailed' : `Http${status}`);
  const e = new Error(unescapeXml(tag('Message') ?? `HTTP ${status}`)) as Error & { $metadata: object; $fault: string };
  e.name = code;
  e.$metadata = { httpStatusCode: status, ...(headers['x-amz-request-id'] ? { requestId: String(headers['x-amz-request-id']) } : {}) };
  e.$fault = status >= 500 ? 'server' : 'client';
  return e;
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp);/g, (_, n: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[n]!);
}

function retryable(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 429 || THROTTLING.has(e.name ?? '');
  return RETRY_NETWORK.has(e.code ?? '');
}
