// B5: HDFS to MinIO. DataSync reads over WebHDFS; Hadoop DistCp (local job runner, s3a) reads over
// HDFS RPC, its native and fastest path, with -direct (no rename on the object store) and 8 maps.
// pydistcp is reported as it stands: it does not install on this Python (see provision-peers.sh).
import { readFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mixedFiles } from '../lib/datasets.ts';
import { runTimed, failureNote } from '../lib/proc.ts';
import { startHdfs, stopAll, BIN, type HdfsServer } from '../lib/servers.ts';
import { freshBucket, dropBucket, countObjects } from '../lib/s3.ts';
import { alternate, type Contender } from '../lib/stats.ts';
import { datasync, writeManifest, s3Dest } from '../lib/tools.ts';
import { row, type Bench } from './common.ts';

const MiB = 2 ** 20;
const JAVA_OPENS = ['java.lang', 'java.lang.reflect', 'java.util', 'java.util.concurrent', 'java.io', 'java.nio', 'sun.nio.ch', 'java.net', 'sun.security.action']
  .map((p) => `--add-opens=java.base/${p}=ALL-UNNAMED`);

// FsShell runs its Configuration with quiet mode off, where a missing core-site.xml is fatal; a conf
// directory first on the classpath supplies one (and points the default filesystem at the cluster).
function confDir(h: HdfsServer, runDir: string): string {
  const dir = path.join(runDir, 'conf');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'core-site.xml'), `<?xml version="1.0"?>\n<configuration>\n  <property><name>fs.defaultFS</name><value>${h.fsUri}</value></property>\n</configuration>\n`);
  return dir;
}

function java(h: HdfsServer, conf: string, mainClass: string, args: string[], timeoutMs: number) {
  return runTimed('java', [...JAVA_OPENS, '-Xmx1g', '-cp', `${conf}:${h.classpath}`, mainClass, ...args], { env: { ...process.env, HADOOP_USER_NAME: h.user }, timeoutMs });
}

export const DISTCP_FLAGS = '-m 8 -direct -numListstatusThreads 8, mapreduce.local.map.tasks.maximum=8';

export async function b5(b: Bench): Promise<void> {
  const ds = mixedFiles(b.dataRoot, b.quick ? 500 : 2000);
  b.log(`B5 HDFS → MinIO: ${ds.label}, ${(ds.bytes / MiB).toFixed(0)} MiB`);
  const runDir = path.join(b.ctx.tmp, 'hdfs-run');
  mkdirSync(runDir, { recursive: true });
  const h = await startHdfs(runDir);
  try {
    const conf = confDir(h, runDir);
    const put = await java(h, conf, 'org.apache.hadoop.fs.FsShell', ['-put', '-t', '8', ds.dir, '/b5'], 600_000);
    if (put.exitCode !== 0) throw new Error(`loading HDFS failed: ${failureNote(put)}`);
    const s3 = b.ctx.s3;
    const cs: Contender<number>[] = [];
    const verify = async (bucket: string) => {
      const got = await countObjects(b.s3c, bucket);
      if (got.count !== ds.files || got.bytes !== ds.bytes) throw new Error(`copied ${got.count} objects / ${got.bytes} bytes, expected ${ds.files} / ${ds.bytes}`);
    };
    if (!b.datasyncBlocked) {
      cs.push({
        name: 'datasync', run: async () => {
          const bucket = await freshBucket(b.s3c, 'b5-datasync');
          try {
            const m = writeManifest(b.ctx, 'b5', { source: { webhdfs: { namenodes: [h.webhdfs], path: '/b5', user: h.user } }, destination: s3Dest(b.ctx, bucket), mode: 'Copy' });
            const r = (await datasync(b.ctx, 'run', m)).result;
            await verify(bucket);
            return ds.bytes / MiB / (r.wallMs / 1000);
          } finally { await dropBucket(b.s3c, bucket); }
        },
      });
    }
    cs.push({
      name: 'distcp', run: async () => {
        const bucket = await freshBucket(b.s3c, 'b5-distcp');
        try {
          const d = (k: string, v: string) => `-D${k}=${v}`;
          const r = await java(h, conf, 'org.apache.hadoop.tools.DistCp', [
            d('mapreduce.framework.name', 'local'), d('mapreduce.local.map.tasks.maximum', '8'), d('hadoop.tmp.dir', path.join(runDir, 'distcp-tmp')),
            d('fs.s3a.endpoint', s3.endpoint), d('fs.s3a.endpoint.region', s3.region), d('fs.s3a.path.style.access', 'true'),
            d('fs.s3a.connection.ssl.enabled', 'false'), d('fs.s3a.access.key', s3.accessKeyId), d('fs.s3a.secret.key', s3.secretAccessKey),
            d('fs.s3a.aws.credentials.provider', 'org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider'),
            '-m', '8', '-direct', '-numListstatusThreads', '8', `${h.fsUri}/b5`, `s3a://${bucket}/b5`,
          ], b.ctx.timeoutMs);
          if (r.exitCode !== 0) throw new Error(failureNote(r));
          await verify(bucket);
          return ds.bytes / MiB / (r.wallMs / 1000);
        } finally { await dropBucket(b.s3c, bucket); }
      },
    });
    const out = await alternate(cs, b.rounds, b.log, b.pace);
    const dsOut = out.get('datasync') ?? { samples: [], errors: [b.datasyncBlocked ?? 'not run'] };
    b.rows.push(row({
      scenario: 'B5 HDFS → MinIO', metric: 'throughput', unit: 'MiB/s', peer: 'Hadoop DistCp 3.4.2 (local runner, hdfs:// → s3a)',
      peerFlags: DISTCP_FLAGS, dataset: ds.label, target: '>= 1.5', ratioOf: 'higher',
    }, dsOut, out.get('distcp'), 'datasync reads over WebHDFS; DistCp over HDFS RPC; both include process start (DistCp: JVM)'));
  } finally {
    await stopAll(h.procs);
  }
  const stamp = path.join(BIN, '.pydistcp.stamp');
  const py = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : 'not provisioned';
  b.rows.push({
    scenario: 'B5 HDFS → MinIO', metric: 'throughput', unit: 'MiB/s', datasync: null, peer: 'pydistcp', peerValue: null, ratio: null,
    target: null, met: null, peerFlags: '—', dataset: ds.label, runs: { datasync: [], peer: [] },
    notes: py.startsWith('installed') ? 'pydistcp installed but no runner is wired' : `pydistcp does not install from PyPI: ${py.replace(/^failed:/, '')} (its dependency pywhdfs pins gssapi, whose C code predates Python 3.11)`,
  });
}
