// The storage servers: MinIO (S3), fake-gcs-server (GCS), the HDFS MiniCluster (WebHDFS) and Azurite.
// Each starts on free 127.0.0.1 ports with its own data directory under the run directory.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ManagedProcess, freePort, httpAnswers, waitReady } from './process.ts';
import type { TestEndpoints } from './endpoints.ts';

export interface ProvisionedEnv {
  bin: string;
  hadoopClasspath: string;
  k8sVersion: string;
  etcdVersion: string;
}

export interface Started<T> {
  processes: ManagedProcess[];
  endpoints: T;
}

const REPO = path.resolve(import.meta.dirname, '../..');

/** A child environment without CI (MinIO changes behaviour under CI=true) and without the
 * caller's cloud credentials, so nothing reaches a real account by accident. */
export function serverEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'TMPDIR', 'JAVA_HOME', 'USER']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, ...extra };
}

export async function startMinio(env: ProvisionedEnv, runDir: string): Promise<Started<TestEndpoints['s3']>> {
  const port = await freePort();
  const data = path.join(runDir, 'minio');
  mkdirSync(data, { recursive: true });
  const accessKeyId = 'datasync-test';
  const secretAccessKey = 'datasync-test-secret';
  const proc = new ManagedProcess({
    name: 'minio',
    command: path.join(env.bin, 'minio'),
    args: ['server', data, '--address', `127.0.0.1:${port}`, '--quiet'],
    // The scanner (usage accounting, lifecycle, healing) has nothing to do for a test server, yet at
    // its default speed it took 15-20% of a core, for minutes, once the bench's 200,000-object bucket
    // existed: load that landed on whichever tool was being timed.
    env: serverEnv({ MINIO_ROOT_USER: accessKeyId, MINIO_ROOT_PASSWORD: secretAccessKey, MINIO_BROWSER: 'off', MINIO_UPDATE: 'off', MINIO_SCANNER_SPEED: 'slowest' }),
    logFile: path.join(runDir, 'logs/minio.log'),
  });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitReady(proc, () => httpAnswers(`${endpoint}/minio/health/ready`, (s) => s === 200), 60_000);
  return { processes: [proc], endpoints: { endpoint, accessKeyId, secretAccessKey, region: 'us-east-1' } };
}

export async function startFakeGcs(env: ProvisionedEnv, runDir: string): Promise<Started<TestEndpoints['gcs']>> {
  const port = await freePort();
  const data = path.join(runDir, 'fake-gcs');
  mkdirSync(data, { recursive: true });
  const endpoint = `http://127.0.0.1:${port}`;
  const proc = new ManagedProcess({
    name: 'fake-gcs-server',
    command: path.join(env.bin, 'fake-gcs-server'),
    args: ['-scheme', 'http', '-host', '127.0.0.1', '-port', String(port), '-backend', 'filesystem',
      '-filesystem-root', data, '-external-url', endpoint, '-public-host', `127.0.0.1:${port}`, '-log-level', 'warn'],
    env: serverEnv(),
    logFile: path.join(runDir, 'logs/fake-gcs-server.log'),
  });
  await waitReady(proc, () => httpAnswers(`${endpoint}/storage/v1/b?project=test`, (s) => s === 200), 60_000);
  return { processes: [proc], endpoints: { endpoint, projectId: 'test' } };
}

export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export async function startAzurite(runDir: string): Promise<Started<TestEndpoints['azure']>> {
  const port = await freePort();
  const data = path.join(runDir, 'azurite');
  mkdirSync(data, { recursive: true });
  const proc = new ManagedProcess({
    name: 'azurite',
    command: path.join(REPO, 'node_modules/.bin/azurite-blob'),
    args: ['--blobHost', '127.0.0.1', '--blobPort', String(port), '--location', data, '--silent',
      '--skipApiVersionCheck', '--disableTelemetry', '--loose'],
    // azurite's launcher is `#!/usr/bin/env node`: the repo's node_modules/.bin first gives it Node 24.
    env: serverEnv({ PATH: `${path.join(REPO, 'node_modules/.bin')}:${process.env['PATH'] ?? ''}` }),
    logFile: path.join(runDir, 'logs/azurite.log'),
  });
  const endpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  // Any HTTP answer means the listener is up (an anonymous request gets an error status).
  await waitReady(proc, () => httpAnswers(`${endpoint}?comp=list`), 60_000);
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${endpoint};`;
  return { processes: [proc], endpoints: { connectionString, endpoint, accountName: AZURITE_ACCOUNT, accountKey: AZURITE_KEY } };
}

// Hadoop 3.4 on Java 17 reflects into these packages.
const JAVA_OPENS = ['java.lang', 'java.lang.reflect', 'java.util', 'java.util.concurrent', 'java.io', 'java.nio', 'sun.nio.ch', 'java.net', 'sun.security.action']
  .map((pkg) => `--add-opens=java.base/${pkg}=ALL-UNNAMED`);

export async function startHdfs(env: ProvisionedEnv, runDir: string): Promise<Started<TestEndpoints['webhdfs']>> {
  const nnPort = await freePort();
  const httpPort = await freePort();
  const data = path.join(runDir, 'hdfs');
  mkdirSync(data, { recursive: true });
  const classpath = readFileSync(env.hadoopClasspath, 'utf8').trim();
  const conf: Record<string, string> = {
    'hdfs.minidfs.basedir': data,
    'dfs.webhdfs.enabled': 'true',
    'dfs.permissions.enabled': 'true',
    // Datanodes register and are redirected to by their IP, which is 127.0.0.1 here.
    'dfs.datanode.hostname': '127.0.0.1',
    'dfs.datanode.use.datanode.hostname': 'false',
    'dfs.client.use.datanode.hostname': 'false',
    'dfs.replication': '1',
    // A WebHDFS CREATE closes its file through the datanode's DFSClient, whose first completeFile
    // retry sleeps 400 ms by default: that, not I/O, bounded small-file writes at ~2.5/s per stream.
    'dfs.client.block.write.locateFollowingBlock.initial.delay.ms': '20',
    'hadoop.security.authentication': 'simple',
    // Anyone may act as any user (`user.name=` on WebHDFS), as tests pick their own users.
    'dfs.webhdfs.user.provider.user.pattern': '^[A-Za-z_][A-Za-z0-9._-]*[$]?$',
  };
  const proc = new ManagedProcess({
    name: 'hdfs-minicluster',
    command: 'java',
    args: [...JAVA_OPENS, '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', classpath,
      'org.apache.hadoop.mapreduce.MiniHadoopClusterManager', '-nomr', '-format',
      '-nnport', String(nnPort), '-nnhttpport', String(httpPort),
      ...Object.entries(conf).flatMap(([k, v]) => ['-D', `${k}=${v}`])],
    env: serverEnv({ HADOOP_USER_NAME: 'hdfs' }),
    cwd: data,
    logFile: path.join(runDir, 'logs/hdfs-minicluster.log'),
    // The MiniCluster ignores SIGTERM while its main thread waits; its data is scratch anyway.
    graceSeconds: 1,
    stopGraceMs: 500,
  });
  const url = `http://127.0.0.1:${httpPort}`;
  // GETFILESTATUS answers as soon as the namenode serves HTTP; a CREATE also needs a live datanode,
  // which the namenode reports through its JMX bean.
  await waitReady(proc, async () => {
    if (!(await httpAnswers(`${url}/webhdfs/v1/?op=GETFILESTATUS&user.name=hdfs`, (s) => s === 200))) return false;
    const res = await fetch(`${url}/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { beans?: Array<{ NumLiveDataNodes?: number }> };
    return (body.beans?.[0]?.NumLiveDataNodes ?? 0) > 0;
  }, 120_000);
  return { processes: [proc], endpoints: { url, user: 'hdfs' } };
}
