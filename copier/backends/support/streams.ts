// Stream helpers shared by backends that wrap an SDK stream.
import { PassThrough, Readable } from 'node:stream';

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

/** Reads a stream into fixed-size chunks (the last may be shorter), for block-wise uploads. */
export async function* fixedChunks(body: AsyncIterable<Buffer | Uint8Array | string>, chunkSize: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (const raw of body) {
    let chunk = typeof raw === 'string' ? Buffer.from(raw) : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    while (chunk.length > 0) {
      const take = Math.min(chunkSize - have, chunk.length);
      parts.push(chunk.subarray(0, take));
      have += take;
      chunk = chunk.subarray(take);
      if (have === chunkSize) {
        yield Buffer.concat(parts, have);
        parts = [];
        have = 0;
      }
    }
  }
  if (have > 0) yield Buffer.concat(parts, have);
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
