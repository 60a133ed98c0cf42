// Prometheus metrics. One registry per operator instance so tests can run several in one process.
import { Registry, Counter, Histogram, Gauge, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  runs: Counter<'outcome'>;
  runsStarted: Counter<'trigger'>;
  bytesCopied: Counter;
  filesCopied: Counter;
  runDuration: Histogram;
  reconciles: Counter;
  reconcileErrors: Counter;
  queueDepth: Gauge;
  activeRuns: Gauge;
  isLeader: Gauge;
}

export function createMetrics(withDefaults = true): Metrics {
  const registry = new Registry();
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: 'datasync_operator_' });
  const registers = [registry];
  return {
    registry,
    runs: new Counter({ name: 'datasync_runs_total', help: 'Runs that ended, by outcome.', labelNames: ['outcome'], registers }),
    runsStarted: new Counter({ name: 'datasync_runs_started_total', help: 'Runs started, by trigger.', labelNames: ['trigger'], registers }),
    bytesCopied: new Counter({ name: 'datasync_bytes_copied_total', help: 'Bytes copied by finished runs.', registers }),
    filesCopied: new Counter({ name: 'datasync_files_copied_total', help: 'Files copied by finished runs.', registers }),
    runDuration: new Histogram({ name: 'datasync_run_duration_seconds', help: 'Duration of finished runs.', buckets: [10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600], registers }),
    reconciles: new Counter({ name: 'datasync_reconcile_total', help: 'Reconciles performed.', registers }),
    reconcileErrors: new Counter({ name: 'datasync_reconcile_errors_total', help: 'Reconciles that failed and were requeued.', registers }),
    queueDepth: new Gauge({ name: 'datasync_workqueue_depth', help: 'Keys waiting in the work queue.', registers }),
    activeRuns: new Gauge({ name: 'datasync_active_runs', help: 'Runs in progress seen by the last reconciles.', registers }),
    isLeader: new Gauge({ name: 'datasync_leader', help: '1 while this instance holds the leader lease.', registers }),
  };
}
