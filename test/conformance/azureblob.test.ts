// The conformance suite against Azurite. The denied backend reads a wrong accountKey from a
// mounted-Secret directory, which also exercises the Secret-file credential path.
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { testEnv, uniqueName } from '../env/endpoints.ts';
import { createAzureBlobBackend } from '../../copier/backends/azureblob/index.ts';
import { runConformance } from './suite.ts';

const env = testEnv().azure;
const container = uniqueName('conf-az');
const admin = BlobServiceClient.fromConnectionString(env.connectionString).getContainerClient(container);
const withConnectionString = (cs: string, maxRetries = 3) =>
  createAzureBlobBackend({ container, prefix: 'root/' }, 'destination', { maxRetries, blockSize: 4 * 1024 * 1024, env: { AZURE_STORAGE_CONNECTION_STRING: cs } });
const wrongKey = randomBytes(64).toString('base64');
const origin = new URL(env.endpoint).origin;

runConformance(
  'azureBlob',
  async () => {
    await admin.create();
    return {
      backend: withConnectionString(env.connectionString),
      cleanup: async () => void (await admin.delete()),
      makeDirectory: async (dir) => {
        await admin.getBlockBlobClient(`root/${dir}/`).upload('', 0);
        await admin.getBlockBlobClient(`root/${dir}`).upload('', 0, { metadata: { hdi_isfolder: 'true' } });
      },
    };
  },
  {
    partSize: 1024 * 1024,
    storageClass: 'Cool',
    secrets: [wrongKey],
    makeDeniedBackend: async () => {
      const root = mkdtempSync(path.join(os.tmpdir(), 'datasync-secrets-'));
      mkdirSync(path.join(root, 'destination'));
      writeFileSync(path.join(root, 'destination', 'accountName'), env.accountName);
      writeFileSync(path.join(root, 'destination', 'accountKey'), wrongKey);
      const backend = createAzureBlobBackend({ container, endpoint: env.endpoint }, 'destination', { maxRetries: 0, secretsRoot: root, env: {} });
      return { backend, cleanup: async () => rmSync(root, { recursive: true, force: true }) };
    },
    via: {
      upstream: origin,
      makeBackendAt: async (url) => ({
        backend: withConnectionString(env.connectionString.replace(origin, url), 0),
        cleanup: async () => {},
      }),
    },
  },
);
