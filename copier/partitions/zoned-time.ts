// Partition keys are wall-clock dates in the dataset's time zone; lookback and the watermark need
// them as instants. Intl knows every IANA zone, so no time zone library is needed.
import { DataSyncError } from '../errors.ts';

export interface WallTime { year: number; month: number; day: number; hour: number }

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
        hour: '2-digit', minute: '2-digit', second: '2-digit',
      });
    } catch (cause) {
      throw new DataSyncError(`partitions.timeZone: "${timeZone}" is not an IANA time zone (for example UTC or Europe/Berlin)`, {
        code: 'InvalidConfig', side: 'config', cause,
      });
    }
    formatters.set(timeZone, f);
  }
  return f;
}

export function assertTimeZone(timeZone: string): void {
  formatterFor(timeZone);
}

/** Wall-clock fields of an instant in a zone. */
export function wallTimeOf(instantMs: number, timeZone: string): WallTime & { minute: number; second: number } {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(new Date(instantMs))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts['year'] ?? 0, month: parts['month'] ?? 0, day: parts['day'] ?? 0,
    hour: parts['hour'] ?? 0, minute: parts['minute'] ?? 0, second: parts['second'] ?? 0,
  };
}

function offsetMs(instantMs: number, timeZone: string): number {
  const w = wallTimeOf(instantMs, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(instantMs / 1000) * 1000;
}

/**
 * The instant a wall-clock time starts in a zone. In a DST gap (a wall time that never happens) it
 * returns the instant the gap ends, so a partition's start is always a real instant; in a repeated
 * hour it returns the first occurrence.
 */
export function instantOfWallTime(w: WallTime, timeZone: string): number {
  const naive = Date.UTC(w.year, w.month - 1, w.day, w.hour);
  if (timeZone === 'UTC') return naive;
  const candidates = new Set<number>();
  // The zone's offset a day either side brackets every transition near this wall time.
  for (const probe of [naive - 86_400_000, naive, naive + 86_400_000]) candidates.add(naive - offsetMs(probe, timeZone));
  const exact = [...candidates].filter((i) => sameWallHour(wallTimeOf(i, timeZone), w)).sort((a, b) => a - b);
  if (exact[0] !== undefined) return exact[0];
  // A gap: the earliest candidate that lies after the missing wall time.
  const after = [...candidates].filter((i) => isAfterWall(wallTimeOf(i, timeZone), w)).sort((a, b) => a - b);
  return after[0] ?? naive;
}

function sameWallHour(a: WallTime, b: WallTime): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day && a.hour === b.hour;
}
function isAfterWall(a: WallTime, b: WallTime): boolean {
  return Date.UTC(a.year, a.month - 1, a.day, a.hour) > Date.UTC(b.year, b.month - 1, b.day, b.hour);
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
