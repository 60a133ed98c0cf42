// A deliberately independent WebHDFS client for seeding and checking workflow data, so the tests
// do not verify the copier with its own backend code.
import http from 'node:http';

/** The DataNode answers a CREATE with an unsolicited "100 Continue", which fetch rejects; node:http copes. */
function httpPut(url: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', headers: { 'content-length': body.length, 'content-type': 'application/octet-stream' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
export interface Hdfs {
  mkdirs(path: string): Promise<void>;
  put(path: string, data: Buffer, mtimeMs?: number): Promise<void>;
  get(path: string): Promise<Buffer>;
  /** Every file below dir, as paths relative to it, sorted. */
  listFiles(dir: string): Promise<Array<{ path: string; size: number }>>;
  remove(path: string): Promise<void>;
}

export function hdfsClient(baseUrl: string, user: string): Hdfs {
  const url = (path: string, op: string, extra = '') => `${baseUrl}/webhdfs/v1${encodeURI(path)}?op=${op}&user.name=${encodeURIComponent(user)}${extra}`;
  const check = async (res: Response, what: string) => {
    if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
    return res;
  };
  return {
    async mkdirs(path) {
      await check(await fetch(url(path, 'MKDIRS'), { method: 'PUT' }), `MKDIRS ${path}`);
    },
    async put(path, data, mtimeMs) {
      const nn = await fetch(url(path, 'CREATE', '&overwrite=true'), { method: 'PUT', redirect: 'manual' });
      const location = nn.headers.get('location');
      await nn.body?.cancel();
      if (nn.status !== 307 || !location) throw new Error(`CREATE ${path}: expected a redirect, got HTTP ${nn.status}`);
      const dn = await httpPut(location, data);
      if (dn.status !== 201 && dn.status !== 200) throw new Error(`CREATE ${path} (datanode): HTTP ${dn.status} ${dn.text}`);
      if (mtimeMs !== undefined) {
        await check(await fetch(url(path, 'SETTIMES', `&modificationtime=${Math.floor(mtimeMs)}`), { method: 'PUT' }), `SETTIMES ${path}`);
      }
    },
    async get(path) {
      const res = await check(await fetch(url(path, 'OPEN')), `OPEN ${path}`);
      return Buffer.from(await res.arrayBuffer());
    },
    async listFiles(dir) {
      const out: Array<{ path: string; size: number }> = [];
      const walk = async (rel: string) => {
        const res = await fetch(url(dir + (rel ? `/${rel}` : ''), 'LISTSTATUS'));
        if (res.status === 404) { await res.body?.cancel(); return; }
        await check(res, `LISTSTATUS ${dir}/${rel}`);
        const body = (await res.json()) as { FileStatuses: { FileStatus: Array<{ pathSuffix: string; type: string; length: number }> } };
        for (const s of body.FileStatuses.FileStatus) {
          const p = rel ? `${rel}/${s.pathSuffix}` : s.pathSuffix;
          if (s.type === 'DIRECTORY') await walk(p);
          else out.push({ path: p, size: s.length });
        }
      };
      await walk('');
      return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    },
    async remove(path) {
      await check(await fetch(url(path, 'DELETE', '&recursive=true'), { method: 'DELETE' }), `DELETE ${path}`);
    },
  };
}

/** Runs fn over items with at most `limit` in flight. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  }));
  return out;
}
