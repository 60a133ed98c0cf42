// Each way the azureBlob backend finds credentials in a mounted Secret (connectionString,
// accountName+accountKey, sasToken) reaches Azurite and can write, list and read.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { AccountSASPermissions, AccountSASResourceTypes, AccountSASServices, BlobServiceClient, StorageSharedKeyCredential, generateAccountSASQueryParameters } from '@azure/storage-blob';
import { testEnv, uniqueName } from '../env/endpoints.ts';
import { createAzureBlobBackend } from '../../copier/backends/azureblob/index.ts';
import { readAll } from './suite.ts';

const env = testEnv().azure;
const container = uniqueName('conf-az-cred');
const admin = BlobServiceClient.fromConnectionString(env.connectionString).getContainerClient(container);
const roots: string[] = [];

function mountSecret(keys: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'datasync-secrets-'));
  roots.push(root);
  mkdirSync(path.join(root, 'destination'));
  for (const [k, v] of Object.entries(keys)) writeFileSync(path.join(root, 'destination', k), `${v}\n`);
  return root;
}

before(async () => void (await admin.create()));
after(async () => {
  await admin.deleteIfExists();
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const sas = () =>
  generateAccountSASQueryParameters(
    {
      expiresOn: new Date(Date.now() + 3600_000),
      permissions: AccountSASPermissions.parse('rwdlc'),
      resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
      services: AccountSASServices.parse('b').toString(),
    },
    new StorageSharedKeyCredential(env.accountName, env.accountKey),
  ).toString();

for (const [name, keys] of [
  ['connectionString', () => ({ connectionString: env.connectionString })],
  ['accountName + accountKey', () => ({ accountName: env.accountName, accountKey: env.accountKey })],
  ['sasToken', () => ({ sasToken: sas() })],
] as const) {
  test(`credentials from the Secret key(s) ${name}`, async () => {
    const secretsRoot = mountSecret(keys());
    const b = createAzureBlobBackend({ container, prefix: name.replace(/\W+/g, '-'), endpoint: env.endpoint }, 'destination', { secretsRoot, env: {} });
    try {
      await b.write('f.txt', Readable.from([Buffer.from(name)]));
      assert.equal((await readAll(await b.read('f.txt'))).toString(), name);
      const listed: string[] = [];
      for await (const e of b.list()) listed.push(e.path);
      assert.deepEqual(listed, ['f.txt']);
      assert.ok(!b.location.includes('sig='), 'the location never shows a SAS');
    } finally {
      await b.close();
    }
  });
}

test('no credentials at all is a configuration error naming the Secret keys', () => {
  assert.throws(
    () => createAzureBlobBackend({ container, endpoint: env.endpoint }, 'destination', { secretsRoot: mountSecret({}), env: {} }),
    (err: unknown) => (err as { code?: string }).code === 'InvalidConfig' && /connectionString/.test((err as Error).message),
  );
});
