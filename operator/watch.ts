// List-then-watch with the known failure modes handled: a watch that errors or ends restarts from
// the last resourceVersion with exponential backoff; 410 Gone (the version was compacted) relists;
// a watchdog aborts a watch that has gone silent (no event or bookmark for too long) — a half-dead
// TCP connection otherwise leaves the operator blind without any error.
import type { Logger } from 'pino';
import type { Watch } from '@kubernetes/client-node';

export interface KubeObject { metadata?: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> } }
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'SYNC';

export interface ListWatchOptions {
  name: string;
  watch: Watch;
  /** Watch path, e.g. /apis/batch/v1/namespaces/x/jobs */
  path: string;
  query?: Record<string, string>;
  list: () => Promise<{ items: KubeObject[]; metadata?: { resourceVersion?: string } }>;
  onEvent: (type: WatchEventType, obj: KubeObject) => void;
  log: Logger;
  watchdogMs?: number;
  timeoutSeconds?: number;
  maxBackoffMs?: number;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });

export class ListWatch {
  private readonly opts: ListWatchOptions;
  private readonly stopper = new AbortController();
  private current: AbortController | undefined;
  private synced = false;
  /** Counts for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, gone: 0, watchdogAborts: 0, errors: 0 };

  constructor(opts: ListWatchOptions) { this.opts = opts; }

  get hasSynced(): boolean { return this.synced; }

  start(): Promise<void> { return this.loop(); }

  stop(): void {
    this.stopper.abort();
    this.current?.abort();
  }

  private async loop(): Promise<void> {
    const { log } = this.opts;
    let backoff = 500;
    const signal = this.stopper.signal;
    while (!signal.aborted) {
      try {
        const listed = await this.opts.list();
        this.stats.lists++;
        for (const item of listed.items) this.opts.onEvent('SYNC', item);
        this.synced = true;
        let rv = listed.metadata?.resourceVersion ?? '';
        while (!signal.aborted) {
          const result = await this.watchOnce(rv);
          if (result.resourceVersion) rv = result.resourceVersion;
          if (result.gone) { this.stats.gone++; log.info({ watch: this.opts.name }, 'resourceVersion expired (410 Gone): relisting'); break; }
          if (result.error) throw result.error;
          backoff = 500; // a clean end (server timeout, watchdog) resumes at once
        }
      } catch (err) {
        this.stats.errors++;
        if (signal.aborted) break;
        log.warn({ watch: this.opts.name, err: (err as Error).message, retryInMs: backoff }, 'watch failed; retrying');
        await sleep(backoff, signal);
        backoff = Math.min(this.opts.maxBackoffMs ?? 30_000, backoff * 2);
      }
    }
  }

  private async watchOnce(rv: string): Promise<{ resourceVersion?: string; gone?: boolean; error?: Error }> {
    const { watch, path, log } = this.opts;
    this.stats.watches++;
    let lastSeen = Date.now();
    let latestRv = rv;
    let gone = false;
    let controller: AbortController | undefined;
    let watchdog: NodeJS.Timeout | undefined;
    try {
      return await new Promise((resolve) => {
        let finished = false;
        const finish = (error?: unknown): void => {
          if (finished) return;
          finished = true;
          if (watchdog) clearInterval(watchdog);
          if ((error as { statusCode?: number } | undefined)?.statusCode === 410) gone = true;
          // client-node aborts a watch after 30 s without data (TimeoutError): on a quiet resource that
          // is a normal end, resumed from the last resourceVersion without backoff or relist.
          const isAbort = ['AbortError', 'TimeoutError'].includes((error as Error | undefined)?.name ?? '');
          resolve({
            resourceVersion: latestRv,
            gone,
            ...(error && !isAbort && !gone ? { error: error instanceof Error ? error : new Error(String(error)) } : {}),
          });
        };
        const query = { ...(this.opts.query ?? {}), allowWatchBookmarks: 'true', timeoutSeconds: String(this.opts.timeoutSeconds ?? 240), ...(rv ? { resourceVersion: rv } : {}) };
        watch.watch(path, query, (type: string, obj: unknown) => {
          lastSeen = Date.now();
          const o = obj as KubeObject & { code?: number; kind?: string };
          if (type === 'ERROR') {
            if (o.code === 410) gone = true;
            controller?.abort();
            finish(gone ? undefined : new Error(`watch error: ${JSON.stringify(obj)}`));
            return;
          }
          if (o.metadata?.resourceVersion) latestRv = o.metadata.resourceVersion;
          if (type === 'BOOKMARK') return;
          this.opts.onEvent(type as WatchEventType, o);
        }, (err: unknown) => finish(err ?? undefined)).then((c) => {
          controller = c;
          this.current = c;
          if (this.stopper.signal.aborted || finished) { c.abort(); return; }
          const limit = this.opts.watchdogMs ?? 180_000;
          watchdog = setInterval(() => {
            if (Date.now() - lastSeen > limit) {
              this.stats.watchdogAborts++;
              log.warn({ watch: this.opts.name, silentMs: Date.now() - lastSeen }, 'watch silent too long: restarting');
              c.abort();
              finish();
            }
          }, Math.min(limit, 5000));
          watchdog.unref();
        }, (err: unknown) => {
          // 410 on the initial request surfaces here as an HTTP error
          const code = (err as { statusCode?: number; code?: number }).statusCode ?? (err as { code?: number }).code;
          if (code === 410) gone = true;
          finish(gone ? undefined : err);
        });
      });
    } finally {
      if (watchdog) clearInterval(watchdog);
    }
  }
}
