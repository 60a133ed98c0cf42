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
  source.on('error', (err) => out.destroy(translate(err)));
  out.on('close', () => {
    if (!source.destroyed) source.destroy();
  });
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
