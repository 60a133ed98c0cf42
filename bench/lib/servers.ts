// The bench's servers come from the test environment's library (test/env/stores.ts): the same
// MinIO and HDFS MiniCluster the suites use, on free 127.0.0.1 ports, dying with the bench. This
// adapter reads the provisioned cache and adds what only the bench needs (the NameNode RPC address
// for DistCp, a persistent data directory for B4's real objects).
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { startMinio as envMinio, startHdfs as envHdfs, type ProvisionedEnv } from '../../test/env/stores.ts';
import type { ManagedProcess } from '../../test/env/process.ts';

export const CACHE_ROOT = path.join(process.env['DATASYNC_CACHE'] ?? path.join(process.env['XDG_CACHE_HOME'] ?? path.join(os.homedir(), '.cache'), 'datasync-env'), 'v1');
export const BIN = path.join(CACHE_ROOT, 'bin');

export function provisioned(): ProvisionedEnv {
  const file = path.join(CACHE_ROOT, 'env.json');
  if (!existsSync(file)) throw new Error(`no provisioned environment at ${file}: run 'npm run provision -- minio hadoop'`);
  return JSON.parse(readFileSync(file, 'utf8')) as ProvisionedEnv;
}

export interface S3Server {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  procs: ManagedProcess[];
}

/** MinIO with its data under runDir/minio (a persistent runDir keeps B4's 200,000 objects). */
export async function startMinio(runDir: string): Promise<S3Server> {
  const s = await envMinio(provisioned(), runDir);
  return { ...s.endpoints, procs: s.processes };
}

export interface HdfsServer {
  /** WebHDFS base, e.g. http://127.0.0.1:9870 */
  webhdfs: string;
  /** hdfs://127.0.0.1:P, DistCp's native (and fastest) way in. */
  fsUri: string;
  user: string;
  classpath: string;
  procs: ManagedProcess[];
}

export async function startHdfs(runDir: string): Promise<HdfsServer> {
  const env = provisioned();
  const s = await envHdfs(env, runDir);
  // The library exposes WebHDFS only; the RPC port is in the NameNode's status bean.
  const res = await fetch(`${s.endpoints.url}/jmx?qry=Hadoop:service=NameNode,name=NameNodeStatus`);
  const bean = ((await res.json()) as { beans?: Array<{ HostAndPort?: string }> }).beans?.[0];
  const port = bean?.HostAndPort?.split(':').pop();
  if (!port) throw new Error('hdfs: NameNode RPC port not found in JMX NameNodeStatus');
  return {
    webhdfs: s.endpoints.url, fsUri: `hdfs://127.0.0.1:${port}`, user: s.endpoints.user,
    classpath: readFileSync(env.hadoopClasspath, 'utf8').trim(), procs: s.processes,
  };
}

export async function stopAll(procs: ManagedProcess[]): Promise<void> {
  await Promise.all(procs.map((p) => p.stop()));
}
