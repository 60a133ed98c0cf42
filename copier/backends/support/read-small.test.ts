import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FilesystemBackend } from '../filesystem/filesystem.ts';
import { readJson, readText } from './read-small.ts';

test('a small object read whole: its text or JSON, undefined when absent, SyntaxError when not JSON', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'read-small-'));
  writeFileSync(path.join(root, 'a.json'), '{"n":[1,2]}');
  writeFileSync(path.join(root, 'b.txt'), 'not json');
  const fs = new FilesystemBackend(root, 'state');
  assert.equal(await readText(fs, 'b.txt'), 'not json');
  assert.deepEqual(await readJson(fs, 'a.json'), { n: [1, 2] });
  assert.equal(await readText(fs, 'missing.json'), undefined);
  assert.equal(await readJson(fs, 'missing.json'), undefined);
  await assert.rejects(readJson(fs, 'b.txt'), SyntaxError);
});
