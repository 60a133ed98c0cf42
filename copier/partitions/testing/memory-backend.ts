// A Backend held in memory for unit tests of the partition and watch modules. It records every
// mutating call in order, so tests can assert "the marker is written last" directly.
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { comparePaths, type Backend, type Entry, type Features, type ListOptions, type WriteOptions, type WriteResult } from '../../backends/backend.ts';
import { DataSyncError } from '../../errors.ts';

export interface MemoryBackend extends Backend {
  readonly files: Map<string, { data: Buffer; mtimeMs: number; storageClass?: string }>;
  readonly dirs: Set<string>;
  readonly ops: string[];
}

export function memoryBackend(opts: { rename?: boolean; directories?: boolean; kind?: string } = {}): MemoryBackend {
  const files = new Map<string, { data: Buffer; mtimeMs: number; storageClass?: string }>();
  const dirs = new Set<string>();
  const ops: string[] = [];
  const notFound = (path: string) => new DataSyncError(`${path} not found`, { code: 'NotFound', side: 'destination', path });
  const addParents = (path: string) => {
    if (!opts.directories) return;
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  };
  const features: Features = { nativeChecksums: ['md5'], atomicWrite: !opts.rename };
  if (opts.rename) {
    features.rename = async (from, to) => {
      const f = files.get(from);
      if (!f) throw notFound(from);
      files.delete(from);
      files.set(to, f);
      addParents(to);
      ops.push(`rename ${from} -> ${to}`);
    };
  }
  if (opts.directories) {
    features.removeEmptyDir = async (path) => {
      const prefix = `${path}/`;
      if ([...files.keys()].some((p) => p.startsWith(prefix)) || [...dirs].some((d) => d.startsWith(prefix))) {
        throw new DataSyncError(`${path} is not empty`, { code: 'PreconditionFailed', side: 'source', path });
      }
      dirs.delete(path);
      ops.push(`rmdir ${path}`);
    };
  }
  const entryOf = (path: string): Entry => {
    const f = files.get(path);
    if (!f) throw notFound(path);
    return {
      path, size: f.data.length, mtimeMs: f.mtimeMs,
      checksums: [{ algorithm: 'md5', value: createHash('md5').update(f.data).digest('hex') }],
      ...(f.storageClass === undefined ? {} : { storageClass: f.storageClass }),
    };
  };
  return {
    kind: opts.kind ?? 'memory',
    location: 'memory://',
    features,
    files, dirs, ops,
    async *list(o?: ListOptions) {
      const paths = [...files.keys()].filter((p) => !o?.prefix || p.startsWith(o.prefix)).sort(comparePaths);
      for (const p of paths) if (files.has(p)) yield entryOf(p);
    },
    async stat(path) { return entryOf(path); },
    async read(path) {
      const f = files.get(path);
      if (!f) throw notFound(path);
      return Readable.from([f.data]);
    },
    async write(path, body, w?: WriteOptions): Promise<WriteResult> {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(Buffer.from(c as Buffer));
      const data = Buffer.concat(chunks);
      files.set(path, { data, mtimeMs: w?.mtimeMs ?? Date.now(), ...(w?.storageClass === undefined ? {} : { storageClass: w.storageClass }) });
      addParents(path);
      ops.push(`write ${path}`);
      return { size: data.length, checksums: [{ algorithm: 'md5', value: createHash('md5').update(data).digest('hex') }] };
    },
    async delete(path) { files.delete(path); ops.push(`delete ${path}`); },
    async close() {},
  };
}

export function put(b: MemoryBackend, path: string, content: string | Buffer, mtimeMs = 0): void {
  b.files.set(path, { data: Buffer.from(content), mtimeMs });
  if (b.features.removeEmptyDir) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) b.dirs.add(parts.slice(0, i).join('/'));
  }
}
