import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideTrigger, runIdFor, type TriggerInput } from './trigger.ts';

const base = (over: Partial<TriggerInput> = {}): TriggerInput => ({
  spec: { source: { filesystem: { path: '/a' } }, destination: { filesystem: { path: '/b' } } },
  status: {},
  generation: 1,
  creationTimestamp: new Date('2026-11-21T10:00:30Z'),
  activeRun: undefined,
  now: new Date('2026-11-21T10:01:00Z'),
  ...over,
});

test('without schedule: one run per generation', () => {
  const first = decideTrigger(base());
  assert.equal(first.start?.trigger, 'Generation');
  assert.equal(first.start?.id, 'g1');
  assert.equal(decideTrigger(base({ status: { lastRunGeneration: 1 } })).start, undefined);
  assert.equal(decideTrigger(base({ status: { lastRunGeneration: 1 }, generation: 2 })).start?.id, 'g2');
});

test('an active run blocks a new one (Forbid)', () => {
  const active = { id: 'g1', trigger: 'Generation' as const, generation: 1, startTime: '' };
  assert.equal(decideTrigger(base({ generation: 2, status: { lastRunGeneration: 1 }, activeRun: active })).start, undefined);
});

test('suspend starts nothing and shows no next schedule', () => {
  assert.deepEqual(decideTrigger(base({ spec: { ...base().spec, suspend: true, schedule: '*/5 * * * *' } })), {});
  assert.deepEqual(decideTrigger(base({ spec: { ...base().spec, suspend: true } })), {});
});

test('schedule: nothing before the first occurrence after creation; nextScheduleTime is that occurrence', () => {
  const d = decideTrigger(base({ spec: { ...base().spec, schedule: '*/5 * * * *' } }));
  assert.equal(d.start, undefined);
  assert.equal(d.nextScheduleTime?.toISOString(), '2026-11-21T10:05:00.000Z');
  assert.equal(d.requeueAfterMs, 4 * 60_000);
});

test('schedule: a due occurrence starts one run named after its time; missed ones collapse', () => {
  const spec = { ...base().spec, schedule: '*/5 * * * *' };
  const d = decideTrigger(base({ spec, now: new Date('2026-11-21T10:17:10Z') }));
  assert.equal(d.start?.trigger, 'Schedule');
  assert.equal(d.start?.scheduledTime, '2026-11-21T10:15:00.000Z');
  assert.equal(d.start?.id, 's202611211015');
  assert.equal(d.nextScheduleTime?.toISOString(), '2026-11-21T10:20:00.000Z');
  const after = decideTrigger(base({ spec, now: new Date('2026-11-21T10:17:10Z'), status: { lastScheduleTime: '2026-11-21T10:15:00.000Z' } }));
  assert.equal(after.start, undefined);
});

test('schedule: startingDeadlineSeconds skips a late run', () => {
  const spec = { ...base().spec, schedule: '*/5 * * * *', startingDeadlineSeconds: 60 };
  assert.equal(decideTrigger(base({ spec, now: new Date('2026-11-21T10:17:10Z') })).start, undefined);
  assert.ok(decideTrigger(base({ spec, now: new Date('2026-11-21T10:15:30Z') })).start);
});

test('schedule honours timeZone', () => {
  const spec = { ...base().spec, schedule: '0 2 * * *', timeZone: 'Europe/Berlin' };
  const d = decideTrigger(base({ spec }));
  assert.equal(d.nextScheduleTime?.toISOString(), '2026-11-22T01:00:00.000Z');
});

test('a cron expression cron-parser refuses is reported, not thrown', () => {
  const d = decideTrigger(base({ spec: { ...base().spec, schedule: '99 * * * *' } }));
  assert.match(d.invalidSchedule ?? '', /not a valid cron/);
});

test('manual: each new value starts exactly one run, also with a schedule', () => {
  const spec = { ...base().spec, schedule: '0 0 1 1 *', trigger: { manual: 'a' } };
  const d = decideTrigger(base({ spec, generation: 3 }));
  assert.equal(d.start?.trigger, 'Manual');
  assert.equal(d.start?.manual, 'a');
  assert.equal(decideTrigger(base({ spec, generation: 3, status: { lastManualTrigger: 'a' } })).start, undefined);
  assert.notEqual(runIdFor('Manual', 3, new Date(), 'a'), runIdFor('Manual', 5, new Date(), 'a'));
});

test('watch: runs again interval after the last run ended', () => {
  const spec = { ...base().spec, watch: { interval: '1m' } };
  assert.equal(decideTrigger(base({ spec })).start?.trigger, 'Watch');
  const lastRun = { endTime: '2026-11-21T10:00:30Z' } as never;
  const waiting = decideTrigger(base({ spec, status: { lastRun }, now: new Date('2026-11-21T10:01:00Z') }));
  assert.equal(waiting.start, undefined);
  assert.equal(waiting.nextScheduleTime?.toISOString(), '2026-11-21T10:01:30.000Z');
  assert.ok(decideTrigger(base({ spec, status: { lastRun }, now: new Date('2026-11-21T10:01:31Z') })).start);
});

test('concurrencyPolicy Replace cancels an active run when the schedule is due; Forbid waits', () => {
  const active = { id: 's202611211010', trigger: 'Schedule' as const, generation: 1, startTime: '' };
  const now = new Date('2026-11-21T10:15:05Z');
  const status = { lastScheduleTime: '2026-11-21T10:10:00.000Z' };
  const replace = decideTrigger(base({ spec: { ...base().spec, schedule: '*/5 * * * *', concurrencyPolicy: 'Replace' }, status, activeRun: active, now }));
  assert.equal(replace.replaceActive, true);
  assert.equal(replace.start?.id, 's202611211015');
  const forbid = decideTrigger(base({ spec: { ...base().spec, schedule: '*/5 * * * *' }, status, activeRun: active, now }));
  assert.equal(forbid.start, undefined);
  const manualActive = decideTrigger(base({ spec: { ...base().spec, schedule: '*/5 * * * *', concurrencyPolicy: 'Replace' }, status, activeRun: active, now: new Date('2026-11-21T10:12:00Z') }));
  assert.equal(manualActive.start, undefined, 'nothing due: the active run continues');
});
