// Medians over alternating runs. The machine is shared and noisy, so a tool never runs all its
// repetitions back to back: each round runs every tool once, and the starting tool rotates per round
// so no tool always inherits a warm (or a just-flushed) server.

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Contender<T> {
  name: string;
  /** One measured run; returns the metric, or throws with a reason (kept for the table's notes). */
  run: (round: number) => Promise<T>;
}

export interface Outcome<T> {
  samples: T[];
  errors: string[];
}

/** Rounds every comparison runs, whatever the clock says: the issue asks for medians of at least 3. */
export const MIN_ROUNDS = 3;

export interface Pace {
  /** Runs before every measured run (bench/lib/settle.ts: the server finishes what the last run left it). */
  settle?: () => Promise<void>;
  /**
   * Epoch ms by which the whole bench should be done. Rounds past MIN_ROUNDS start only if one more,
   * at the average length of those so far, would end by then: on a slow day B1 and B7 drop from 5
   * rounds to 3 instead of the bench running past its 30 minutes.
   */
  deadlineMs?: number;
}

/**
 * A scenario's round deadline: the bench's deadline less what the scenarios still to run after it
 * take at their minimum rounds (`minSeconds`, unknown ones 60 s). Without that reserve the last
 * round cut-off only protects the scenario it is in: on 2026-11-22 B7 ran a 4th round up to 28:57,
 * B4R then started just before the 29-minute cut-off, and the bench ended at 30:03.
 */
export function roundDeadline(deadlineMs: number, later: string[], minSeconds: Record<string, number>): number {
  return deadlineMs - later.reduce((sum, s) => sum + (minSeconds[s] ?? 60), 0) * 1000;
}

export async function alternate<T>(contenders: Contender<T>[], rounds: number, log: (s: string) => void, pace: Pace = {}): Promise<Map<string, Outcome<T>>> {
  const out = new Map<string, Outcome<T>>(contenders.map((c) => [c.name, { samples: [], errors: [] }]));
  const started = Date.now();
  for (let r = 0; r < rounds; r++) {
    if (r >= MIN_ROUNDS && pace.deadlineMs !== undefined && Date.now() + (Date.now() - started) / r > pace.deadlineMs) {
      log(`  stopping after ${r} of ${rounds} rounds: another would end past the bench's time budget`);
      break;
    }
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[(i + r) % contenders.length]!;
      const o = out.get(c.name)!;
      // A tool that failed twice will not start succeeding; stop spending the time budget on it.
      if (o.errors.length >= 2 && o.samples.length === 0) continue;
      try {
        await pace.settle?.();
        const v = await c.run(r);
        o.samples.push(v);
        log(`  round ${r + 1}/${rounds} ${c.name}: ${typeof v === 'number' ? v.toFixed(2) : JSON.stringify(v)}`);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        o.errors.push(msg);
        log(`  round ${r + 1}/${rounds} ${c.name}: FAILED ${msg.slice(0, 400)}`);
      }
    }
  }
  return out;
}

/**
 * The ceiling is what this server took from ANY client in this run: MinIO's own benchmark (warp),
 * or where it is not provisioned a raw SDK loop that signs and sends from one Node process and can
 * fall below a Go or Python client on a loaded machine. So the best median among it (named
 * 'ceiling' in `out`, described by `label`) and the peers is the (stricter) reference.
 */
export function bestCeiling(out: Map<string, Outcome<number>>, peers: string[], label = 'raw SDK PUT loop'): { outcome: Outcome<number> | undefined; value: number | null; note: (unit: string) => string } {
  const candidates = ['ceiling', ...peers].map((n) => ({ n, o: out.get(n) })).filter((c) => c.o && c.o.samples.length);
  const best = candidates.sort((x, y) => median(y.o!.samples) - median(x.o!.samples))[0];
  const own = out.get('ceiling')?.samples ?? [];
  return {
    outcome: best?.o, value: best ? median(best.o!.samples) : null,
    note: (unit) => !best ? 'no ceiling measured'
      : `ceiling = ${best.n === 'ceiling' ? label : `${best.n} (beat the ${label}'s ${own.length ? median(own).toFixed(0) : '—'} ${unit})`}`,
  };
}
