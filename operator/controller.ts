// Wires watches to the work queue and the queue to reconcile. Watches on DataSyncs, and on the Jobs
// and pods labelled datasync.dev/name, all map to the DataSync's key; a periodic resync covers
// anything a watch missed.
import type { Logger } from 'pino';
import { GROUP, VERSION, PLURAL } from '../api/types.ts';
import { LABEL_NAME } from './names.ts';
import { ListWatch, type KubeObject } from './watch.ts';
import { WorkQueue } from './queue.ts';
import { reconcile, type ReconcilerDeps } from './reconcile.ts';
import { errorMessage } from './kube.ts';

export interface ControllerOptions extends ReconcilerDeps {
  /** Namespaces to watch; empty means all. */
  namespaces: string[];
  workers?: number;
  resyncMs?: number;
  watchdogMs?: number;
}

export class Controller {
  private readonly o: ControllerOptions;
  readonly queue: WorkQueue;
  private readonly watches: ListWatch[] = [];
  private readonly known = new Set<string>();
  private workers: Promise<void>[] = [];
  private resync: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(o: ControllerOptions) {
    this.o = o;
    this.log = o.log;
    this.queue = new WorkQueue({ onDepth: (d) => o.metrics.queueDepth.set(d) });
  }

  get synced(): boolean { return this.watches.length > 0 && this.watches.every((w) => w.hasSynced); }

  start(): void {
    const { kube } = this.o;
    const scopes = this.o.namespaces.length ? this.o.namespaces : [undefined];
    for (const ns of scopes) {
      const nsPath = ns ? `/namespaces/${ns}` : '';
      this.watches.push(new ListWatch({
        name: `datasyncs${ns ? `/${ns}` : ''}`, watch: kube.watch, log: this.log, ...(this.o.watchdogMs ? { watchdogMs: this.o.watchdogMs } : {}),
        path: `/apis/${GROUP}/${VERSION}${nsPath}/${PLURAL}`,
        list: async () => (ns
          ? kube.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL })
          : kube.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as Promise<{ items: KubeObject[] }>,
        onEvent: (type, obj) => {
          const key = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
          if (type === 'DELETED') this.known.delete(key);
          else this.known.add(key);
          this.queue.add(key);
        },
      }));
      const owned = (kind: 'jobs' | 'pods'): ListWatch => new ListWatch({
        name: `${kind}${ns ? `/${ns}` : ''}`, watch: kube.watch, log: this.log, ...(this.o.watchdogMs ? { watchdogMs: this.o.watchdogMs } : {}),
        path: kind === 'jobs' ? `/apis/batch/v1${nsPath}/jobs` : `/api/v1${nsPath}/pods`,
        query: { labelSelector: LABEL_NAME },
        list: async () => {
          const labelSelector = LABEL_NAME;
          if (kind === 'jobs') return ns ? kube.batch.listNamespacedJob({ namespace: ns, labelSelector }) : kube.batch.listJobForAllNamespaces({ labelSelector });
          return ns ? kube.core.listNamespacedPod({ namespace: ns, labelSelector }) : kube.core.listPodForAllNamespaces({ labelSelector });
        },
        // Label values are the DataSync name (hashed only beyond 63 characters).
        onEvent: (_type, obj) => {
          const name = obj.metadata?.labels?.[LABEL_NAME];
          if (name && obj.metadata?.namespace) this.queue.add(`${obj.metadata.namespace}/${name}`);
        },
      });
      this.watches.push(owned('jobs'), owned('pods'));
    }
    for (const w of this.watches) void w.start();
    this.resync = setInterval(() => { for (const k of this.known) this.queue.add(k); }, this.o.resyncMs ?? 60_000);
    this.resync.unref();
    this.workers = Array.from({ length: this.o.workers ?? 2 }, () => this.work());
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const [namespace, name] = key.split('/') as [string, string];
      try {
        this.o.metrics.reconciles.inc();
        const result = await reconcile(this.o, namespace, name);
        this.queue.forget(key);
        if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      } catch (err) {
        this.o.metrics.reconcileErrors.inc();
        const delay = this.queue.addRateLimited(key);
        this.log.warn({ key, err: errorMessage(err), retryInMs: delay }, 'reconcile failed');
      } finally {
        this.queue.done(key);
      }
    }
  }

  /** Stops watching and taking work, and waits for reconciles in flight to finish. */
  async stop(): Promise<void> {
    if (this.resync) clearInterval(this.resync);
    for (const w of this.watches) w.stop();
    this.queue.shutdown();
    await Promise.all(this.workers);
  }
}
