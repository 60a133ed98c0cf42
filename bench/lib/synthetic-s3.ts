// B4's SYNTHETIC listing source: an S3-compatible endpoint on 127.0.0.1 that answers ListObjectsV2
// (with prefix, delimiter, max-keys, continuation) over N virtual objects it never stores. Keys
// are `p0000/f0000000.bin`, 1,000 per "directory", sorted, so any key is computed from its index
// and a listing page costs O(page). It lets `datasync plan` and rclone list 1,000,000 objects
// without a server that holds them; it is labelled as synthetic wherever it appears.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Synthetic { endpoint: string; bucket: string; objects: number; close: () => Promise<void> }

const PER_DIR = 1000;
const SIZE = 1024;
const MTIME = new Date('2026-01-01T00:00:00Z');
const etag = '"0f343b0931126a20f133d67c2b018a3b"';

export async function startSynthetic(objects: number, bucket = 'synthetic'): Promise<Synthetic> {
  const key = (i: number) => `p${String(Math.floor(i / PER_DIR)).padStart(4, '0')}/f${String(i).padStart(7, '0')}.bin`;
  // First index whose key is >= k (keys are sorted by index).
  const lowerBound = (k: string) => {
    let lo = 0;
    let hi = objects;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (key(mid) < k) lo = mid + 1; else hi = mid;
    }
    return lo;
  };
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const [, b, ...rest] = url.pathname.split('/');
    const objKey = decodeURIComponent(rest.join('/'));
    const xml = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
    };
    if (b !== bucket) return xml(404, '<Error><Code>NoSuchBucket</Code></Error>');
    if (objKey) {
      const i = lowerBound(objKey);
      if (i < objects && key(i) === objKey && (req.method === 'HEAD' || req.method === 'GET')) {
        res.writeHead(200, { 'content-length': SIZE, 'last-modified': MTIME.toUTCString(), etag });
        return res.end(req.method === 'GET' ? Buffer.alloc(SIZE) : undefined);
      }
      return req.method === 'HEAD' ? (res.writeHead(404), res.end()) : xml(404, '<Error><Code>NoSuchKey</Code></Error>');
    }
    if (req.method === 'HEAD') return (res.writeHead(200), res.end());
    if (url.searchParams.has('location')) return xml(200, '<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>');
    if (req.method !== 'GET') return xml(501, '<Error><Code>NotImplemented</Code></Error>');
    const prefix = url.searchParams.get('prefix') ?? '';
    const delimiter = url.searchParams.get('delimiter') ?? '';
    const maxKeys = Math.min(Number(url.searchParams.get('max-keys') ?? 1000) || 1000, 1000);
    const v2 = url.searchParams.get('list-type') === '2';
    const after = v2 ? (url.searchParams.get('continuation-token') ?? url.searchParams.get('start-after') ?? '') : (url.searchParams.get('marker') ?? '');
    let i = lowerBound(after > prefix ? after : prefix);
    if (i < objects && key(i) === after) i++;
    const contents: string[] = [];
    const prefixes: string[] = [];
    let last = '';
    let truncated = false;
    while (i < objects) {
      const k = key(i);
      if (!k.startsWith(prefix)) break;
      if (contents.length + prefixes.length >= maxKeys) { truncated = true; break; }
      const d = delimiter ? k.indexOf(delimiter, prefix.length) : -1;
      if (d >= 0) {
        const cp = k.slice(0, d + delimiter.length);
        prefixes.push(`<CommonPrefixes><Prefix>${esc(cp)}</Prefix></CommonPrefixes>`);
        last = cp;
        i = lowerBound(cp + '\uffff');
      } else {
        contents.push(`<Contents><Key>${esc(k)}</Key><LastModified>${MTIME.toISOString()}</LastModified><ETag>${etag}</ETag><Size>${SIZE}</Size><StorageClass>STANDARD</StorageClass></Contents>`);
        last = k;
        i++;
      }
    }
    const token = truncated ? (v2 ? `<NextContinuationToken>${esc(last)}</NextContinuationToken>` : `<NextMarker>${esc(last)}</NextMarker>`) : '';
    xml(200, `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${bucket}</Name><Prefix>${esc(prefix)}</Prefix>${delimiter ? `<Delimiter>${esc(delimiter)}</Delimiter>` : ''}<MaxKeys>${maxKeys}</MaxKeys><KeyCount>${contents.length + prefixes.length}</KeyCount><IsTruncated>${truncated}</IsTruncated>${token}${contents.join('')}${prefixes.join('')}</ListBucketResult>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`, bucket, objects,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
