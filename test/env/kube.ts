// A minimal Kubernetes REST client for the environment itself (control-plane readiness, the pod
// runner, the environment's tests). It speaks plain JSON over TLS with either the admin client
// certificate or a bearer token, so the environment does not depend on a client library's API shape.
import https from 'node:https';
import { readFileSync } from 'node:fs';

export interface KubeCredentials {
  server: string;
  ca: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  token?: string;
}

export class KubeError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(method: string, path: string, status: number, body: string) {
    let reason = '';
    let message = body;
    try {
      const parsed = JSON.parse(body) as { reason?: string; message?: string };
      reason = parsed.reason ?? '';
      message = parsed.message ?? body;
    } catch {
      // not a Status object
    }
    super(`${method} ${path}: ${status} ${message}`);
    this.name = 'KubeError';
    this.status = status;
    this.reason = reason;
  }
}

export type Json = Record<string, unknown>;

export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

export class KubeClient {
  readonly server: string;
  private readonly agent: https.Agent;
  private readonly token: string | undefined;

  constructor(creds: KubeCredentials) {
    this.server = creds.server.replace(/\/$/, '');
    this.token = creds.token;
    this.agent = new https.Agent({
      ca: creds.ca,
      ...(creds.cert ? { cert: creds.cert } : {}),
      ...(creds.key ? { key: creds.key } : {}),
      keepAlive: true,
      maxSockets: 16,
    });
  }

  /** The admin client written by the control plane (files next to the kubeconfig). */
  static fromFiles(server: string, caFile: string, certFile: string, keyFile: string): KubeClient {
    return new KubeClient({ server, ca: readFileSync(caFile), cert: readFileSync(certFile), key: readFileSync(keyFile) });
  }

  withToken(token: string): KubeClient {
    const opts = this.agent.options;
    return new KubeClient({ server: this.server, ca: opts.ca as string | Buffer, token });
  }

  close(): void {
    this.agent.destroy();
  }

  async request<T = Json>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const { status, body } = await this.raw(method, path, options);
    if (status < 200 || status >= 300) throw new KubeError(method, path, status, body);
    return (body ? JSON.parse(body) : {}) as T;
  }

  get<T = Json>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
  post<T = Json>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, { body });
  }
  put<T = Json>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, { body });
  }
  /** JSON merge patch. */
  patch<T = Json>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body, contentType: 'application/merge-patch+json' });
  }
  delete<T = Json>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('DELETE', path, body === undefined ? {} : { body });
  }

  /** GET that returns undefined on 404. */
  async getIfExists<T = Json>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) return undefined;
      throw err;
    }
  }

  raw(method: string, path: string, options: RequestOptions = {}): Promise<{ status: number; body: string }> {
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (payload) {
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    if (this.token) headers['Authorization'] = `Bearer ${this.token}`;
    return new Promise((resolve, reject) => {
      const req = https.request(`${this.server}${path}`, { method, headers, agent: this.agent, timeout: options.timeoutMs ?? 30_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  /**
   * Stream watch events of a collection; `onEvent` gets each event. Resolves when the server ends
   * the watch or the signal aborts.
   */
  watch(path: string, onEvent: (type: string, object: Json) => void, signal: AbortSignal): Promise<void> {
    const sep = path.includes('?') ? '&' : '?';
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.token) headers['Authorization'] = `Bearer ${this.token}`;
    return new Promise((resolve) => {
      const req = https.request(`${this.server}${path}${sep}watch=1&allowWatchBookmarks=false`, { method: 'GET', headers, agent: this.agent, signal }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          resolve();
          return;
        }
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (!line.trim()) continue;
            try {
              const event = JSON.parse(line) as { type: string; object: Json };
              onEvent(event.type, event.object);
            } catch {
              // a partial or malformed line; the caller resyncs by listing anyway
            }
          }
        });
        res.on('end', () => resolve());
        res.on('error', () => resolve());
        res.on('close', () => resolve());
      });
      req.on('error', () => resolve());
      req.end();
    });
  }
}

/** Poll until fn returns a value other than undefined, or fail naming what was awaited. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const detail = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
