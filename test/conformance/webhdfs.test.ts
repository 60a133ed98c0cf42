// The conformance suite against the HDFS MiniCluster. The namenode list starts with a dead
// address and a standby namenode (the fault proxy answering StandbyException), so every test also
// runs through HA failover. The denied backend is another user facing a 0700 root.
import { testEnv, uniqueName } from '../env/endpoints.ts';
import { createWebHdfsBackend } from '../../copier/backends/webhdfs/index.ts';
import { deadAddress, startFaultProxy, type FaultProxy } from './fault-proxy.ts';
import { runConformance } from './suite.ts';

const env = testEnv().webhdfs;
const root = `/${uniqueName('conf-hdfs')}`;
const at = (namenodes: string[], user = env.user) => createWebHdfsBackend({ namenodes, path: root, user }, 'destination');
let standby: FaultProxy | undefined;

runConformance(
  'webhdfs',
  async () => {
    standby = await startFaultProxy({ upstream: env.url, fault: { kind: 'standby' }, failFirst: Infinity });
    const backend = at([await deadAddress(), standby.url, env.url]);
    await backend.client.mkdirs(root, '700');
    return {
      backend,
      cleanup: async () => {
        await backend.client.delete(root, true);
        await standby?.close();
      },
      makeDirectory: (dir) => backend.client.mkdirs(`${root}/${dir}`),
    };
  },
  {
    partSize: 1024 * 1024,
    makeDeniedBackend: async () => ({ backend: at([env.url], 'mallory'), cleanup: async () => {} }),
    via: { upstream: env.url, makeBackendAt: async (url) => ({ backend: at([url]), cleanup: async () => {} }) },
  },
);
