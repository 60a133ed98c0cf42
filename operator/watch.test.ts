import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Watch } from '@kubernetes/client-node';
import { ListWatch, type KubeObject } from './watch.ts';

type Script = (cb: (type: string, obj: unknown) => void, done: (err: unknown) => void, query: Record<string, unknown>) => void;

function fakeWatch(scripts: Script[]): { watch: Watch; queries: Array<Record<string, unknown>> } {
  const queries: Array<Record<string, unknown>> = [];
  let i = 0;
  const watch = {
    async watch(_path: string, query: Record<string, unknown>, cb: (type: string, obj: unknown) => void, done: (err: unknown) => void) {
      queries.push(query);
      const ac = new AbortController();
      ac.signal.addEventListener('abort', () => done(Object.assign(new Error('aborted'), { name: 'AbortError' })));
      const script = scripts[Math.min(i++, scripts.length - 1)] as Script;
      setImmediate(() => script(cb, done, query));
      return ac;
    },
  } as unknown as Watch;
  return { watch, queries };
}

const obj = (name: string, rv: string): KubeObject => ({ metadata: { name, namespace: 'n', resourceVersion: rv } });
const until = async (cond: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) { if (Date.now() > end) throw new Error('condition not reached'); await new Promise((r) => setTimeout(r, 10)); }
};

test('410 Gone relists; other events resume from the last resourceVersion', async () => {
  let lists = 0;
  const seen: string[] = [];
  const { watch, queries } = fakeWatch([
    (cb) => { cb('ADDED', obj('a', '11')); cb('BOOKMARK', obj('', '12')); cb('ERROR', { kind: 'Status', code: 410 }); },
    () => { /* stays open */ },
  ]);
  const lw = new ListWatch({ name: 't', watch, path: '/x', log: pino({ level: 'silent' }), list: async () => { lists++; return { items: [obj('seed', '1')], metadata: { resourceVersion: '10' } }; }, onEvent: (type, o) => seen.push(`${type}:${o.metadata?.name}`) });
  void lw.start();
  await until(() => lists === 2 && queries.length === 2);
  lw.stop();
  assert.equal(queries[0]?.['resourceVersion'], '10');
  assert.equal(queries[0]?.['allowWatchBookmarks'], 'true');
  assert.equal(queries[1]?.['resourceVersion'], '10', 'after relist, watch from the new list');
  assert.deepEqual(seen, ['SYNC:seed', 'ADDED:a', 'SYNC:seed']);
  assert.equal(lw.stats.gone, 1);
});

test('a watch that goes silent is restarted by the watchdog from the last resourceVersion', async () => {
  const { watch, queries } = fakeWatch([
    (cb) => { cb('MODIFIED', obj('a', '21')); /* then silence */ },
    () => {},
  ]);
  const lw = new ListWatch({ name: 't', watch, path: '/x', watchdogMs: 100, log: pino({ level: 'silent' }), list: async () => ({ items: [], metadata: { resourceVersion: '20' } }), onEvent: () => {} });
  void lw.start();
  await until(() => queries.length >= 2);
  lw.stop();
  assert.equal(lw.stats.watchdogAborts >= 1, true);
  assert.equal(lw.stats.lists, 1, 'no relist needed');
  assert.equal(queries[1]?.['resourceVersion'], '21');
});

test('a failing watch retries with backoff and relists', async () => {
  let lists = 0;
  const { watch, queries } = fakeWatch([
    (_cb, done) => done(Object.assign(new Error('connection reset'), { statusCode: 500 })),
    () => {},
  ]);
  const lw = new ListWatch({ name: 't', watch, path: '/x', log: pino({ level: 'silent' }), list: async () => { lists++; return { items: [], metadata: { resourceVersion: '5' } }; }, onEvent: () => {} });
  const t0 = Date.now();
  void lw.start();
  await until(() => queries.length === 2);
  lw.stop();
  assert.equal(lw.stats.errors, 1);
  assert.equal(lists, 2);
  assert.ok(Date.now() - t0 >= 400, 'waited for the backoff');
});

test("client-node's inactivity timeout is a normal end: resume without relist or backoff", async () => {
  let lists = 0;
  const { watch, queries } = fakeWatch([
    (cb, done) => { cb('ADDED', obj('a', '31')); done(Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' })); },
    () => {},
  ]);
  const lw = new ListWatch({ name: 't', watch, path: '/x', log: pino({ level: 'silent' }), list: async () => { lists++; return { items: [], metadata: { resourceVersion: '30' } }; }, onEvent: () => {} });
  void lw.start();
  await until(() => queries.length === 2);
  lw.stop();
  assert.equal(lists, 1);
  assert.equal(lw.stats.errors, 0);
  assert.equal(queries[1]?.['resourceVersion'], '31');
});
