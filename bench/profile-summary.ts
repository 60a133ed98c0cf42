// Summarises V8 .cpuprofile files (from `node --cpu-prof`) into the functions with the most self
// time, summed over every profile given (a datasync run writes one per process: the parent and
// each shard). `(idle)` is left out: waiting on the network is not a CPU hot spot.
//
// A sample counts for at most GAP_CAP sampling intervals. V8 stamps each sample with the time since
// the previous one, and when the process was off the CPU (these 2 cores are shared with MinIO), that
// whole gap lands on whatever function was on the stack when it ran again: one 88 ms gap once put
// `_destroy` at 7% of B1. The clipped time is reported apart, not attributed.
//
//   node bench/profile-summary.ts DIR_OR_FILES... [--top 15]
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

export interface HotSpot {
  fn: string;
  where: string;
  selfMs: number;
  selfPct: number;
  /** The nearest DataSync frame above the hot function (most sampled), so a library hot spot names the code that drives it. */
  via?: string;
}

function files(args: string[]): string[] {
  return args.flatMap((a) => (statSync(a).isDirectory()
    ? readdirSync(a).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(a, f))
    : [a]));
}

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) return u.slice(nm + 'node_modules/'.length);
  const repo = path.resolve(import.meta.dirname, '..');
  return u.startsWith(repo) ? path.relative(repo, u) : u;
}

const REPO = path.resolve(import.meta.dirname, '..');
const ownCode = (cf: CallFrame) => cf.url.includes(REPO) && !cf.url.includes('node_modules') && !cf.url.includes('/bench/');

const GAP_CAP = 3;

/** A profile's sampling interval: the median time between samples (--cpu-prof-interval, 1 ms by default). */
function samplingIntervalUs(p: CpuProfile): number {
  const d = p.timeDeltas.slice(1).filter((x) => x > 0).sort((a, b) => a - b);
  return d.length ? d[d.length >> 1]! : 1000;
}

export interface SummaryTotals {
  /** Self time attributed to functions, (idle) excluded. */
  attributedMs: number;
  /** Time beyond GAP_CAP intervals per sample: the process was not running, so no function is charged. */
  clippedMs: number;
}

export function summarise(paths: string[], top = 15, totals?: SummaryTotals): HotSpot[] {
  const self = new Map<string, { fn: string; where: string; us: number; via: Map<string, number> }>();
  let total = 0;
  let clipped = 0;
  for (const f of files(paths)) {
    const p = JSON.parse(readFileSync(f, 'utf8')) as CpuProfile;
    const cap = GAP_CAP * samplingIntervalUs(p);
    const byId = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const viaOf = (id: number): string | undefined => {
      for (let cur = parent.get(id); cur !== undefined; cur = parent.get(cur)) {
        const cf = byId.get(cur);
        if (cf && ownCode(cf)) return `${cf.functionName || '(anonymous)'} ${shortUrl(cf.url)}:${cf.lineNumber + 1}`;
      }
      return undefined;
    };
    p.samples.forEach((id, i) => {
      const cf = byId.get(id);
      const raw = p.timeDeltas[i] ?? 0;
      if (!cf || cf.functionName === '(idle)') return;
      const dt = Math.min(raw, cap);
      clipped += raw - dt;
      total += dt;
      const fn = cf.functionName || '(anonymous)';
      const where = `${shortUrl(cf.url)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
      const key = `${fn}@${where}`;
      const e = self.get(key) ?? { fn, where, us: 0, via: new Map<string, number>() };
      e.us += dt;
      if (!ownCode(cf)) {
        const v = viaOf(id);
        if (v) e.via.set(v, (e.via.get(v) ?? 0) + dt);
      }
      self.set(key, e);
    });
  }
  if (totals) { totals.attributedMs = total / 1000; totals.clippedMs = clipped / 1000; }
  return [...self.values()].sort((a, b) => b.us - a.us).slice(0, top)
    .map((e) => {
      const via = [...e.via.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
      return { fn: e.fn, where: e.where, selfMs: e.us / 1000, selfPct: total ? (100 * e.us) / total : 0, ...(via ? { via } : {}) };
    });
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const ti = args.indexOf('--top');
  const top = ti >= 0 ? Number(args.splice(ti, 2)[1]) : 15;
  if (args.length === 0) {
    console.error('usage: node bench/profile-summary.ts DIR_OR_FILE... [--top N]');
    process.exit(2);
  }
  const totals: SummaryTotals = { attributedMs: 0, clippedMs: 0 };
  const rows = summarise(args, top, totals);
  console.log(`${totals.attributedMs.toFixed(0)} ms attributed; ${totals.clippedMs.toFixed(0)} ms of gaps longer than ${GAP_CAP} sampling intervals left out (process off the CPU)`);
  console.log('self ms   self %  function  (where)');
  for (const r of rows) console.log(`${r.selfMs.toFixed(0).padStart(7)}  ${r.selfPct.toFixed(1).padStart(6)}  ${r.fn}  (${r.where})${r.via ? `  via ${r.via}` : ''}`);
}
