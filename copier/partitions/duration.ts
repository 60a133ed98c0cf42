// Durations in the spec are Go-style strings ("90s", "5m", "72h", "1h30m", "7d"). Partitions and
// watch both need them before the engine's options exist, so the parser lives here and is pure.
import { DataSyncError } from '../errors.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "1h30m" into milliseconds; a bare number counts as seconds. Throws InvalidConfig. */
export function parseDurationMs(text: string | number, field = 'duration'): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw invalid(field, String(text));
    return text * 1000;
  }
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = part.exec(trimmed); m !== null; m = part.exec(trimmed)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? Number.NaN);
    consumed = part.lastIndex;
  }
  if (trimmed === '' || consumed !== trimmed.length || !Number.isFinite(total)) throw invalid(field, text);
  return total;
}

function invalid(field: string, text: string): DataSyncError {
  return new DataSyncError(`${field}: "${text}" is not a duration; use forms like 90s, 5m, 72h or 1h30m`, {
    code: 'InvalidConfig',
    side: 'config',
  });
}
