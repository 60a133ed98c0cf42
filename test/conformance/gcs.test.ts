// The conformance suite against fake-gcs-server. fake-gcs enforces no credentials, so the
// permission test skips; throttling and unreachable tests go through the fault proxy.
import { Storage } from '@google-cloud/storage';
import { testEnv, uniqueName } from '../env/endpoints.ts';
import { createGcsBackend } from '../../copier/backends/gcs/index.ts';
import { runConformance } from './suite.ts';

const env = testEnv().gcs;
const bucket = uniqueName('conf-gcs');
const admin = new Storage({ apiEndpoint: env.endpoint, projectId: env.projectId, useAuthWithCustomEndpoint: false });
const at = (endpoint: string, maxRetries = 3) =>
  createGcsBackend({ bucket, prefix: 'root/', endpoint, projectId: env.projectId }, 'destination', { maxRetries, resumableThreshold: 4 * 1024 * 1024 });

runConformance(
  'gcs',
  async () => {
    await admin.createBucket(bucket);
    return {
      backend: at(env.endpoint),
      cleanup: () => admin.bucket(bucket).deleteFiles({ force: true }).then(() => admin.bucket(bucket).delete()).then(() => undefined),
      makeDirectory: async (dir) => void (await admin.bucket(bucket).file(`root/${dir}/`).save('', { resumable: false, validation: false })),
    };
  },
  {
    partSize: 1024 * 1024,
    storageClass: 'NEARLINE',
    via: { upstream: env.endpoint, makeBackendAt: async (url) => ({ backend: at(url, 0), cleanup: async () => {} }) },
  },
);
