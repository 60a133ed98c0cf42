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

export async function alternate<T>(contenders: Contender<T>[], rounds: number, log: (s: string) => void): Promise<Map<string, Outcome<T>>> {
  const out = new Map<string, Outcome<T>>(contenders.map((c) => [c.name, { samples: [], errors: [] }]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[(i + r) % contenders.length]!;
      const o = out.get(c.name)!;
      // A tool that failed twice will not start succeeding; stop spending the time budget on it.
      if (o.errors.length >= 2 && o.samples.length === 0) continue;
      try {
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
