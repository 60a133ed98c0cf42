// A small object read whole (run state, retry counts, watermarks, success markers), in one place,
// so that "absent" means undefined for every caller and every backend. NotFound is caught around
// the whole read, not only the open: some backends only learn the object is missing on the first chunk.
import type { Backend } from '../backend.ts';
import { hasCode } from '../../errors.ts';

/** The object's text; undefined when it does not exist. */
export async function readText(backend: Backend, path: string): Promise<string | undefined> {
  try {
    const chunks: Buffer[] = [];
    for await (const c of await backend.read(path)) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    if (hasCode(err, 'NotFound')) return undefined;
    throw err;
  }
}

/** The object parsed as JSON; undefined when it does not exist (a body that is not JSON throws SyntaxError). */
export async function readJson<T>(backend: Backend, path: string): Promise<T | undefined> {
  const text = await readText(backend, path);
  return text === undefined ? undefined : (JSON.parse(text) as T);
}
