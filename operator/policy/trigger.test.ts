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

test('schedule across the spring-forward gap (America/New_York): 02:30 does not exist, the run announced for 03:30 EDT starts', () => {
  const spec = { ...base().spec, schedule: '30 2 * * *', timeZone: 'America/New_York' };
  const status = { lastScheduleTime: '2027-03-13T07:30:00.000Z' }; // Saturday 02:30 EST ran
  const saturday = decideTrigger(base({ spec, status, now: new Date('2027-03-13T12:00:00Z') }));
  assert.equal(saturday.start, undefined);
  assert.equal(saturday.nextScheduleTime?.toISOString(), '2027-03-14T07:30:00.000Z', 'Sunday 03:30 EDT');
  const sunday = decideTrigger(base({ spec, status, now: new Date('2027-03-14T07:31:00Z') }));
  assert.equal(sunday.start?.id, 's202703140730', 'the announced run starts (cron-parser\'s prev() alone skips it)');
  assert.equal(sunday.start?.scheduledTime, '2027-03-14T07:30:00.000Z');
  assert.equal(sunday.nextScheduleTime?.toISOString(), '2027-03-15T06:30:00.000Z', 'Monday 02:30 EDT');
  // With a deadline, a minute late is in time and a day late is not.
  const deadline = { ...spec, startingDeadlineSeconds: 600 };
  assert.equal(decideTrigger(base({ spec: deadline, status, now: new Date('2027-03-14T07:31:00Z') })).start?.id, 's202703140730');
  assert.equal(decideTrigger(base({ spec: deadline, now: new Date('2027-03-13T12:00:00Z') })).start, undefined);
});

test('schedule across the autumn change (America/New_York): 01:30 happens twice and runs once', () => {
  const spec = { ...base().spec, schedule: '30 1 * * *', timeZone: 'America/New_York' };
  const status = { lastScheduleTime: '2027-11-07T05:30:00.000Z' }; // 01:30 EDT ran
  const d = decideTrigger(base({ spec, status, now: new Date('2027-11-07T06:45:00Z') })); // 01:45 EST, after the second 01:30
  assert.equal(d.start, undefined, 'no second run at 01:30 EST');
  assert.equal(d.nextScheduleTime?.toISOString(), '2027-11-08T06:30:00.000Z');
  assert.equal(decideTrigger(base({ spec, status: {}, creationTimestamp: new Date('2027-11-06T12:00:00Z'), now: new Date('2027-11-07T05:31:00Z') })).start?.id, 's202711070530');
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

test('watch: a clock ahead of the Jobs\' completion times waits interval after the pass started, not at once', () => {
  // endTime is a Job completion time (control-plane clock); startTime and now are the operator's.
  // Here the operator's clock is a week ahead: counting from endTime alone would make the next pass
  // due at once, with the ID of the pass just recorded.
  const spec = { ...base().spec, watch: { interval: '8h' } };
  const lastRun = { id: 'w20261128100000', startTime: '2026-11-28T10:00:00.000Z', endTime: '2026-11-21T10:00:30.000Z' } as never;
  const justRecorded = decideTrigger(base({ spec, status: { lastRun }, now: new Date('2026-11-28T10:00:00Z') }));
  assert.equal(justRecorded.start, undefined);
  assert.equal(justRecorded.nextScheduleTime?.toISOString(), '2026-11-28T18:00:00.000Z');
  assert.equal(decideTrigger(base({ spec, status: { lastRun }, now: new Date('2026-11-28T17:59:59Z') })).start, undefined);
  const next = decideTrigger(base({ spec, status: { lastRun }, now: new Date('2026-11-28T18:00:00Z') }));
  assert.equal(next.start?.id, 'w20261128180000');
  // A normal run (ended after it started) still counts from its end.
  const ordinary = { startTime: '2026-11-21T10:00:00.000Z', endTime: '2026-11-21T10:00:30.000Z' } as never;
  assert.equal(decideTrigger(base({ spec, status: { lastRun: ordinary } })).nextScheduleTime?.toISOString(), '2026-11-21T18:00:30.000Z');
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
