import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { startHttpServer } from './http.ts';
import { createMetrics } from './metrics.ts';

test('/metrics exposes the operator metrics; /healthz and /readyz answer', async () => {
  const metrics = createMetrics(false);
  metrics.runs.inc({ outcome: 'Succeeded' });
  metrics.queueDepth.set(3);
  let ready = false;
  const server = await startHttpServer({ host: '127.0.0.1', port: 0, registry: metrics.registry, log: pino({ level: 'silent' }), ready: () => ready });
  try {
    const addr = server.address() as { port: number };
    const base = `http://127.0.0.1:${addr.port}`;
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const name of ['datasync_runs_total{outcome="Succeeded"} 1', 'datasync_workqueue_depth 3', 'datasync_run_duration_seconds_bucket', 'datasync_reconcile_errors_total', 'datasync_bytes_copied_total', 'datasync_files_copied_total']) {
      assert.ok(text.includes(name), name);
    }
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 503);
    ready = true;
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
  } finally {
    server.close();
  }
});
