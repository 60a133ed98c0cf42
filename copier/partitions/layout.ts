// A partition layout such as "{yyyy}/{MM}/{dd}" or "dt={yyyy}-{MM}-{dd}/hour={HH}" names the
// directory that holds one partition. Compiling it once gives a matcher that maps any file path to
// the partition it belongs to, and back from an instant to a key (for tests and for the watermark).
import { DataSyncError } from '../errors.ts';
import { assertTimeZone, daysInMonth, instantOfWallTime, wallTimeOf, type WallTime } from './zoned-time.ts';

export type Granularity = 'year' | 'month' | 'day' | 'hour';

const TOKENS = ['yyyy', 'MM', 'dd', 'HH'] as const;
type Token = (typeof TOKENS)[number];
const TOKEN_WIDTH: Record<Token, number> = { yyyy: 4, MM: 2, dd: 2, HH: 2 };
const GRANULARITY_OF: Record<Token, Granularity> = { yyyy: 'year', MM: 'month', dd: 'day', HH: 'hour' };

export interface PartitionRef {
  /** The partition's directory relative to the endpoint root, e.g. "2026/11/20" (no trailing '/'). */
  key: string;
  /** First instant of the partition in its time zone, ms since the epoch. */
  startMs: number;
  /** First instant after the partition (the next day/hour starts here). */
  endMs: number;
}

export interface PartitionMatch extends PartitionRef {
  /** The path below the partition directory, e.g. "part-0000.json.gz". */
  rest: string;
}

export interface PartitionLayout {
  readonly layout: string;
  readonly timeZone: string;
  readonly granularity: Granularity;
  /** The partition a file path lies in, or undefined when the path is outside the layout. */
  match(path: string): PartitionMatch | undefined;
  /** Parses a partition key itself (no trailing file), as written in `skip`. */
  parseKey(key: string): PartitionRef | undefined;
  /** The key of the partition that contains an instant. */
  keyAt(instantMs: number): string;
}

export function compileLayout(layout: string, timeZone = 'UTC'): PartitionLayout {
  assertTimeZone(timeZone);
  const normalized = layout.replace(/^\/+|\/+$/g, '');
  const order: Token[] = [];
  let pattern = '';
  let last = 0;
  const tokenRe = /\{([A-Za-z]+)\}/g;
  for (let m = tokenRe.exec(normalized); m !== null; m = tokenRe.exec(normalized)) {
    const token = m[1] as Token;
    if (!TOKENS.includes(token)) throw invalid(layout, `unknown token {${m[1]}}; use {yyyy} {MM} {dd} {HH}`);
    if (order.includes(token)) throw invalid(layout, `{${token}} appears twice`);
    order.push(token);
    pattern += escapeRegExp(normalized.slice(last, m.index)) + `(\\d{${TOKEN_WIDTH[token]}})`;
    last = m.index + m[0].length;
  }
  pattern += escapeRegExp(normalized.slice(last));
  // Coarse to fine without holes: an hour without a day cannot be placed in time.
  const expected = TOKENS.slice(0, order.length);
  if (order.length === 0 || [...order].sort((a, b) => TOKENS.indexOf(a) - TOKENS.indexOf(b)).some((t, i) => t !== expected[i])) {
    throw invalid(layout, 'needs {yyyy}, then optionally {MM}, {dd} and {HH}, each once and without gaps');
  }
  if (/[*?[\]]/.test(normalized)) throw invalid(layout, 'wildcards are not supported; a layout names one directory per partition');
  const granularity = GRANULARITY_OF[expected[expected.length - 1] as Token];
  const keyRe = new RegExp(`^${pattern}$`, 'u');
  const pathRe = new RegExp(`^(${pattern})/(.+)$`, 'su');

  const toRef = (key: string, groups: string[]): PartitionRef | undefined => {
    const v: Partial<Record<Token, number>> = {};
    order.forEach((t, i) => { v[t] = Number(groups[i]); });
    const wall: WallTime = { year: v.yyyy ?? 0, month: v.MM ?? 1, day: v.dd ?? 1, hour: v.HH ?? 0 };
    if (wall.month < 1 || wall.month > 12 || wall.day < 1 || wall.day > daysInMonth(wall.year, wall.month) || wall.hour > 23) {
      return undefined;
    }
    const startMs = instantOfWallTime(wall, timeZone);
    const endMs = instantOfWallTime(nextWall(wall, granularity), timeZone);
    return { key, startMs, endMs };
  };

  return Object.freeze({
    layout: normalized,
    timeZone,
    granularity,
    match(path: string): PartitionMatch | undefined {
      const m = pathRe.exec(path);
      if (!m) return undefined;
      const ref = toRef(m[1] as string, m.slice(2, 2 + order.length) as string[]);
      return ref && { ...ref, rest: m[2 + order.length] as string };
    },
    parseKey(key: string): PartitionRef | undefined {
      const trimmed = key.replace(/^\/+|\/+$/g, '');
      const m = keyRe.exec(trimmed);
      return m ? toRef(trimmed, m.slice(1) as string[]) : undefined;
    },
    keyAt(instantMs: number): string {
      const w = wallTimeOf(instantMs, timeZone);
      const values: Record<Token, string> = {
        yyyy: String(w.year).padStart(4, '0'), MM: pad2(w.month), dd: pad2(w.day), HH: pad2(w.hour),
      };
      return normalized.replace(/\{(yyyy|MM|dd|HH)\}/g, (_, t: Token) => values[t]);
    },
  });
}

function nextWall(w: WallTime, granularity: Granularity): WallTime {
  // Date.UTC normalizes overflow (hour 24, month 13), which is exactly the carry needed.
  const d = new Date(Date.UTC(
    w.year + (granularity === 'year' ? 1 : 0),
    w.month - 1 + (granularity === 'month' ? 1 : 0),
    w.day + (granularity === 'day' ? 1 : 0),
    w.hour + (granularity === 'hour' ? 1 : 0),
  ));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours() };
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function invalid(layout: string, why: string): DataSyncError {
  return new DataSyncError(`partitions.layout "${layout}": ${why}`, { code: 'InvalidConfig', side: 'config' });
}
