// B6: operator overhead, on the bench's own local control plane (etcd, kube-apiserver,
// kube-controller-manager from the provisioned cache) with the local pod runner executing the copier
// pods as local processes, and the operator as `node operator/main.ts`. No target, no peer: the
// rows report values. Three measurements:
//
// 1. apply → first byte copied, apply → Succeeded, for a 1-file filesystem (hostPath) → MinIO sync.
//    "Apply" is the moment before the DataSync's POST. The first byte is seen at MinIO's door: the
//    destination endpoint is an HTTP tap (bench/lib/s3-tap.ts) that timestamps the first body byte
//    of the PUT of the copied object. Succeeded is the receipt of the watch event whose status says
//    phase Succeeded. Both clocks are this process's, millisecond resolution.
// 2. shard progress → status latency: two watches (copy pods, DataSyncs) timestamp each event as it
//    is received; each new value of a copy pod's progress annotation is matched with the first
//    DataSync event whose status.currentRun.progress.bytesCopied equals it. One shard, so a status
//    value comes from exactly one annotation; bandwidthLimit slows the run so it patches several times.
// 3. operator RSS with 500 idle (suspended) DataSyncs: a fresh operator, 500 objects created, every
//    one reconciled (status.observedGeneration and conditions), then VmRSS/VmHWM from /proc.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GROUP, PLURAL, VERSION, type DataSync, type DataSyncSpec } from '../../api/types.ts';
import type { Json } from '../../test/env/kube.ts';
import { ANNOTATION_PROGRESS, LABEL_NAME, LABEL_STEP } from '../../operator/names.ts';
import { createNamespace, ensureControlPlaneBinaries, memoryOf, startCluster, startOperator, watchCollection, type BenchCluster } from '../lib/cluster.ts';
import { countObjects, dropBucket, freshBucket } from '../lib/s3.ts';
import { nowMs, startS3Tap, type S3Tap } from '../lib/s3-tap.ts';
import { median } from '../lib/stats.ts';
import type { ResultRow } from '../lib/report.ts';
import type { Bench } from './common.ts';

const SCENARIO = 'B6 operator overhead';
const MiB = 2 ** 20;
const DATASET = 'local control plane (etcd, kube-apiserver, kube-controller-manager) + local pod runner';
const M = {
  firstByte: 'apply → first byte copied (1 file)',
  succeeded: 'apply → Succeeded (1 file)',
  progress: 'shard progress → status latency',
  rss: 'operator RSS with 500 idle DataSync objects',
} as const;
type Metric = (typeof M)[keyof typeof M];
const UNIT: Record<Metric, string> = { [M.firstByte]: 's', [M.succeeded]: 's', [M.progress]: 'ms', [M.rss]: 'MiB' };

const ONE_FILE_BYTES = 1 * MiB;
const PROGRESS_FILES = 4;
const PROGRESS_FILE_BYTES = 2 * MiB;
const PROGRESS_LIMIT = '1Mi';
const IDLE_OBJECTS = 500;

function resultRow(metric: Metric, samples: number[], flags: string, notes: string, value?: number): ResultRow {
  const v = value ?? (samples.length ? median(samples) : null);
  return {
    scenario: SCENARIO, metric, unit: UNIT[metric], datasync: v, peer: '—', peerValue: null, ratio: null, target: null, met: null,
    peerFlags: flags, dataset: DATASET, runs: { datasync: samples, peer: [] }, notes,
  };
}

const errText = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);
const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;
const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN; };

interface DsEvent { t: number; name: string; phase?: string; bytes?: number; observedGeneration?: number }
interface PodEvent { t: number; ds: string; step: string; pod: string; phase?: string; progress?: string }

/** Timestamped receipts of every DataSync and run-pod event in one namespace. */
class Recorder {
  readonly ds: DsEvent[] = [];
  readonly pods: PodEvent[] = [];
  private readonly ac = new AbortController();
  constructor(c: BenchCluster, namespace: string) {
    void watchCollection(c.kube, `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`, (_type, obj) => {
      const t = nowMs();
      const o = obj as unknown as DataSync;
      this.ds.push({
        t, name: o.metadata.name, ...(o.status?.phase ? { phase: o.status.phase } : {}),
        ...(o.status?.currentRun?.progress ? { bytes: o.status.currentRun.progress.bytesCopied } : {}),
        ...(o.status?.observedGeneration !== undefined ? { observedGeneration: o.status.observedGeneration } : {}),
      });
    }, this.ac.signal);
    void watchCollection(c.kube, `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(LABEL_NAME)}`, (_type, obj) => {
      const t = nowMs();
      const md = obj['metadata'] as { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
      const progress = md.annotations?.[ANNOTATION_PROGRESS];
      const phase = (obj['status'] as { phase?: string } | undefined)?.phase;
      this.pods.push({ t, ds: md.labels?.[LABEL_NAME] ?? '', step: md.labels?.[LABEL_STEP] ?? '', pod: md.name, ...(phase ? { phase } : {}), ...(progress ? { progress } : {}) });
    }, this.ac.signal);
  }

  /** Waits (on the recorded events) until `name` reaches Succeeded or Failed; returns that event. */
  async ended(name: string, timeoutMs: number): Promise<DsEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = this.ds.find((x) => x.name === name && (x.phase === 'Succeeded' || x.phase === 'Failed'));
      if (e) return e;
      if (Date.now() > deadline) throw new Error(`${name}: no Succeeded/Failed status after ${timeoutMs / 1000}s (last phase ${this.ds.filter((x) => x.name === name).at(-1)?.phase ?? 'none'})`);
      await sleep(10);
    }
  }

  async reconciled(name: string, timeoutMs: number): Promise<DsEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = this.ds.find((x) => x.name === name && x.observedGeneration !== undefined);
      if (e) return e;
      if (Date.now() > deadline) throw new Error(`${name}: not reconciled after ${timeoutMs / 1000}s`);
      await sleep(10);
    }
  }

  /** The first event of a run pod of this step (its creation), or the first one in `phase`. */
  firstPod(name: string, step: string, phase?: string): PodEvent | undefined {
    return this.pods.find((p) => p.ds === name && p.step === step && (!phase || p.phase === phase));
  }

  stop(): void { this.ac.abort(); }
}

async function createDataSync(c: BenchCluster, namespace: string, name: string, spec: DataSyncSpec): Promise<void> {
  await c.kube.post(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`, { apiVersion: `${GROUP}/${VERSION}`, kind: 'DataSync', metadata: { name, namespace }, spec });
}

function writeTree(dir: string, files: number, size: number): number {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(path.join(dir, files === 1 ? 'one.bin' : `part-${i}.bin`), randomBytes(size));
  return files * size;
}

export async function b6(b: Bench): Promise<void> {
  if (b.datasyncBlocked) {
    for (const m of Object.values(M)) b.rows.push(resultRow(m, [], '—', `not measured: datasync not runnable: ${b.datasyncBlocked}`));
    return;
  }
  const t0 = Date.now();
  const load = () => os.loadavg()[0]!.toFixed(1);
  const loadAtStart = load();
  let cluster: BenchCluster | undefined;
  let tap: S3Tap | undefined;
  let failed = false;
  const rows = new Map<Metric, ResultRow>();
  const fail = (metrics: Metric[], why: string) => {
    failed = true;
    for (const m of metrics) if (!rows.has(m)) rows.set(m, resultRow(m, [], '—', `not measured: ${why}`));
  };
  const buckets: string[] = [];
  try {
    ensureControlPlaneBinaries(b.log);
    tap = await startS3Tap(Number(new URL(b.ctx.s3.endpoint).port));
    cluster = await startCluster(b.log);
    const c = cluster;
    const ns = await createNamespace(c.kube, 'b6-runs');
    await c.kube.post(`/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'minio' }, stringData: { accessKeyId: b.ctx.s3.accessKeyId, secretAccessKey: b.ctx.s3.secretAccessKey } });
    const rec = new Recorder(c, ns);
    const op = startOperator(c, ns, 'runs');
    try {
      // Ready = it has reconciled something: its watches are up and its client is warm.
      await createDataSync(c, ns, 'probe', { source: { filesystem: { path: '/data/src' } }, destination: { s3: { bucket: 'none', endpoint: b.ctx.s3.endpoint } }, suspend: true });
      await rec.reconciled('probe', 60_000);
      b.log(`B6: operator up (pid ${op.pid}) in ${((Date.now() - t0) / 1000).toFixed(1)}s since B6 start`);
      const dest = (bucket: string, endpoint: string): DataSyncSpec['destination'] => ({
        s3: { bucket, endpoint, region: b.ctx.s3.region, forcePathStyle: true, credentialsSecretRef: { name: 'minio' } },
      });

      // ---- 1. apply → first byte, apply → Succeeded (1 file) ----
      try {
        const firstByte: number[] = [];
        const succeeded: number[] = [];
        const marks: Record<string, number[]> = { plan: [], copy: [], copyRunning: [], commit: [] };
        for (let i = 0; i < b.rounds; i++) {
          const name = `one-${i}`;
          const src = path.join(c.runDir, 'data', name);
          writeTree(src, 1, ONE_FILE_BYTES);
          const bucket = await freshBucket(b.s3c, 'b6-one');
          buckets.push(bucket);
          const applied = nowMs();
          await createDataSync(c, ns, name, { source: { filesystem: { path: '/data/src', volume: { hostPath: { path: src } } } }, destination: dest(bucket, tap.endpoint) });
          const end = await rec.ended(name, 180_000);
          if (end.phase !== 'Succeeded') throw new Error(`${name} ended ${end.phase} (logs: ${c.logs})`);
          const got = await countObjects(b.s3c, bucket);
          if (got.count !== 1 || got.bytes !== ONE_FILE_BYTES) throw new Error(`${name}: bucket holds ${got.count} objects, ${got.bytes} bytes`);
          const fb = tap.firstBodyByte(`/${bucket}/one.bin`);
          if (fb === undefined) throw new Error(`${name}: the tap saw no PUT of /${bucket}/one.bin`);
          firstByte.push(round((fb - applied) / 1000, 3));
          succeeded.push(round((end.t - applied) / 1000, 3));
          for (const step of ['plan', 'copy', 'commit'] as const) {
            const p = rec.firstPod(name, step);
            if (p) marks[step]!.push((p.t - applied) / 1000);
          }
          const running = rec.firstPod(name, 'copy', 'Running');
          if (running) marks['copyRunning']!.push((running.t - applied) / 1000);
          b.log(`  round ${i + 1}/${b.rounds} 1-file: first byte ${firstByte.at(-1)!.toFixed(2)} s, Succeeded ${succeeded.at(-1)!.toFixed(2)} s`);
        }
        const med = (xs: number[]) => (xs.length ? median(xs).toFixed(1) : '—');
        const timeline = `median s after apply: plan pod created ${med(marks['plan']!)}, copy pod created ${med(marks['copy']!)}, copy pod Running ${med(marks['copyRunning']!)}, first byte ${med(firstByte)}, commit pod created ${med(marks['commit']!)}, Succeeded ${med(succeeded)}`;
        // Default parallelism: 4 shards. The plan lists only shards with work, so 1 copy pod starts.
        const flags = 'default spec (parallelism.shards 4; 1 file → 1 shard, 1 copy pod)';
        const what = `1 × 1 MiB, filesystem (hostPath) → MinIO, ${b.rounds} runs; apply = just before the DataSync's POST`;
        rows.set(M.firstByte, resultRow(M.firstByte, firstByte, flags,
          `first byte = first body byte of the object's PUT, timestamped by an HTTP tap in front of MinIO (bench clock, ms resolution); ${timeline}; ${what}`));
        rows.set(M.succeeded, resultRow(M.succeeded, succeeded, flags,
          `Succeeded = receipt of the DataSync watch event with status.phase Succeeded (ms resolution); plan, copy and commit are one Job each, whose pod the local pod runner starts as a node process; ${timeline}; ${what}`));
      } catch (err) {
        b.log(`B6 1-file runs failed: ${errText(err)}`);
        fail([M.firstByte, M.succeeded], errText(err));
      }

      // ---- 2. shard progress → status ----
      try {
        const perRun: number[] = [];
        const pooled: number[] = [];
        const fromCopier: number[] = [];
        let unmatched = 0;
        let total = 0;
        for (let i = 0; i < b.rounds; i++) {
          const name = `progress-${i}`;
          const src = path.join(c.runDir, 'data', name);
          const bytes = writeTree(src, PROGRESS_FILES, PROGRESS_FILE_BYTES);
          const bucket = await freshBucket(b.s3c, 'b6-progress');
          buckets.push(bucket);
          await createDataSync(c, ns, name, {
            source: { filesystem: { path: '/data/src', volume: { hostPath: { path: src } } } }, destination: dest(bucket, b.ctx.s3.endpoint),
            parallelism: { shards: 1 }, bandwidthLimit: PROGRESS_LIMIT,
          });
          const end = await rec.ended(name, 180_000);
          if (end.phase !== 'Succeeded') throw new Error(`${name} ended ${end.phase} (logs: ${c.logs})`);
          const got = await countObjects(b.s3c, bucket);
          if (got.bytes !== bytes) throw new Error(`${name}: bucket holds ${got.bytes} of ${bytes} bytes`);
          const m = matchProgress(rec, name);
          total += m.samples;
          unmatched += m.unmatched;
          pooled.push(...m.latencies);
          fromCopier.push(...m.fromCopier);
          if (m.latencies.length) perRun.push(round(median(m.latencies), 1));
          b.log(`  round ${i + 1}/${b.rounds} progress: ${m.samples} annotation values, ${m.latencies.length} matched, latencies ${m.latencies.map((x) => x.toFixed(0)).join(', ')} ms`);
        }
        if (!pooled.length) throw new Error(`no progress annotation value was matched in status (${total} values seen)`);
        rows.set(M.progress, resultRow(M.progress, perRun, `1 shard, bandwidthLimit ${PROGRESS_LIMIT}`,
          `median of per-run medians; pooled ${pooled.length} of ${total} values matched (${unmatched} superseded before a status write): median ${median(pooled).toFixed(0)} ms, p90 ${pct(pooled, 90).toFixed(0)} ms, max ${Math.max(...pooled).toFixed(0)} ms. ` +
          `Copy-pod watch event carrying a new progress annotation → first DataSync watch event whose status.currentRun.progress.bytesCopied equals it, both timestamped on receipt by the bench (ms). ` +
          `From the copier's updatedAt (when it produced the value; its reporter then coalesces for up to 2 s before the PATCH) to the status event: median ${fromCopier.length ? median(fromCopier).toFixed(0) : '—'} ms. ${b.rounds} runs of ${PROGRESS_FILES} × ${PROGRESS_FILE_BYTES / MiB} MiB; the copier patches at most every 2 s.`));
      } catch (err) {
        b.log(`B6 progress runs failed: ${errText(err)}`);
        fail([M.progress], errText(err));
      }
    } finally {
      await op.stop();
      rec.stop();
    }

    // ---- 3. RSS with 500 idle DataSyncs, a fresh operator ----
    try {
      const idleNs = await createNamespace(c.kube, 'b6-idle');
      const idleRec = new Recorder(c, idleNs);
      const op2 = startOperator(c, idleNs, 'idle');
      try {
        const spec = (i: number): DataSyncSpec => ({
          source: { filesystem: { path: `/data/src-${i}` } },
          destination: { s3: { bucket: `idle-${i}`, endpoint: b.ctx.s3.endpoint, credentialsSecretRef: { name: 'minio' } } },
          schedule: '0 3 * * *', suspend: true,
        });
        const nameOf = (i: number) => `idle-${String(i).padStart(3, '0')}`;
        await createDataSync(c, idleNs, nameOf(0), spec(0));
        await idleRec.reconciled(nameOf(0), 60_000);
        await sleep(2000);
        const baseline = memoryOf(op2.pid);
        const created = nowMs();
        let next = 1;
        await Promise.all(Array.from({ length: 8 }, async () => {
          while (next < IDLE_OBJECTS) { const i = next++; await createDataSync(c, idleNs, nameOf(i), spec(i)); }
        }));
        const createdAll = nowMs();
        // Every object reconciled: observedGeneration and conditions in status (listed, not just watched).
        const deadline = Date.now() + 240_000;
        let done = 0;
        for (;;) {
          const list = await c.kube.get<{ items: DataSync[] }>(`/apis/${GROUP}/${VERSION}/namespaces/${idleNs}/${PLURAL}`);
          done = list.items.filter((d) => d.status?.observedGeneration === 1 && (d.status.conditions?.length ?? 0) > 0).length;
          if (done >= IDLE_OBJECTS) break;
          if (Date.now() > deadline) throw new Error(`only ${done} of ${IDLE_OBJECTS} DataSyncs reconciled after 240 s`);
          await sleep(1000);
        }
        const reconciledAll = nowMs();
        // Settle: no status writes pending (the second reconcile of each object changes nothing).
        await sleep(5000);
        const reads: Array<{ rssMiB: number; hwmMiB: number }> = [];
        for (let k = 0; k < 3; k++) { reads.push(memoryOf(op2.pid)); if (k < 2) await sleep(1000); }
        const rss = reads.map((r) => round(r.rssMiB, 1));
        const hwm = Math.max(...reads.map((r) => r.hwmMiB));
        const events = idleRec.ds.length;
        rows.set(M.rss, resultRow(M.rss, rss, 'suspended, daily schedule, one namespace, default --workers 2',
          `VmHWM ${hwm.toFixed(1)} MiB; with 1 object: VmRSS ${baseline.rssMiB.toFixed(1)} MiB. One settled state, not 3 runs: VmRSS from /proc/<pid>/status, median of 3 reads 1 s apart, 5 s after all ${IDLE_OBJECTS} had status.observedGeneration and conditions (no forced GC). ` +
          `Creating ${IDLE_OBJECTS - 1} took ${((createdAll - created) / 1000).toFixed(1)} s; all reconciled ${((reconciledAll - created) / 1000).toFixed(1)} s after the first create; ${events} DataSync watch events.`));
        b.log(`  RSS with ${IDLE_OBJECTS} idle: ${rss.join(', ')} MiB (HWM ${hwm.toFixed(1)}, baseline ${baseline.rssMiB.toFixed(1)})`);
      } finally {
        await op2.stop();
        idleRec.stop();
      }
    } catch (err) {
      b.log(`B6 RSS measurement failed: ${errText(err)}`);
      fail([M.rss], errText(err));
    }
  } catch (err) {
    b.log(`B6 failed: ${(err as Error).stack ?? err}`);
    fail(Object.values(M), errText(err));
  } finally {
    await cluster?.stop();
    await tap?.close();
    for (const bkt of buckets) await dropBucket(b.s3c, bkt);
    // A failed run keeps its directory (logs of every server, the operator and each pod) for a look;
    // the next run that creates one removes it once this process is gone.
    if (cluster && !failed) rmSync(cluster.runDir, { recursive: true, force: true });
    else if (cluster) b.log(`B6: kept ${cluster.runDir} (logs under logs/, pod logs under podrunner/logs/)`);
  }
  // The machine is shared: the 1-minute load average says how crowded the 2 cores were.
  const loadNote = `; load average (1 min) ${loadAtStart} at B6 start, ${load()} at its end`;
  for (const m of Object.values(M)) {
    const r = rows.get(m) ?? resultRow(m, [], '—', 'not measured');
    if (r.datasync !== null) r.notes = r.notes.replace(/\.$/, '') + loadNote;
    b.rows.push(r);
  }
  b.log(`B6 took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

/**
 * One progress run: each new value of the copy pod's progress annotation, as first received, against
 * the first DataSync event carrying the same bytesCopied in status.currentRun.progress.
 */
function matchProgress(rec: Recorder, name: string): { samples: number; unmatched: number; latencies: number[]; fromCopier: number[] } {
  const values: Array<{ t: number; v: number; updatedAt: number }> = [];
  let last: number | undefined;
  for (const e of rec.pods) {
    if (e.ds !== name || e.step !== 'copy' || !e.progress) continue;
    let p: Json;
    try { p = JSON.parse(e.progress) as Json; } catch { continue; }
    const v = (typeof p['bytesCopied'] === 'number' ? p['bytesCopied'] : p['bytesDone']) as number | undefined;
    if (typeof v !== 'number' || v === last) continue;
    last = v;
    // 0 bytes is also what status shows before any annotation exists: not a progress update.
    if (v === 0) continue;
    values.push({ t: e.t, v, updatedAt: Date.parse(String(p['updatedAt'])) });
  }
  const latencies: number[] = [];
  const fromCopier: number[] = [];
  let unmatched = 0;
  for (const s of values) {
    const d = rec.ds.find((x) => x.name === name && x.bytes === s.v);
    if (!d) { unmatched++; continue; }
    latencies.push(d.t - s.t);
    if (Number.isFinite(s.updatedAt)) fromCopier.push(d.t - s.updatedAt);
  }
  return { samples: values.length, unmatched, latencies, fromCopier };
}
