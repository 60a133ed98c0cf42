import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globToRegExp } from './glob.ts';

const matches = (glob: string, p: string) => globToRegExp(glob).test(p);

test('* stays within a segment, ** crosses segments', () => {
  assert.ok(matches('logs/*.gz', 'logs/a.gz'));
  assert.ok(!matches('logs/*.gz', 'logs/x/a.gz'));
  assert.ok(matches('logs/**/*.gz', 'logs/a.gz'));
  assert.ok(matches('logs/**/*.gz', 'logs/x/y/a.gz'));
  assert.ok(matches('**/_temporary/**', '_temporary/x'));
  assert.ok(matches('**/_temporary/**', 'a/b/_temporary/c/d'));
  assert.ok(!matches('**/_temporary/**', 'a/_temporaryx/c'));
});

test('a pattern without a slash matches at any depth', () => {
  assert.ok(matches('*.tmp', 'a.tmp'));
  assert.ok(matches('*.tmp', 'x/y/a.tmp'));
  assert.ok(!matches('*.tmp', 'x/a.tmp.gz'));
});

test('classes, alternatives, ? and escaped specials', () => {
  assert.ok(matches('data/file?.[ch]', 'data/file1.c'));
  assert.ok(!matches('data/file?.[!ch]', 'data/file1.c'));
  assert.ok(matches('**/*.{json,csv}', 'a/b.csv'));
  assert.ok(matches('a+b (1).txt', 'a+b (1).txt'));
  assert.ok(!matches('a.txt', 'abtxt'));
});
