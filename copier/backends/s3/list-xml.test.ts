import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { parseListObjectsV2 } from './list-xml.ts';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function listing(objects: Array<{ key: string; size: number; modified: string; etag: string; storageClass?: string }>, truncated: string | undefined, extra = '', prefixes: string[] = []): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix><KeyCount>${objects.length + prefixes.length}</KeyCount><MaxKeys>1000</MaxKeys>${extra}<IsTruncated>${truncated ? 'true' : 'false'}</IsTruncated>${
  objects.map((o) => `<Contents><Key>${o.key}</Key><LastModified>${o.modified}</LastModified><ETag>${o.etag}</ETag><Size>${o.size}</Size><Owner><ID>x</ID><DisplayName></DisplayName></Owner>${o.storageClass ? `<StorageClass>${o.storageClass}</StorageClass>` : ''}</Contents>`).join('')
}${prefixes.map((p) => `<CommonPrefixes><Prefix>${p}</Prefix></CommonPrefixes>`).join('')}${truncated ? `<NextContinuationToken>${truncated}</NextContinuationToken>` : ''}</ListBucketResult>`;
}

/** What the SDK's own deserializer makes of the same body. */
async function viaSdk(xml: string) {
  const client = new S3Client({
    region: 'us-east-1', endpoint: 'http://127.0.0.1:1', forcePathStyle: true, credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    requestHandler: { handle: async () => ({ response: { statusCode: 200, headers: {}, body: Readable.from([Buffer.from(xml)]) } }) } as never,
  });
  try {
    const out = await client.send(new ListObjectsV2Command({ Bucket: 'b' }));
    return {
      objects: (out.Contents ?? []).map((o) => ({
        path: o.Key!, size: o.Size!, mtimeMs: o.LastModified!.getTime(), ...(o.ETag ? { version: o.ETag } : {}), ...(o.StorageClass ? { storageClass: o.StorageClass } : {}),
      })),
      prefixes: (out.CommonPrefixes ?? []).map((p) => p.Prefix!),
      truncated: out.IsTruncated === true,
      ...(out.IsTruncated ? { nextToken: out.NextContinuationToken } : {}),
    };
  } finally {
    client.destroy();
  }
}

test('reads a listing exactly as the SDK does: hostile keys, both ETag quotings, storage class, tokens', async () => {
  const keys = [
    'plain/file.bin', 'caf\u00e9.txt', 'cafe\u0301.txt', 'Hello, 世界 ≠ @.txt', 'a ? b # c % d + e & f.txt', '100%/x+y=z&w.txt',
    ' leading and trailing ', '<angle> "quoted" \'single\'', 'tab\there', 'emoji \u{1F600}', 'x'.repeat(300),
  ];
  const objects = keys.map((key, i) => ({
    key: esc(key), size: i * 1000, modified: `2026-11-21T07:${String(i).padStart(2, '0')}:00.${String(i * 7).padStart(3, '0')}Z`,
    etag: i % 2 ? `&#34;${'ab'.repeat(16)}&#34;` : `&quot;${'cd'.repeat(16)}-${i}&quot;`, ...(i % 3 ? {} : { storageClass: 'STANDARD' }),
  }));
  const token = '1/ab+cd==&amp;x';
  const prefixes = ['d0000/', esc('a & b/'), 'z\u{1F600}/'];
  for (const xml of [listing(objects, token), listing(objects, undefined), listing([], undefined), listing(objects.slice(0, 3), token, '<Delimiter>/</Delimiter>', prefixes)]) {
    const fast = parseListObjectsV2(xml);
    assert.ok(fast, 'accepted');
    assert.deepEqual(fast, await viaSdk(xml));
  }
  assert.deepEqual(parseListObjectsV2(listing(objects.slice(0, 1), token))!.objects[0]!.path, 'plain/file.bin');
  assert.equal(parseListObjectsV2(listing(objects.slice(0, 1), token))!.nextToken, '1/ab+cd==&x');
});

test('anything unexpected is left to the SDK', () => {
  const one = [{ key: 'k', size: 1, modified: '2026-11-21T07:00:00.000Z', etag: '&#34;e&#34;' }];
  assert.ok(parseListObjectsV2(listing(one, undefined)));
  assert.equal(parseListObjectsV2(listing(one, undefined).replace('<Key>k</Key>', '<Key><![CDATA[k]]></Key>')), undefined);
  assert.equal(parseListObjectsV2(listing(one, undefined).replace('<Key>k</Key>', '<Key>k\r\n</Key>')), undefined);
  assert.equal(parseListObjectsV2(listing(one, undefined).replace('<Size>1</Size>', '')), undefined);
  assert.equal(parseListObjectsV2(listing(one, undefined).replace('<Size>1</Size>', '<Size>-1</Size>')), undefined);
  assert.equal(parseListObjectsV2(listing(one, undefined).replace('<KeyCount>1</KeyCount>', '<KeyCount>2</KeyCount>')), undefined);
  assert.equal(parseListObjectsV2(listing(one, undefined).replace('<Key>k</Key>', '<Key>k&nbsp;</Key>')), undefined);
  assert.equal(parseListObjectsV2(listing(one, 'tok').replace('<NextContinuationToken>tok</NextContinuationToken>', '')), undefined, 'truncated without a token');
  assert.equal(parseListObjectsV2('<Error><Code>AccessDenied</Code></Error>'), undefined);
  assert.equal(parseListObjectsV2(listing(one, undefined).replace('<IsTruncated>false</IsTruncated>', '')), undefined);
});
