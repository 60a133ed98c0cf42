// Leader election on a coordination.k8s.io Lease, after client-go's leaderelection: a candidate
// takes the Lease when it is free or its holder has not renewed within leaseDuration — measured on
// the candidate's own clock from when it last saw the record change, so clock skew between
// replicas does not matter. Updates carry the resourceVersion, so two candidates never both win.
import type { Logger } from 'pino';
import type { V1Lease } from '@kubernetes/client-node';
import { isConflict, isNotFound, errorMessage, type Kube } from './kube.ts';

/**
 * Lease times are MicroTime: the API server insists on six fractional digits, while client-node
 * would send a Date as milliseconds. A string passes through its serializer untouched.
 */
function microTime(d: Date): Date {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}

export interface LeaderElectionOptions {
  kube: Kube;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

export class LeaderElector {
  private readonly o: Required<Omit<LeaderElectionOptions, 'log' | 'kube' | 'onStartedLeading' | 'onStoppedLeading'>> & LeaderElectionOptions;
  private leading = false;
  private observedHolder = '';
  private observedRenew = '';
  private observedAt = 0;
  private lastRenewed = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The acquire-or-renew under way, so stop() cannot race a renew that re-takes the lease. */
  private inFlight: Promise<void> | undefined;

  constructor(opts: LeaderElectionOptions) {
    this.o = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000, ...opts };
  }

  get isLeader(): boolean { return this.leading; }

  start(): void { this.runTick(); }

  private runTick(): void {
    this.inFlight = this.tick().finally(() => { this.inFlight = undefined; });
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.runTick(), this.o.retryPeriodMs);
  }

  private async tick(): Promise<void> {
    try {
      const ok = await this.tryAcquireOrRenew();
      if (ok) {
        this.lastRenewed = Date.now();
        if (!this.leading && !this.stopped) {
          this.leading = true;
          this.o.log.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity }, 'became leader');
          this.o.onStartedLeading();
        }
      } else if (this.leading) {
        this.lose('another candidate holds the lease');
      }
    } catch (err) {
      this.o.log.warn({ err: errorMessage(err) }, 'lease update failed');
      if (this.leading && Date.now() - this.lastRenewed > this.o.renewDeadlineMs) this.lose('could not renew within the renew deadline');
    }
    this.schedule();
  }

  private lose(why: string): void {
    this.leading = false;
    this.o.log.warn({ why }, 'lost leadership');
    this.o.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { kube, namespace, name, identity } = this.o;
    const now = new Date();
    const spec = (prev?: V1Lease['spec']): NonNullable<V1Lease['spec']> => ({
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      acquireTime: prev?.holderIdentity === identity && prev.acquireTime ? prev.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (prev?.leaseTransitions ?? 0) + (prev?.holderIdentity === identity ? 0 : 1),
    });
    let lease: V1Lease;
    try {
      lease = await kube.coordination.readNamespacedLease({ namespace, name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await kube.coordination.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec: { ...spec(), leaseTransitions: 0 } } });
        return true;
      } catch (e) {
        if (isConflict(e)) return false;
        throw e;
      }
    }
    const holder = lease.spec?.holderIdentity ?? '';
    const renew = String(lease.spec?.renewTime ?? '');
    if (holder !== this.observedHolder || renew !== this.observedRenew) {
      this.observedHolder = holder;
      this.observedRenew = renew;
      this.observedAt = Date.now();
    }
    const durationMs = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
    if (holder && holder !== identity && Date.now() - this.observedAt < durationMs) return false;
    try {
      await kube.coordination.replaceNamespacedLease({ namespace, name, body: { metadata: { ...lease.metadata, name, namespace }, spec: spec(lease.spec) } });
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  /** Stop campaigning; a leader hands the lease over at once by clearing the holder. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inFlight;
    if (!this.leading) return;
    this.leading = false;
    const { kube, namespace, name } = this.o;
    // A conflict means the lease changed under us (our own late renew, or a takeover): read again.
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const lease = await kube.coordination.readNamespacedLease({ namespace, name });
        if (lease.spec?.holderIdentity !== this.o.identity) return;
        await kube.coordination.replaceNamespacedLease({ namespace, name, body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 } } });
        return;
      } catch (err) {
        if (isConflict(err) && attempt < 3) continue;
        this.o.log.warn({ err: errorMessage(err) }, 'could not release the lease');
        return;
      }
    }
  }
}
