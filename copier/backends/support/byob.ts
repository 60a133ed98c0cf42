// Bring-your-own-buffer reads, as WHATWG's ReadableStreamBYOBReader and Go's io.Reader: a source
// that can read straight into the caller's buffer lets a part uploader fill its reused part
// buffers with no chunk in between. Streaming a 256 MiB file in 1 MiB chunks cost a fresh buffer
// per chunk (page faults, then garbage collection) and a copy into the part buffer: about a
// quarter of the copier's CPU in B1.
import type { Readable } from 'node:stream';

const BYOB = Symbol('datasync.byob');

export interface ByobReader {
  /** Reads up to `length` bytes into target at offset; resolves to the count, 0 only at the end. */
  readInto(target: Buffer, offset: number, length: number): Promise<number>;
}

/**
 * Marks a stream as also readable through `reader`. The contract: a consumer reads either through
 * the reader or through the stream, never both, and destroys the stream when done with the reader
 * (that is what releases the source).
 */
export function withByob<T extends Readable>(stream: T, reader: ByobReader): T {
  (stream as T & { [BYOB]?: ByobReader })[BYOB] = reader;
  return stream;
}

export function byobOf(stream: unknown): ByobReader | undefined {
  return (stream as { [BYOB]?: ByobReader } | null | undefined)?.[BYOB];
}
