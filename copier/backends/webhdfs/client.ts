// A focused WebHDFS REST client on undici (see README.md for why not the npm `webhdfs` package).
// It speaks only the operations DataSync needs, streams bodies both ways, follows the NameNode's
// 307 redirect to a DataNode by hand (so the body is sent once, to the DataNode), and fails over
// between HA NameNodes on a refused connection or a StandbyException, remembering the active one.
import http from 'node:http';
import https from 'node:https';
import { Agent, request, type Dispatcher } from 'undici';
import type { Readable } from 'node:stream';
import { WebHdfsError } from './errors.ts';

export interface WebHdfsClientOptions {
  /** http(s)://host:port of each NameNode, tried in order. */
  namenodes: string[];
  /** Simple auth: sent as user.name. Ignored when a delegation token is given. */
  user?: string;
  delegationToken?: string;
  /** PEM CA bundle for https NameNodes and DataNodes (swebhdfs). */
  ca?: string;
  insecureSkipVerify?: boolean;
}

export interface FileStatus {
  pathSuffix: string;
  type: 'FILE' | 'DIRECTORY' | 'SYMLINK';
  length: number;
  modificationTime: number;
  accessTime: number;
  permission: string;
  owner: string;
  group: string;
  blockSize: number;
}

export interface FileChecksum {
  algorithm: string;
  bytes: string;
  length: number;
}

type Query = Record<string, string | number | boolean>;

/** Exceptions that mean "ask another NameNode". */
const FAILOVER_EXCEPTIONS = new Set(['StandbyException', 'ObserverRetryOnActiveException']);
const FAILOVER_NETWORK_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

export class WebHdfsClient {
  readonly namenodes: readonly string[];
  readonly #auth: Query;
  readonly #dispatcher: Agent;
  readonly #tls: https.RequestOptions;
  #active = 0;

  constructor(opts: WebHdfsClientOptions) {
    if (opts.namenodes.length === 0) throw new Error('webhdfs: at least one namenode is required');
    this.namenodes = opts.namenodes.map((n) => n.replace(/\/+$/, '').replace(/^swebhdfs:/, 'https:').replace(/^webhdfs:/, 'http:'));
    this.#auth = opts.delegationToken ? { delegation: opts.delegationToken } : opts.user ? { 'user.name': opts.user } : {};
    this.#tls = { ...(opts.ca ? { ca: opts.ca } : {}), ...(opts.insecureSkipVerify ? { rejectUnauthorized: false } : {}) };
    this.#dispatcher = new Agent({
      connect: { ...(opts.ca ? { ca: opts.ca } : {}), ...(opts.insecureSkipVerify ? { rejectUnauthorized: false } : {}), timeout: 10_000 },
      keepAliveTimeout: 4_000,
    });
  }

  /** The NameNode currently believed active. */
  get activeNamenode(): string {
    return this.namenodes[this.#active]!;
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  // ---- operations ----

  async getFileStatus(path: string, signal?: AbortSignal): Promise<FileStatus> {
    return ((await this.#json('GET', path, 'GETFILESTATUS', {}, signal)) as { FileStatus: FileStatus }).FileStatus;
  }

  /** One page of a directory, after `startAfter` (a child name); LISTSTATUS on servers without batches. */
  async listStatusPage(path: string, startAfter: string | undefined, signal?: AbortSignal): Promise<{ entries: FileStatus[]; remaining: number }> {
    try {
      const r = (await this.#json('GET', path, 'LISTSTATUS_BATCH', startAfter === undefined ? {} : { startAfter }, signal)) as {
        DirectoryListing: { partialListing: { FileStatuses: { FileStatus: FileStatus[] } }; remainingEntries: number };
      };
      return { entries: r.DirectoryListing.partialListing.FileStatuses.FileStatus, remaining: r.DirectoryListing.remainingEntries };
    } catch (err) {
      // Hadoop before 2.8 has no LISTSTATUS_BATCH: it answers IllegalArgumentException.
      if (!(err instanceof WebHdfsError && err.exception === 'IllegalArgumentException' && /op/i.test(err.message)) || startAfter !== undefined) throw err;
      const r = (await this.#json('GET', path, 'LISTSTATUS', {}, signal)) as { FileStatuses: { FileStatus: FileStatus[] } };
      return { entries: r.FileStatuses.FileStatus, remaining: 0 };
    }
  }

  /** CREATE: the NameNode answers 307 to a DataNode, which receives the streamed body. */
  async create(path: string, body: Readable, opts: { overwrite: boolean; permission?: string; signal?: AbortSignal }): Promise<void> {
    const location = await this.#redirect('PUT', path, 'CREATE', { overwrite: opts.overwrite, ...(opts.permission ? { permission: opts.permission } : {}) }, opts.signal);
    await this.#send('PUT', location, body, 201, opts.signal);
  }

  async append(path: string, body: Readable, signal?: AbortSignal): Promise<void> {
    const location = await this.#redirect('POST', path, 'APPEND', {}, signal);
    await this.#send('POST', location, body, 200, signal);
  }

  /** OPEN, streamed from the DataNode. */
  async open(path: string, opts: { offset?: number; length?: number; signal?: AbortSignal }): Promise<Readable> {
    const q: Query = {};
    if (opts.offset) q['offset'] = opts.offset;
    if (opts.length !== undefined) q['length'] = opts.length;
    const location = await this.#redirect('GET', path, 'OPEN', q, opts.signal);
    const res = await this.#raw('GET', location, undefined, opts.signal);
    if (res.statusCode !== 200) throw await errorOf(res);
    return res.body;
  }

  async getFileChecksum(path: string, signal?: AbortSignal): Promise<FileChecksum> {
    const location = await this.#redirect('GET', path, 'GETFILECHECKSUM', {}, signal);
    const res = await this.#raw('GET', location, undefined, signal);
    if (res.statusCode !== 200) throw await errorOf(res);
    return ((await res.body.json()) as { FileChecksum: FileChecksum }).FileChecksum;
  }

  /**
   * RENAME through rename2 (renameoptions set): unlike the plain boolean RENAME, it fails with a
   * typed exception, and with OVERWRITE it replaces an existing file atomically.
   */
  async rename(from: string, to: string, overwrite: boolean): Promise<void> {
    await this.#json('PUT', from, 'RENAME', { destination: to, renameoptions: overwrite ? 'OVERWRITE' : 'NONE' });
  }

  async delete(path: string, recursive: boolean): Promise<boolean> {
    return ((await this.#json('DELETE', path, 'DELETE', { recursive })) as { boolean: boolean }).boolean;
  }

  async mkdirs(path: string, permission?: string): Promise<void> {
    await this.#json('PUT', path, 'MKDIRS', permission ? { permission } : {});
  }

  /** CONCAT: appends sources (absolute paths, no commas) to target and removes them. */
  async concat(target: string, sources: string[]): Promise<void> {
    if (sources.some((s) => s.includes(','))) throw new Error('webhdfs CONCAT sources cannot contain a comma');
    await this.#json('POST', target, 'CONCAT', { sources: sources.join(',') });
  }

  async setTimes(path: string, modificationTime: number, accessTime = -1): Promise<void> {
    await this.#json('PUT', path, 'SETTIMES', { modificationtime: Math.floor(modificationTime), accesstime: accessTime });
  }

  async setPermission(path: string, octal: string): Promise<void> {
    await this.#json('PUT', path, 'SETPERMISSION', { permission: octal });
  }

  async setOwner(path: string, owner?: string, group?: string): Promise<void> {
    await this.#json('PUT', path, 'SETOWNER', { ...(owner ? { owner } : {}), ...(group ? { group } : {}) });
  }

  // ---- transport ----

  #url(namenode: string, path: string, op: string, q: Query): string {
    const encoded = encodePath(path);
    const params = new URLSearchParams({ op, ...stringify(this.#auth), ...stringify(q) });
    return `${namenode}/webhdfs/v1${encoded}?${params}`;
  }

  async #json(method: Dispatcher.HttpMethod, path: string, op: string, q: Query, signal?: AbortSignal): Promise<unknown> {
    const res = await this.#namenode(method, path, op, q, signal);
    if (res.statusCode !== 200) throw await errorOf(res);
    const text = await res.body.text();
    return text === '' ? {} : JSON.parse(text);
  }

  /** First step of a two-step operation: the DataNode URL the NameNode redirects to. */
  async #redirect(method: Dispatcher.HttpMethod, path: string, op: string, q: Query, signal?: AbortSignal): Promise<string> {
    const res = await this.#namenode(method, path, op, q, signal);
    if (res.statusCode !== 307) throw await errorOf(res);
    await res.body.dump();
    const location = res.headers['location'];
    if (typeof location !== 'string') throw new WebHdfsError(502, 'IOException', `${op}: the namenode redirect has no Location`);
    // The NameNode builds Location with java.net.URI#toASCIIString, which NFC-normalizes the path:
    // an NFD name would silently become its NFC twin on the DataNode. Keep the DataNode and its
    // query, but send our own encoding of the path.
    const target = new URL(location);
    target.pathname = `/webhdfs/v1${encodePath(path)}`;
    return target.toString();
  }

  /**
   * Second step of CREATE/APPEND: streams body to the DataNode. Uses node:http rather than undici
   * because DataNodes answer an unsolicited "100 Continue" before the final status, which undici
   * rejects as a bad response.
   */
  async #send(method: Dispatcher.HttpMethod, url: string, body: Readable, expect: number, signal?: AbortSignal): Promise<void> {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    await new Promise<void>((resolve, reject) => {
      const req = client.request(
        target,
        {
          method,
          headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
          agent: false,
          ...(target.protocol === 'https:' ? this.#tls : {}),
          ...(signal ? { signal } : {}),
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status === expect) resolve();
            else reject(parseError(status, Buffer.concat(parts).toString('utf8')));
            req.destroy();
          });
        },
      );
      req.on('error', reject);
      body.on('error', (err) => req.destroy(err));
      body.pipe(req);
    });
  }

  async #raw(method: Dispatcher.HttpMethod, url: string, body: Readable | undefined, signal?: AbortSignal): Promise<Dispatcher.ResponseData> {
    return request(url, {
      method,
      dispatcher: this.#dispatcher,
      ...(body ? { body, headers: { 'content-type': 'application/octet-stream' } } : {}),
      ...(signal ? { signal } : {}),
    });
  }

  /** A NameNode request with HA failover: starts at the remembered active NameNode. */
  async #namenode(method: Dispatcher.HttpMethod, path: string, op: string, q: Query, signal?: AbortSignal): Promise<Dispatcher.ResponseData> {
    let lastError: unknown;
    for (let attempt = 0; attempt < this.namenodes.length; attempt++) {
      const index = (this.#active + attempt) % this.namenodes.length;
      let res: Dispatcher.ResponseData;
      try {
        res = await this.#raw(method, this.#url(this.namenodes[index]!, path, op, q), undefined, signal);
      } catch (err) {
        if (FAILOVER_NETWORK_CODES.has(String((err as { code?: unknown }).code))) {
          lastError = err;
          continue;
        }
        throw err;
      }
      if (res.statusCode === 403) {
        const err = await errorOf(res);
        if (FAILOVER_EXCEPTIONS.has(err.exception)) {
          lastError = err;
          continue;
        }
        throw err;
      }
      this.#active = index;
      return res;
    }
    throw lastError;
  }
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function stringify(q: Query): Record<string, string> {
  return Object.fromEntries(Object.entries(q).map(([k, v]) => [k, String(v)]));
}

/** Reads a RemoteException body: {"RemoteException":{"exception","javaClassName","message"}}. */
async function errorOf(res: Dispatcher.ResponseData): Promise<WebHdfsError> {
  return parseError(res.statusCode, await res.body.text().catch(() => ''));
}

function parseError(statusCode: number, text: string): WebHdfsError {
  const res = { statusCode };
  try {
    const r = (JSON.parse(text) as { RemoteException?: { exception?: string; message?: string } }).RemoteException;
    if (r?.exception) return new WebHdfsError(res.statusCode, r.exception, r.message ?? r.exception);
  } catch {
    // not JSON: a proxy or a servlet error page
  }
  return new WebHdfsError(res.statusCode, `HTTP${res.statusCode}`, `HTTP ${res.statusCode}${text ? `: ${text.slice(0, 200)}` : ''}`);
}
