// Stream helpers shared by backends that wrap an SDK stream.
import { PassThrough, Readable } from 'node:stream';
import { byobOf, type ByobReader } from './byob.ts';
import type { BufferLease } from './buffer-pool.ts';

/** A body read whole into one Buffer (a listing page, an error document). */
export async function collect(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks);
}

export function emptyReadable(): Readable {
  return Readable.from([]);
}

/**
 * Pipes an SDK stream into a PassThrough whose errors are translated, so consumers only ever see
 * DataSyncErrors, and waits for the first byte (or the end, or an error) before resolving: a read
 * of an absent object then rejects instead of failing later in the middle of a pipeline.
 */
export async function translatedReadable(source: Readable, translate: (err: unknown) => Error): Promise<Readable> {
  const out = new PassThrough();
  await new Promise<void>((resolve, reject) => {
    const onReadable = () => {
      cleanup();
      resolve();
    };
    const onError = (err: unknown) => {
      cleanup();
      reject(translate(err));
    };
    const cleanup = () => {
      source.off('readable', onReadable);
      source.off('end', onReadable);
      source.off('error', onError);
    };
    source.once('readable', onReadable);
    source.once('end', onReadable);
    source.once('error', onError);
  });
  source.on('error', (err) => out.destroy(translate(err)));
  out.on('close', () => {
    if (!source.destroyed) source.destroy();
  });
  source.pipe(out);
  return out;
}

/**
 * Re-chunks a stream into buffers of exactly `size` bytes (the last may be shorter), for part- and
 * block-wise uploads. A piece that is a whole chunk by itself (a small file read in one call)
 * passes without a copy; otherwise pieces are copied into a small ring of reused chunk buffers
 * instead of a fresh Buffer.concat per chunk (9% of B1's CPU, and 2× the memory churn). So a
 * yielded chunk stays valid only while the consumer holds at most `held` chunks (default 1) when it
 * pulls the next: an uploader with k parts in flight passes held: k. With `atLeastOne`, an empty
 * stream yields one empty chunk (a 0-byte object is still one PUT). With a `lease`, the chunk
 * buffers come from it (support/buffer-pool.ts), and the consumer releases them when done.
 */
export interface ChunkOptions { atLeastOne?: boolean; held?: number; lease?: BufferLease }

export async function* fixedChunks(body: AsyncIterable<Buffer | Uint8Array | string>, size: number, opts: ChunkOptions = {}): AsyncGenerator<Buffer> {
  const reader = byobOf(body);
  if (reader) {
    yield* filledChunks(body as unknown as Readable, reader, size, opts);
    return;
  }
  const ring = (opts.held ?? 1) + 1;
  const buffers: Buffer[] = [];
  let turn = 0;
  let whole: Buffer | undefined; // the chunk's only piece so far, not copied
  let target: Buffer | undefined; // the chunk buffer, once a second piece arrived
  let have = 0;
  let yielded = false;
  const spill = (): Buffer => {
    const t = buffers[turn] ??= opts.lease?.get(size) ?? Buffer.allocUnsafeSlow(size);
    turn = (turn + 1) % ring;
    if (whole) whole.copy(t, 0);
    whole = undefined;
    return t;
  };
  for await (const raw of body) {
    let chunk = typeof raw === 'string' ? Buffer.from(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    while (chunk.length > 0) {
      const take = Math.min(size - have, chunk.length);
      const piece = chunk.subarray(0, take);
      chunk = chunk.subarray(take);
      if (have === 0) whole = piece;
      else (target ??= spill()).set(piece, have);
      have += take;
      if (have === size) {
        yield target ?? whole!;
        yielded = true;
        whole = target = undefined;
        have = 0;
      }
    }
  }
  if (have > 0) yield target ? target.subarray(0, have) : whole!;
  else if (opts.atLeastOne && !yielded) yield Buffer.alloc(0);
}

/** fixedChunks for a source that reads into the ring's buffers itself (support/byob.ts). */
async function* filledChunks(body: Readable, reader: ByobReader, size: number, opts: ChunkOptions): AsyncGenerator<Buffer> {
  const ring = (opts.held ?? 1) + 1;
  const buffers: Buffer[] = [];
  let turn = 0;
  let yielded = false;
  try {
    if (reader.takeRest) {
      const rest = await reader.takeRest();
      body.destroy();
      for (let at = 0; at < rest.length; at += size) {
        yield rest.subarray(at, at + size); // views of memory nobody reuses: any number may be held
        yielded = true;
      }
      if (opts.atLeastOne && !yielded) yield rest;
      return;
    }
    for (let atEnd = false; !atEnd;) {
      const buf = buffers[turn] ??= opts.lease?.get(size) ?? Buffer.allocUnsafeSlow(size);
      turn = (turn + 1) % ring;
      let have = 0;
      while (have < size) {
        const n = await reader.readInto(buf, have, size - have);
        if (n === 0) {
          atEnd = true;
          break;
        }
        have += n;
      }
      if (have === 0) break;
      // At the end, release the source before the last chunk goes out: a consumer that knows the
      // size (a single PUT) never pulls again, so the finally below would not run until GC.
      if (atEnd) body.destroy();
      yield have === size ? buf : buf.subarray(0, have);
      yielded = true;
    }
    body.destroy();
    if (opts.atLeastOne && !yielded) yield Buffer.alloc(0);
  } finally {
    // Done, failed or abandoned by the consumer: the stream was never read, so release the source.
    body.destroy();
  }
}

/**
 * Reads up to `limit` bytes of body. When the body ends within the limit, `rest` is undefined and
 * the whole body is in `head`; otherwise `rest` replays head and then the remainder, streamed.
 * Lets a backend choose a single-shot upload of a buffered small body, whose request can never
 * hang half-sent, without knowing the size up front.
 */
export async function readHead(body: Readable, limit: number, signal?: AbortSignal): Promise<{ head: Buffer; rest?: Readable }> {
  const it = body[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const parts: Buffer[] = [];
  let have = 0;
  for (;;) {
    signal?.throwIfAborted();
    const { value, done } = await it.next();
    if (done) return { head: Buffer.concat(parts, have) };
    const chunk = typeof value === 'string' ? Buffer.from(value) : value;
    parts.push(chunk);
    have += chunk.length;
    if (have > limit) {
      const head = Buffer.concat(parts, have);
      const rest = Readable.from(
        (async function* () {
          yield head;
          for (;;) {
            const next = await it.next();
            if (next.done) return;
            yield typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
          }
        })(),
      );
      return { head, rest };
    }
  }
}
