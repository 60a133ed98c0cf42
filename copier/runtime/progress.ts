// The live progress line: aggregates shard progress and renders
//   27.1% [pending: 32 | transferring: 6 | complete: 4] 85.2 MB/s ETA 1m10s
// redrawn in place on a TTY, as periodic plain lines otherwise.
import type { ShardProgress } from '../copy/worker.ts';

/** The span the rate is measured over. */
const RATE_WINDOW_MS = 5000;

export class ProgressBoard {
  readonly #shards = new Map<number, ShardProgress>();
  // What the attempts of restarted shard workers moved: the next attempt reports it as resumed.
  #movedByEndedAttempts = 0;
  // Starts with the board's creation, before any byte is copied, so the first line drawn has a rate.
  #samples: Array<{ t: number; bytes: number }>;
  constructor(now = Date.now()) {
    this.#samples = [{ t: now, bytes: 0 }];
  }
  update(p: ShardProgress): void {
    this.#shards.set(p.shard, p);
  }
  /** A shard's worker is replaced: what it moved stays in the rate, though its successor counts it as resumed. */
  restarted(shard: number): void {
    const last = this.#shards.get(shard);
    if (!last) return;
    this.#movedByEndedAttempts += movedBy(last);
    this.#shards.set(shard, { ...last, bytesResumed: last.bytesDone }); // counted once until the successor reports
  }
  totals(): { filesTotal: number; filesDone: number; transferring: number; bytesTotal: number; bytesDone: number; filesFailed: number } {
    const t = { filesTotal: 0, filesDone: 0, transferring: 0, bytesTotal: 0, bytesDone: 0, filesFailed: 0 };
    for (const p of this.#shards.values()) {
      t.filesTotal += p.filesTotal; t.filesDone += p.filesDone; t.transferring += p.transferring;
      t.bytesTotal += p.bytesTotal; t.bytesDone += p.bytesDone; t.filesFailed += p.filesFailed;
    }
    return t;
  }
  /**
   * Bytes moved per second since the newest sample at least RATE_WINDOW_MS old (or the oldest there
   * is). Bytes a shard found done by an earlier run count toward the percentage, not the rate: a
   * resumed run would otherwise start with the rate, and an ETA, of its first second's journal read.
   */
  rate(now = Date.now()): number {
    let bytes = this.#movedByEndedAttempts;
    for (const p of this.#shards.values()) bytes += movedBy(p);
    this.#samples.push({ t: now, bytes });
    // The baseline is kept once it leaves the window, until a newer sample has left it too: off a
    // TTY the line is drawn every 5 s, so the previous sample is always just over 5 s old, and
    // dropping it left nothing to measure against (0.0 B/s and no ETA for the whole run).
    while (this.#samples.length > 2 && now - this.#samples[1]!.t >= RATE_WINDOW_MS) this.#samples.shift();
    const first = this.#samples[0]!;
    const dt = (now - first.t) / 1000;
    return dt > 0 ? Math.max(0, (bytes - first.bytes) / dt) : 0;
  }
  line(now = Date.now()): string {
    const t = this.totals();
    const rate = this.rate(now);
    const pct = t.bytesTotal > 0 ? (t.bytesDone / t.bytesTotal) * 100 : t.filesTotal > 0 ? (t.filesDone / t.filesTotal) * 100 : 100;
    const pending = Math.max(0, t.filesTotal - t.filesDone - t.transferring);
    const etaSeconds = rate > 0 ? (t.bytesTotal - t.bytesDone) / rate : Infinity;
    const eta = etaSeconds < 100 * 3600 ? ` ETA ${formatDuration(etaSeconds)}` : ''; // none while the rate means nothing yet
    const failed = t.filesFailed ? ` | failed: ${t.filesFailed}` : '';
    return `${pct.toFixed(1)}% [pending: ${pending} | transferring: ${t.transferring} | complete: ${t.filesDone - t.filesFailed}${failed}] ${formatRate(rate)}${eta}`;
  }
}

function movedBy(p: ShardProgress): number {
  return p.bytesDone - (p.bytesResumed ?? 0);
}

export function formatRate(bytesPerSecond: number): string {
  const units = ['B/s', 'kB/s', 'MB/s', 'GB/s'];
  let v = bytesPerSecond;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h ? `${h}h${m}m${r}s` : m ? `${m}m${r}s` : `${r}s`;
}

/** Draws the board on stderr until stopped. */
export function startProgressRenderer(board: ProgressBoard, stream: NodeJS.WriteStream, opts: { quiet: boolean; intervalMs?: number }): () => void {
  if (opts.quiet) return () => {};
  const tty = stream.isTTY === true;
  const interval = opts.intervalMs ?? (tty ? 500 : 5000);
  const draw = () => stream.write(tty ? `\r\x1b[K${board.line()}` : `${board.line()}\n`);
  const timer = setInterval(draw, interval);
  return () => {
    clearInterval(timer);
    draw();
    if (tty) stream.write('\n');
  };
}
