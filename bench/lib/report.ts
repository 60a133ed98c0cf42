// The results: one row per (scenario, metric, peer), printed as a table and written as
// bench/results/latest.json plus a dated markdown copy. A row whose target is not met stays in
// the table as "NO"; a row that could not be measured says why instead of disappearing.
import { writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32cImplementation } from '../../copier/checksum.ts';

export interface ResultRow {
  scenario: string;
  metric: string;
  /** DataSync's median, in the metric's unit; null when it could not be measured. */
  datasync: number | null;
  /** The peer (or reference) this row compares against. */
  peer: string;
  peerValue: number | null;
  /** datasync / peerValue for higher-is-better metrics, and as measured for the rest; see `target`. */
  ratio: number | null;
  /** e.g. ">= 1.2" (ratio must be at least) or "<= 0.5" (ratio must be at most); null when none. */
  target: string | null;
  met: boolean | null;
  unit: string;
  peerFlags: string;
  /** DataSync's own settings in this row's runs (the spec's parallelism), beside the peer's flags. */
  datasyncFlags?: string;
  dataset: string;
  runs: { datasync: number[]; peer: number[] };
  notes: string;
}

export interface Results {
  machine: { cpus: number; cpuModel: string; memoryGiB: number; kernel: string; node: string; loadAvg1m: number; crc32c?: 'native' | 'js' };
  date: string;
  mode: 'full' | 'quick';
  durationSeconds: number;
  peers: Record<string, string>;
  results: ResultRow[];
  profiles: Record<string, Array<{ fn: string; where: string; selfMs: number; selfPct: number; via?: string }>>;
  /** Set by --merge: these scenarios were re-run; the other rows are from the run at keptFrom. */
  merged?: { rerun: string[]; keptFrom: string; keptMode: string; keptDurationSeconds: number };
}

export function machine(): Results['machine'] {
  return {
    cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(), node: process.version, loadAvg1m: os.loadavg()[0] ?? 0,
    // The copier's CRC32C implementation (copier/checksum.ts): the JS fallback costs B1 throughput.
    crc32c: crc32cImplementation,
  };
}

/** met is decided here, from the ratio and the target's comparator, and only here. */
export function judge(ratio: number | null, target: string | null): boolean | null {
  if (target === null || ratio === null || !Number.isFinite(ratio)) return null;
  const m = /^(>=|<=)\s*([\d.]+)$/.exec(target);
  if (!m) return null;
  const t = Number(m[2]);
  return m[1] === '>=' ? ratio >= t : ratio <= t;
}

const fmt = (v: number | null, digits = 2) => (v === null || !Number.isFinite(v) ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(digits));

/** A ratio to two decimals, or as many more as it takes for the printed value to judge as the real one (0.997 is not "1.00" against >= 1.0). */
export function fmtRatio(ratio: number | null, target: string | null): string {
  let digits = 2;
  while (digits < 6 && ratio !== null && Number.isFinite(ratio) && judge(Number(ratio.toFixed(digits)), target) !== judge(ratio, target)) digits++;
  return fmt(ratio, digits);
}

export function table(rows: ResultRow[]): string {
  const head = ['scenario', 'metric', 'datasync', 'peer', 'peer value', 'ratio', 'target', 'met', 'datasync flags', 'peer flags', 'notes'];
  const body = rows.map((r) => [
    r.scenario, `${r.metric} (${r.unit})`, fmt(r.datasync), r.peer, fmt(r.peerValue), fmtRatio(r.ratio, r.target), r.target ?? '—',
    r.met === null ? '—' : r.met ? 'yes' : 'NO', r.datasyncFlags || '—', r.peerFlags || '—', r.notes.replace(/\|/g, '/').replace(/\n/g, ' ').slice(0, 160),
  ]);
  const md = [head, head.map(() => '---'), ...body].map((cells) => `| ${cells.join(' | ')} |`);
  return md.join('\n');
}

export function writeResults(dir: string, res: Results): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'latest.json');
  writeFileSync(json, JSON.stringify(res, null, 2) + '\n');
  const day = res.date.slice(0, 10);
  const md = path.join(dir, `${day}.md`);
  const m = res.machine;
  const prof = Object.entries(res.profiles).map(([k, v]) =>
    `### ${k}\n\n| self ms | self % | function | where | via (nearest DataSync frame) |\n|---|---|---|---|---|\n${v.map((f) => `| ${f.selfMs.toFixed(0)} | ${f.selfPct.toFixed(1)} | ${f.fn} | ${f.where} | ${f.via ?? ''} |`).join('\n')}\n`).join('\n');
  writeFileSync(md, `# DataSync benchmarks, ${res.date} (${res.mode})

Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}, load ${m.loadAvg1m.toFixed(2)} at start${m.crc32c ? `, copier CRC32C ${m.crc32c}` : ''}.
Peers: ${Object.entries(res.peers).map(([k, v]) => `${k} ${v}`).join(', ')}. Duration ${Math.round(res.durationSeconds)} s.

${res.merged ? `Merged: ${res.merged.rerun.join(', ')} re-run now; the other rows are from the ${res.merged.keptMode} run of ${res.merged.keptFrom}, which took ${Math.round(res.merged.keptDurationSeconds)} s.\n\n` : ''}Every value is the median of alternating runs (see \`runs\` in latest.json). Ratios, not absolute
numbers, are the result: this machine is shared. For time and memory rows the ratio is
datasync / peer and lower is better; for throughput rows it is datasync / peer and higher is better.

${table(res.results)}

## CPU profiles (top self time)

Summed over the run's processes (\`node bench/profile-summary.ts bench/results/profiles/B1\`). A sample counts
for at most 3 sampling intervals: a longer gap is time the process spent off the CPU, not in the
function that happened to be on the stack when it ran again, and is left out.

${prof || '(none)'}
`);
  return { json, md };
}
