// The bench's servers come from the test environment's library (test/env/stores.ts): the same
// MinIO and HDFS MiniCluster the suites use, on free 127.0.0.1 ports, dying with the bench. This
// adapter reads the provisioned cache and adds what only the bench needs (the NameNode RPC address
// for DistCp, a persistent data directory for B4's real objects).
import { readFileSync, existsSync, readdirSync, rmSync, statfsSync } from 'node:fs';
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

/** Where memory-backed MinIO drives go, and the room one needs (bench/README.md: B2's buckets). */
const MEMORY_ROOT = '/dev/shm';
const MEMORY_DRIVE_PREFIX = 'datasync-bench-minio-';
export const MEMORY_DRIVE_MIN_BYTES = 6 * 2 ** 30;

/**
 * MinIO with its drive in memory (a tmpfs), for the small-object scenarios: on a disk, a 16 KiB PUT
 * is a directory and a file created in the filesystem's journal, and every client ran at the
 * disk's pace (bench/README.md has the figures). Where there is no tmpfs with room, the reason
 * instead. The drive is removed when the bench exits, and one left by a killed bench the next time.
 */
export async function startMemoryMinio(): Promise<{ server: S3Server; drive: string } | { server?: undefined; why: string }> {
  if (!existsSync(MEMORY_ROOT)) return { why: `${MEMORY_ROOT} does not exist` };
  for (const name of readdirSync(MEMORY_ROOT)) {
    const pid = Number(name.slice(MEMORY_DRIVE_PREFIX.length));
    if (name.startsWith(MEMORY_DRIVE_PREFIX) && !alive(pid)) rmSync(path.join(MEMORY_ROOT, name), { recursive: true, force: true });
  }
  const fs = statfsSync(MEMORY_ROOT);
  const free = fs.bavail * fs.bsize;
  if (free < MEMORY_DRIVE_MIN_BYTES) return { why: `${MEMORY_ROOT} has ${(free / 2 ** 30).toFixed(1)} GiB free, under the ${MEMORY_DRIVE_MIN_BYTES / 2 ** 30} GiB B2 needs` };
  const drive = path.join(MEMORY_ROOT, `${MEMORY_DRIVE_PREFIX}${process.pid}`);
  // At the bench's exit, after its servers have stopped (run.ts ends through process.exit).
  process.on('exit', () => rmSync(drive, { recursive: true, force: true }));
  return { server: await startMinio(drive), drive };
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try { process.kill(pid, 0); return true; } catch { return false; }
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
