// Fetches what the listing lacks for a decision: the recorded mtime (object stores list their
// upload time) or a whole-object checksum (native when the backend has one, else by reading).
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type { Backend, Checksum, Entry } from '../backends/backend.ts';
import { ChecksumStream, crc32cChecksum } from '../checksum.ts';

export async function withRecordedModTime(backend: Backend, entry: Entry): Promise<Entry> {
  return backend.features.listModTimeIsUploadTime ? backend.stat(entry.path) : entry;
}

export async function crc32cFor(backend: Backend, entry: Entry): Promise<Checksum> {
  const listed = entry.checksums?.find((c) => c.algorithm === 'crc32c');
  if (listed) return listed;
  if (backend.features.nativeChecksums.includes('crc32c')) {
    const stated = (await backend.stat(entry.path)).checksums?.find((c) => c.algorithm === 'crc32c');
    if (stated) return stated;
    const asked = await backend.features.checksum?.(entry.path, 'crc32c');
    if (asked) return asked;
  }
  const sum = new ChecksumStream();
  await pipeline(await backend.read(entry.path), sum, new Writable({ write: (_c, _e, cb) => cb() }));
  return crc32cChecksum(sum.crc32c);
}
