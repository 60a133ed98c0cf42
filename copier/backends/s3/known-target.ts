// The simple S3 requests (a listing page, a GET, a single PUT, a batch delete) sent without the
// SDK, where everything a request needs is known up front.
//
// Why: every DataSync process (the planner, each shard worker, each retry, each Job pod) used to
// load the SDK before its first request and send every request through its middleware. On this
// repository's benchmarks that was ~70 ms of CPU to load, and 1.1-3.4 ms of CPU per request
// while the process is young (0.5-0.8 ms here; 100 one-key listings, bench-era machine). A no-change
// sync (B3) sends ~35 requests and nothing else; a shard worker (B7) starts with a few GETs and PUTs,
// on a machine where four of them start at once.
//
// Known up front means: an explicit endpoint addressed path-style (MinIO, Ceph, R2 and the like,
// and any S3 endpoint given as a URL), and static credentials (the endpoint's Secret, or the
// AWS_* environment variables the SDK's own chain would pick first). AWS itself without an
// endpoint (region redirects, virtual hosts, FIPS and dual-stack endpoints), profiles and role
// credentials stay with the SDK.
//
// Nothing is judged here but success and a GET's 404. Any other answer, and any failure to get
// one, is a KnownTargetMiss: s3.ts sends the same request through the SDK, so retries, clock-skew
// correction and error messages are the SDK's as always, and stops using this client.
import { createHash } from 'node:crypto';
import type http from 'node:http';
import type { Readable } from 'node:stream';
import type { S3Endpoint } from '../../../api/types.ts';
import { amzDate, encodeKey, encodeQueryValue, serviceError, sigV4Authorization, SigningKeys, type DirectCredentials, type DirectTarget } from './direct-put.ts';
import { collect } from '../support/streams.ts';

export interface ListQuery { prefix: string; delimiter?: string | undefined; token?: string | undefined; startAfter?: string | undefined }

/** This client did not get the answer; the SDK is to send the request again. */
export class KnownTargetMiss extends Error {
  override readonly name = 'KnownTargetMiss';
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

/**
 * Where the SDK would send a path-style request for `bucket` at an explicit endpoint, or undefined
 * when that is not something to work out without it (no endpoint, virtual-hosted addressing, a
 * URL that is not plain http(s)).
 */
export function knownTarget(ep: Pick<S3Endpoint, 'endpoint' | 'bucket'>, region: string, forcePathStyle: boolean): DirectTarget | undefined {
  if (ep.endpoint === undefined || !forcePathStyle) return undefined;
  let url: URL;
  try {
    url = new URL(ep.endpoint);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username || url.password) return undefined;
  const basePath = `${url.pathname.replace(/\/+$/, '')}/${encodeQueryValue(ep.bucket)}`;
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1'); // node:http wants an IPv6 address bare
  return { protocol: url.protocol, hostname, port: url.port ? Number(url.port) : undefined, host: url.host, basePath, region, service: 's3' };
}

/**
 * The credentials the SDK's default chain would take first, when they are static: the
 * environment's key pair, unless AWS_PROFILE (which makes the chain skip it) is set.
 */
export function environmentCredentials(env: NodeJS.ProcessEnv = process.env): DirectCredentials | undefined {
  const accessKeyId = env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
  if (!accessKeyId || !secretAccessKey || env['AWS_PROFILE']) return undefined;
  const sessionToken = env['AWS_SESSION_TOKEN'];
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/** Pure: a canonical query (sorted by name, RFC 3986-encoded), as SigV4 signs it and as sent. */
export function canonicalQuery(params: Array<[string, string]>): string {
  return [...params].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([k, v]) => `${k}=${encodeQueryValue(v)}`).join('&');
}

/** Pure: the query of a ListObjectsV2 page. */
export function listQuery(q: ListQuery): string {
  const params: Array<[string, string]> = [['list-type', '2'], ['prefix', q.prefix]];
  if (q.delimiter) params.push(['delimiter', q.delimiter]);
  if (q.token) params.push(['continuation-token', q.token]);
  if (q.startAfter) params.push(['start-after', q.startAfter]);
  return canonicalQuery(params);
}

/** Pure: a DeleteObjects body (quiet: only failures are answered). */
export function deleteBody(keys: string[]): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
  return `<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>${keys.map((k) => `<Object><Key>${esc(k)}</Key></Object>`).join('')}</Delete>`;
}

interface Request {
  method: string;
  path: string;
  query?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  signal?: AbortSignal | undefined;
}

export class KnownTargetClient {
  readonly #target: DirectTarget;
  readonly #creds: DirectCredentials;
  readonly #timeoutMs: number;
  readonly #agent: http.Agent;
  readonly #keys: SigningKeys;

  constructor(target: DirectTarget, creds: DirectCredentials, opts: { timeoutMs: number }) {
    this.#target = target;
    this.#creds = creds;
    this.#timeoutMs = opts.timeoutMs;
    this.#agent = new (transport(target)).Agent({ keepAlive: true });
    this.#keys = new SigningKeys(target);
  }

  get target(): DirectTarget { return this.#target; }
  get credentials(): DirectCredentials { return this.#creds; }

  /** The raw body of a ListObjectsV2 page. */
  async list(q: ListQuery, signal?: AbortSignal): Promise<Buffer> {
    const res = await this.#send({ method: 'GET', path: `${this.#target.basePath}/`, query: listQuery(q), signal });
    if (res.statusCode !== 200) throw miss(res);
    return collect(res);
  }

  /** The object's body, streamed; a 404 is thrown as the SDK would (NoSuchKey, NoSuchBucket). */
  async get(key: string, range: string | undefined, signal?: AbortSignal): Promise<Readable> {
    const res = await this.#send({ method: 'GET', path: `${this.#target.basePath}/${encodeKey(key)}`, headers: range ? { range } : {}, signal });
    if (res.statusCode === 200 || res.statusCode === 206) return res;
    if (res.statusCode === 404) throw serviceError(404, (await collect(res)).toString('utf8').slice(0, 65_536), res.headers);
    throw miss(res);
  }

  /** A single PUT of a body in memory; resolves to the ETag. `headers`: lower-case x-amz-*, content-type, if-none-match. */
  async put(key: string, body: Buffer, headers: Record<string, string>, signal?: AbortSignal): Promise<string | undefined> {
    // UNSIGNED-PAYLOAD: the signed x-amz-checksum-crc32c header protects the body (see s3.ts).
    const res = await this.#send({ method: 'PUT', path: `${this.#target.basePath}/${encodeKey(key)}`, headers: { ...headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, body, signal });
    if (res.statusCode !== 200) throw miss(res);
    res.resume();
    const etag = res.headers['etag'];
    return Array.isArray(etag) ? etag[0] : etag;
  }

  /** DeleteObjects of up to 1,000 keys; any key the server did not delete is a miss (the SDK's answer names it). */
  async deleteObjects(keys: string[]): Promise<void> {
    const body = Buffer.from(deleteBody(keys));
    const res = await this.#send({
      method: 'POST', path: `${this.#target.basePath}/`, query: canonicalQuery([['delete', '']]), body,
      headers: { 'content-md5': createHash('md5').update(body).digest('base64'), 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') },
    });
    if (res.statusCode !== 200) throw miss(res);
    const text = (await collect(res)).toString('utf8');
    if (!text.includes('<DeleteResult') || text.includes('<Error>')) throw new KnownTargetMiss('DeleteObjects answered with errors');
  }

  close(): void {
    this.#agent.destroy();
  }

  #send(r: Request): Promise<http.IncomingMessage> {
    const t = this.#target;
    const headers: Record<string, string> = {
      'x-amz-content-sha256': EMPTY_SHA256,
      ...r.headers,
      host: t.host,
      'x-amz-date': amzDate(Date.now()),
      ...(r.body ? { 'content-length': String(r.body.length) } : {}),
      ...(this.#creds.sessionToken ? { 'x-amz-security-token': this.#creds.sessionToken } : {}),
    };
    headers['authorization'] = sigV4Authorization(r.method, r.path, headers, this.#creds.accessKeyId, t, this.#keys.for(this.#creds.secretAccessKey, headers['x-amz-date']!.slice(0, 8)), r.query ?? '');
    return new Promise((resolve, reject) => {
      const req = transport(t).request({
        protocol: t.protocol, hostname: t.hostname, port: t.port, path: r.query ? `${r.path}?${r.query}` : r.path, method: r.method, headers, agent: this.#agent,
        // Silence this long, before or after connecting, ends the attempt: the SDK then sends the
        // request again with its own timeouts and retries.
        timeout: this.#timeoutMs, ...(r.signal ? { signal: r.signal } : {}),
      }, resolve);
      req.on('timeout', () => req.destroy(new KnownTargetMiss('timed out')));
      req.on('error', (err) => reject(r.signal?.aborted ? err : new KnownTargetMiss(err.message)));
      req.end(r.body);
    });
  }
}

/** node:http, or node:https, loaded when first needed (https brings TLS, which a plain-http endpoint never uses). */
function transport(t: DirectTarget): typeof http {
  return process.getBuiltinModule(t.protocol === 'https:' ? 'node:https' : 'node:http') as typeof http;
}

function miss(res: http.IncomingMessage): KnownTargetMiss {
  res.resume();
  return new KnownTargetMiss(`HTTP ${res.statusCode ?? '?'}`);
}
