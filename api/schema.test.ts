import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Ajv } from 'ajv';
import { dataSyncResourceSchema, dataSyncSchema, toJsonSchema, CRON_PATTERN, type JSONSchemaProps } from './schema.ts';
import { CRD_PATH, TYPES_GEN_PATH, renderCrd, renderTypes } from '../scripts/gen-api.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

test('generated CRD and types are up to date with api/schema.ts', () => {
  assert.equal(readFileSync(CRD_PATH, 'utf8'), renderCrd(), 'crds/datasync.yaml is stale: run node scripts/gen-api.ts');
  assert.equal(readFileSync(TYPES_GEN_PATH, 'utf8'), renderTypes(), 'api/types.gen.ts is stale: run node scripts/gen-api.ts');
});

test('gen-api --check exits 0 when fresh', () => {
  execFileSync(process.execPath, ['scripts/gen-api.ts', '--check'], { cwd: ROOT, stdio: 'pipe' });
});

test('every schema field has a description (kubectl explain documents it)', () => {
  const missing: string[] = [];
  const walk = (s: JSONSchemaProps, at: string): void => {
    if (!s.description) missing.push(at);
    for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${at}.${k}`);
    if (s.items && s.items.type === 'object') walk(s.items, `${at}[]`);
  };
  walk(dataSyncResourceSchema, 'datasync');
  assert.deepEqual(missing, []);
});

test('the examples validate against the JSON-Schema form of the spec (ajv)', () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(toJsonSchema(dataSyncSchema));
  const dir = path.join(ROOT, 'examples');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length > 0);
  for (const f of files) {
    for (const doc of parseAllDocuments(readFileSync(path.join(dir, f), 'utf8'))) {
      const obj = doc.toJS() as { kind?: string; spec?: unknown } | null;
      if (obj?.kind !== 'DataSync') continue;
      assert.ok(validate(obj.spec), `${f}: ${ajv.errorsText(validate.errors)}`);
    }
  }
  assert.equal(validate({ source: { s3: { bucket: 'ok-bucket' } }, destination: { filesystem: { path: '/x' } }, bandwidthLimit: '2Mix' }), false);
});

test('cron pattern accepts cron and macros, refuses junk', () => {
  const re = new RegExp(CRON_PATTERN);
  for (const ok of ['*/15 * * * *', '0 2 * * 1-5', '@hourly', '0 0 1 JAN,JUL *', '30 4 * * SUN']) assert.ok(re.test(ok), ok);
  for (const bad of ['* * * *', 'every hour', '@often', '* * * * * *', '']) assert.ok(!re.test(bad), bad);
});
