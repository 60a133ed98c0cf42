// The durable state of one run, at `<state prefix>runs/<runId>/` on the state endpoint (the
// destination by default): the manifest the planner writes, the journals shards append to, and
// the report. Everything goes through the Backend interface, so the state can live on any backend;
// "appending" is writing a new small object, which every backend can do atomically.
import { createReadStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import type { Backend } from '../backends/backend.ts';
import { hasCode } from '../errors.ts';
import { mapOrdered } from './concurrency.ts';
import { removeAll } from '../backends/support/remove-all.ts';
import { readJson, readText } from '../backends/support/read-small.ts';

// A log is one small object per journal flush (about one a second per shard), so a long run's
// commit reads thousands of them: this many at a time rather than one after another.
const REQUESTS_IN_FLIGHT = 8;

export class RunState {
  readonly backend: Backend;
  /** Relative to the backend root, ends with '/'. */
  readonly dir: string;

  constructor(backend: Backend, statePrefix: string, runId: string) {
    this.backend = backend;
    this.dir = `${statePrefix}runs/${runId}/`;
  }

  async putJson(name: string, value: unknown): Promise<void> {
    const body = Buffer.from(JSON.stringify(value, null, 1));
    await this.backend.write(this.dir + name, Readable.from([body]), { size: body.length, contentType: 'application/json' });
  }

  async getJson<T>(name: string): Promise<T | undefined> {
    return readJson<T>(this.backend, this.dir + name);
  }

  async putFile(name: string, localFile: string, size: number): Promise<void> {
    await this.backend.write(this.dir + name, createReadStream(localFile), { size, contentType: 'application/x-ndjson' });
  }

  /** Streams a JSON-lines object line by line; an absent object yields nothing. */
  async *readLines<T>(name: string): AsyncGenerator<T> {
    let stream: Readable;
    try {
      stream = await this.backend.read(this.dir + name);
    } catch (err) {
      if (hasCode(err, 'NotFound')) return;
      throw err;
    }
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
      if (line.trim() !== '') yield JSON.parse(line) as T;
    }
  }

  /** Appends records to a log: one new object per batch under `<name>/`, read back in name order. */
  async append(name: string, records: unknown[]): Promise<void> {
    if (!records.length) return;
    const stamp = Date.now().toString().padStart(15, '0');
    const body = Buffer.from(records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    await this.backend.write(`${this.dir}${name}/${stamp}-${randomBytes(4).toString('hex')}.jsonl`, Readable.from([body]), { size: body.length });
  }

  /** The records of a log in append order; its objects are read REQUESTS_IN_FLIGHT ahead. */
  async *readLog<T>(name: string): AsyncGenerator<T> {
    const prefix = `${this.dir}${name}/`;
    const parts: string[] = [];
    for await (const e of this.backend.list({ prefix })) parts.push(e.path);
    for await (const body of mapOrdered(parts, REQUESTS_IN_FLIGHT, (p) => readText(this.backend, p))) {
      for (const line of (body ?? '').split('\n')) if (line.trim() !== '') yield JSON.parse(line) as T;
    }
  }

  /**
   * Deletes the state of all but the newest `keep` runs (run ids sort by start time), so a
   * DataSync that runs every minute does not grow its state prefix forever.
   */
  static async pruneRuns(backend: Backend, statePrefix: string, keep: number, except: string): Promise<number> {
    const runsDir = `${statePrefix}runs/`;
    const byRun = new Map<string, string[]>();
    for await (const e of backend.list({ prefix: runsDir })) {
      const runId = e.path.slice(runsDir.length).split('/')[0]!;
      byRun.set(runId, [...(byRun.get(runId) ?? []), e.path]);
    }
    const old = [...byRun.keys()].filter((id) => id !== except).sort().reverse().slice(Math.max(0, keep - 1));
    await removeAll(backend, old.flatMap((id) => byRun.get(id)!.map((path) => ({ path }))));
    return old.length;
  }

  /** Deletes everything of this run except the named objects. */
  async removeAllBut(keep: string[]): Promise<void> {
    const paths: Array<{ path: string }> = [];
    for await (const e of this.backend.list({ prefix: this.dir })) {
      if (!keep.includes(e.path.slice(this.dir.length))) paths.push({ path: e.path });
    }
    await removeAll(this.backend, paths);
  }
}
