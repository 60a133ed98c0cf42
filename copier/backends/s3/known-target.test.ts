import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deleteBody, environmentCredentials, knownTarget, listQuery } from './known-target.ts';

test('knownTarget: path-style requests at an explicit http(s) endpoint; anything else stays with the SDK', () => {
  assert.deepEqual(knownTarget({ endpoint: 'http://127.0.0.1:9000', bucket: 'b' }, 'us-east-1', true),
    { protocol: 'http:', hostname: '127.0.0.1', port: 9000, host: '127.0.0.1:9000', basePath: '/b', region: 'us-east-1', service: 's3' });
  assert.deepEqual(knownTarget({ endpoint: 'https://s3.example.com/storage/', bucket: 'my.bucket' }, 'eu-west-1', true),
    { protocol: 'https:', hostname: 's3.example.com', port: undefined, host: 's3.example.com', basePath: '/storage/my.bucket', region: 'eu-west-1', service: 's3' });
  assert.equal(knownTarget({ endpoint: 'http://[::1]:9000', bucket: 'b' }, 'us-east-1', true)?.hostname, '::1');
  assert.equal(knownTarget({ bucket: 'b' }, 'us-east-1', true), undefined, 'AWS itself: region redirects, virtual hosts');
  assert.equal(knownTarget({ endpoint: 'http://127.0.0.1:9000', bucket: 'b' }, 'us-east-1', false), undefined, 'virtual-hosted');
  assert.equal(knownTarget({ endpoint: 'ftp://h', bucket: 'b' }, 'us-east-1', true), undefined);
  assert.equal(knownTarget({ endpoint: 'not a url', bucket: 'b' }, 'us-east-1', true), undefined);
  assert.equal(knownTarget({ endpoint: 'http://u:p@h:1', bucket: 'b' }, 'us-east-1', true), undefined);
});

test('environmentCredentials: the key pair the SDK chain takes first, not when AWS_PROFILE makes it skip them', () => {
  assert.deepEqual(environmentCredentials({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 's' }), { accessKeyId: 'a', secretAccessKey: 's' });
  assert.deepEqual(environmentCredentials({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 't' }), { accessKeyId: 'a', secretAccessKey: 's', sessionToken: 't' });
  assert.equal(environmentCredentials({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 's', AWS_PROFILE: 'p' }), undefined);
  assert.equal(environmentCredentials({ AWS_ACCESS_KEY_ID: 'a' }), undefined);
});

test('listQuery is canonical: sorted by name, RFC 3986-encoded values', () => {
  assert.equal(listQuery({ prefix: '' }), 'list-type=2&prefix=');
  assert.equal(listQuery({ prefix: 'a b/c+d', delimiter: '/', token: 'x/y=', startAfter: "it's*" }),
    'continuation-token=x%2Fy%3D&delimiter=%2F&list-type=2&prefix=a%20b%2Fc%2Bd&start-after=it%27s%2A');
});

test('deleteBody escapes keys and asks for a quiet answer', () => {
  assert.equal(deleteBody(['a&b', '<c>"d\'']), '<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet><Object><Key>a&amp;b</Key></Object><Object><Key>&lt;c&gt;&quot;d&apos;</Key></Object></Delete>');
});
