import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileLayout } from './layout.ts';
import { hasCode } from '../errors.ts';

const H = 3_600_000;

test('daily layout maps a file to its partition and the rest of its path', () => {
  const l = compileLayout('{yyyy}/{MM}/{dd}');
  assert.equal(l.granularity, 'day');
  assert.deepEqual(l.match('2026/11/20/part-0000.json.gz'), {
    key: '2026/11/20', startMs: Date.UTC(2026, 10, 20), endMs: Date.UTC(2026, 10, 21), rest: 'part-0000.json.gz',
  });
  assert.equal(l.match('2026/11/20/sub/dir/x')?.rest, 'sub/dir/x');
  assert.equal(l.match('2026/11/20')?.key, undefined, 'the directory name alone is not a file in it');
  assert.equal(l.match('2026/11/2/x'), undefined, 'fixed-width fields');
  assert.equal(l.match('x/2026/11/20/a'), undefined, 'anchored at the endpoint root');
  assert.equal(l.match('2026/13/01/a'), undefined, 'month 13');
  assert.equal(l.match('2026/02/29/a'), undefined, '2026 is not a leap year');
  assert.equal(l.match('2028/02/29/a')?.key, '2028/02/29');
  assert.equal(l.match('2026/12/31/a')?.endMs, Date.UTC(2027, 0, 1), 'the year carries');
});

test('hive-style hourly layout with literals', () => {
  const l = compileLayout('dt={yyyy}-{MM}-{dd}/hour={HH}');
  assert.equal(l.granularity, 'hour');
  const m = l.match('dt=2026-11-03/hour=07/events.parquet');
  assert.equal(m?.key, 'dt=2026-11-03/hour=07');
  assert.equal(m?.startMs, Date.UTC(2026, 10, 3, 7));
  assert.equal(m?.endMs, Date.UTC(2026, 10, 3, 8));
  assert.equal(l.match('dt=2026-11-03/hour=24/x'), undefined);
  assert.equal(l.match('dt=2026-11-03/hours=07/x'), undefined);
  assert.equal(l.match('dtx2026-11-03/hour=07/x'), undefined, 'literals are not regex: "=" must match itself');
  assert.equal(l.keyAt(Date.UTC(2026, 10, 3, 7, 59)), 'dt=2026-11-03/hour=07');
  assert.equal(l.parseKey('dt=2026-11-03/hour=07/')?.key, 'dt=2026-11-03/hour=07');
  assert.equal(l.parseKey('dt=2026-11-03'), undefined);
});

test('regex metacharacters in literals are literal', () => {
  const l = compileLayout('v1.0+/{yyyy}');
  assert.equal(l.match('v1.0+/2026/a')?.key, 'v1.0+/2026');
  assert.equal(l.match('v1x0+/2026/a'), undefined);
  assert.equal(l.match('v1.00/2026/a'), undefined);
});

test('a time zone moves the partition boundaries, including across DST', () => {
  const l = compileLayout('{yyyy}/{MM}/{dd}', 'Europe/Berlin');
  const nov = l.match('2026/11/20/a');
  assert.equal(nov?.startMs, Date.UTC(2026, 10, 19, 23), 'CET is UTC+1');
  assert.equal(nov!.endMs - nov!.startMs, 24 * H);
  const jul = l.match('2026/07/01/a');
  assert.equal(jul?.startMs, Date.UTC(2026, 5, 30, 22), 'CEST is UTC+2');
  const springForward = l.match('2026/03/29/a');
  assert.equal(springForward!.endMs - springForward!.startMs, 23 * H);
  const fallBack = l.match('2026/10/25/a');
  assert.equal(fallBack!.endMs - fallBack!.startMs, 25 * H);
  assert.equal(l.keyAt(Date.UTC(2026, 10, 19, 23, 30)), '2026/11/20', 'half past midnight in Berlin');
  assert.equal(l.keyAt(Date.UTC(2026, 10, 19, 22, 30)), '2026/11/19');
});

test('hourly partitions in a DST gap and a repeated hour are real, ordered instants', () => {
  const l = compileLayout('{yyyy}/{MM}/{dd}/{HH}', 'Europe/Berlin');
  // 2026-03-29 02:00 local does not exist; the partition starts where the gap ends (01:00 UTC).
  const gap = l.match('2026/03/29/02/a');
  assert.equal(gap?.startMs, Date.UTC(2026, 2, 29, 1));
  const before = l.match('2026/03/29/01/a');
  assert.equal(before?.startMs, Date.UTC(2026, 2, 29, 0));
  // 2026-10-25 02:00 local happens twice; the first occurrence (CEST, 00:00 UTC) starts it.
  const repeated = l.match('2026/10/25/02/a');
  assert.equal(repeated?.startMs, Date.UTC(2026, 9, 25, 0));
  assert.ok(l.match('2026/10/25/03/a')!.startMs > repeated!.startMs);
});

test('year and month granularity', () => {
  const y = compileLayout('year={yyyy}');
  assert.deepEqual(y.parseKey('year=2026'), { key: 'year=2026', startMs: Date.UTC(2026, 0, 1), endMs: Date.UTC(2027, 0, 1) });
  const m = compileLayout('{yyyy}/{MM}');
  assert.equal(m.parseKey('2026/12')?.endMs, Date.UTC(2027, 0, 1));
});

test('bad layouts and zones are config errors that say what to write', () => {
  const bad: Array<[string, RegExp]> = [
    ['{yyyy}/{dd}', /without gaps/],
    ['{MM}/{dd}', /without gaps/],
    ['{yyyy}/{yyyy}', /twice/],
    ['{yyyy}/{mm}', /unknown token \{mm\}/],
    ['static/path', /without gaps/],
    ['{yyyy}/*/{MM}', /wildcards/],
  ];
  for (const [layout, why] of bad) {
    assert.throws(() => compileLayout(layout), (e) => hasCode(e, 'InvalidConfig') && why.test(String(e)), layout);
  }
  assert.throws(() => compileLayout('{yyyy}', 'Mars/Olympus'), (e) => hasCode(e, 'InvalidConfig') && /IANA/.test(String(e)));
  assert.equal(compileLayout('/{yyyy}/{MM}/').layout, '{yyyy}/{MM}', 'leading and trailing slashes are tolerated');
});
