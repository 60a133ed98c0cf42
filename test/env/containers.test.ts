// The optional container tier: the same servers started through testcontainers from images built
// locally (FROM scratch plus the provisioned static binaries; nothing can be pulled here). Opt-in
// with DATASYNC_CONTAINER_TIER=1, so the default tier never waits on a container engine; without
// an engine it is skipped with one line saying why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { Storage } from '@google-cloud/storage';
import { uniqueName } from './endpoints.ts';
import { readProvisioned } from './environment.ts';
import { ManagedProcess, waitReady } from './process.ts';

interface Engine { dockerHost: string; stop: () => Promise<void> }

function which(cmd: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

async function pingSocket(socket: string): Promise<boolean> {
  const http = await import('node:http');
  return new Promise((resolve) => {
    const req = http.request({ socketPath: socket, path: '/_ping', timeout: 2000 }, (res) => { res.resume(); resolve(res.statusCode === 200); });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.end();
  });
}

/** An engine to use, or the one-line reason there is none. */
async function findEngine(): Promise<Engine | string> {
  if (process.env['DATASYNC_CONTAINER_TIER'] !== '1') {
    const found = process.env['DOCKER_HOST'] ? `DOCKER_HOST=${process.env['DOCKER_HOST']}` : which('podman') ? 'podman is installed' : 'no container engine found';
    return `container tier is opt-in (DATASYNC_CONTAINER_TIER=1); ${found}`;
  }
  const host = process.env['DOCKER_HOST'];
  if (host) return { dockerHost: host, stop: async () => {} };
  if (existsSync('/var/run/docker.sock') && await pingSocket('/var/run/docker.sock')) return { dockerHost: 'unix:///var/run/docker.sock', stop: async () => {} };
  const podman = which('podman');
  if (!podman) return 'no container engine reachable: no DOCKER_HOST, no /var/run/docker.sock, no podman on PATH (apt-get install podman runc)';
  // podman's Docker-compatible API, set up as ../shared/ENVIRONMENT.md describes.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'datasync-podman-'));
  const conf = path.join(dir, 'containers.conf');
  writeFileSync(conf, '[containers]\ndefault_ulimits = []\n');
  process.env['CONTAINERS_CONF'] = conf;
  const socket = path.join(dir, 'podman.sock');
  const service = new ManagedProcess({
    name: 'podman-service', command: podman,
    args: ['--runtime', 'runc', '--cgroup-manager=cgroupfs', 'system', 'service', '-t', '0', `unix://${socket}`],
    env: { ...process.env, CONTAINERS_CONF: conf }, logFile: path.join(dir, 'podman.log'),
  });
  await waitReady(service, () => pingSocket(socket), 30_000);
  return { dockerHost: `unix://${socket}`, stop: async () => { await service.stop(); rmSync(dir, { recursive: true, force: true }); } };
}

const engine = await findEngine();
const skip = typeof engine === 'string' ? engine : false;

/** FROM scratch + one static binary from the provisioning cache; rebuilt only when the binary's version changes. */
async function imageFor(binary: string): Promise<string> {
  const { GenericContainer } = await import('testcontainers');
  const bin = readProvisioned().bin;
  const stampFile = path.join(bin, `.${binary}.stamp`);
  const version = existsSync(stampFile) ? readFileSync(stampFile, 'utf8').trim().toLowerCase().replace(/[^a-z0-9_.-]/g, '-').slice(0, 100) : 'dev';
  const tag = `localhost/datasync-test-${binary}:${version}`;
  const ctx = mkdtempSync(path.join(os.tmpdir(), 'datasync-image-'));
  try {
    mkdirSync(ctx, { recursive: true });
    copyFileSync(path.join(bin, binary), path.join(ctx, binary));
    writeFileSync(path.join(ctx, 'Dockerfile'), `FROM scratch\nCOPY ${binary} /${binary}\nENTRYPOINT ["/${binary}"]\n`);
    await GenericContainer.fromDockerfile(ctx).build(tag, { deleteOnExit: false });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
  return tag;
}

const LABEL = 'dev.datasync.test-tier';

function removeLeftovers(): void {
  const podman = which('podman');
  if (!podman) return;
  try {
    const ids = execFileSync(podman, ['ps', '-aq', '--filter', `label=${LABEL}`], { encoding: 'utf8', timeout: 20_000 }).trim();
    if (ids) execFileSync(podman, ['rm', '-f', ...ids.split('\n')], { stdio: 'ignore', timeout: 60_000 });
  } catch {
    // best effort
  }
}

test('container tier: MinIO and fake-gcs-server through testcontainers', { skip, timeout: 180_000 }, async (t) => {
  const e = engine as Engine;
  process.env['DOCKER_HOST'] = e.dockerHost;
  process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
  process.env['TESTCONTAINERS_HOST_OVERRIDE'] = '127.0.0.1';
  // Containers are stopped here, before the engine goes; conmon outlives an interrupted run, so
  // every container carries a label and leftovers of an earlier run are removed first.
  const started: Array<{ stop: () => Promise<unknown> }> = [];
  t.after(async () => {
    for (const c of started.reverse()) await c.stop().catch(() => {});
    await e.stop();
  });
  const { GenericContainer, Wait } = await import('testcontainers');
  removeLeftovers();

  const minio = await new GenericContainer(await imageFor('minio'))
    .withCommand(['server', '/data', '--address', ':9000'])
    .withEnvironment({ MINIO_ROOT_USER: 'datasync-test', MINIO_ROOT_PASSWORD: 'datasync-test-secret', MINIO_BROWSER: 'off' })
    .withExposedPorts(9000).withWaitStrategy(Wait.forHttp('/minio/health/ready', 9000)).withStartupTimeout(60_000)
    .withLabels({ [LABEL]: '1' })
    .start();
  started.push(minio);
  const s3 = new S3Client({
    endpoint: `http://${minio.getHost()}:${minio.getMappedPort(9000)}`, region: 'us-east-1', forcePathStyle: true,
    credentials: { accessKeyId: 'datasync-test', secretAccessKey: 'datasync-test-secret' },
  });
  const bucket = uniqueName('tier-s3');
  const body = randomBytes(64 * 1024);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/b.bin', Body: body }));
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'a/b.bin' }));
  assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), body);
  s3.destroy();

  const gcs = await new GenericContainer(await imageFor('fake-gcs-server'))
    .withCommand(['-scheme', 'http', '-port', '4443', '-backend', 'memory'])
    .withExposedPorts(4443).withWaitStrategy(Wait.forHttp('/storage/v1/b?project=test', 4443)).withStartupTimeout(60_000)
    .withLabels({ [LABEL]: '1' })
    .start();
  started.push(gcs);
  const storage = new Storage({ apiEndpoint: `http://${gcs.getHost()}:${gcs.getMappedPort(4443)}`, projectId: 'test' });
  const [b] = await storage.createBucket(uniqueName('tier-gcs'));
  await b.file('x.bin').save(body, { resumable: false });
  assert.deepEqual((await b.file('x.bin').download())[0], body);
});
