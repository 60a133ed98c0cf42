// The image, built with podman from the repository's Dockerfile, runs `--help` of both entry points
// as a non-root user. No base image can be pulled on the test machines, so the test first makes a
// local Node 24 base image (the repository's Node 24 binary, the host's glibc, dash, a few coreutils
// and npm, imported with `podman import`) and passes it as NODE_IMAGE. Opt-in like the container
// tier (two `npm ci` runs take minutes): DATASYNC_CONTAINER_TIER=1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from './helpers.ts';

const BASE = 'localhost/datasync-test-node:24';
const IMAGE = 'localhost/datasync:test';

function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function skipReason(): string | undefined {
  if (!process.env['DATASYNC_CONTAINER_TIER']) return 'image build is opt-in (DATASYNC_CONTAINER_TIER=1): two npm ci runs inside podman take minutes';
  if (!which('podman')) return 'no container engine: podman is not installed (apt-get install podman runc)';
  return undefined;
}

let confDir: string | undefined;
function podman(args: string[], opts: { input?: Buffer; timeout?: number } = {}): string {
  if (!confDir) {
    // As ../shared/ENVIRONMENT.md describes: runc, cgroupfs, no default ulimits.
    confDir = mkdtempSync(path.join(tmpdir(), 'datasync-podman-img-'));
    writeFileSync(path.join(confDir, 'containers.conf'), '[containers]\ndefault_ulimits = []\n');
  }
  return execFileSync('podman', ['--runtime', 'runc', '--cgroup-manager=cgroupfs', ...args], {
    encoding: 'utf8', maxBuffer: 64 << 20, timeout: opts.timeout ?? 600_000, stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, CONTAINERS_CONF: path.join(confDir, 'containers.conf') }, ...(opts.input ? { input: opts.input } : {}),
  });
}

/** Shared libraries of the given binaries, as ldd resolves them on this host. */
function libs(binaries: string[]): string[] {
  const out = new Set<string>();
  for (const b of binaries) {
    for (const m of execFileSync('ldd', [b], { encoding: 'utf8' }).matchAll(/(\/[^\s]+\.so[^\s]*)/g)) out.add(m[1]!);
  }
  return [...out];
}

/** A Debian-like Node 24 base image from host files: what the Dockerfile's stages use (sh, ln, npm, node). */
function makeBaseImage(): void {
  const rootfs = mkdtempSync(path.join(tmpdir(), 'datasync-rootfs-'));
  try {
    const node = realpathSync(path.join(ROOT, 'node_modules/.bin/node'));
    const tools = ['sh', 'dash', 'env', 'ln', 'mkdir', 'rm', 'cp', 'cat', 'ls', 'id', 'chmod'].map((t) => realpathSync(which(t)!));
    for (const dir of ['usr/bin', 'usr/local/bin', 'usr/local/lib/node_modules', 'usr/lib', 'etc/ssl/certs', 'tmp', 'root', 'home/node']) mkdirSync(path.join(rootfs, dir), { recursive: true });
    chmodSync(path.join(rootfs, 'tmp'), 0o1777);
    symlinkSync('usr/bin', path.join(rootfs, 'bin'));
    symlinkSync('usr/lib', path.join(rootfs, 'lib'));
    copyFileSync(node, path.join(rootfs, 'usr/local/bin/node'));
    for (const t of tools) copyFileSync(t, path.join(rootfs, 'usr/bin', path.basename(t)));
    copyFileSync(realpathSync(which('dash')!), path.join(rootfs, 'usr/bin/sh'));
    for (const lib of libs([node, ...tools])) {
      const real = realpathSync(lib);
      const target = path.join(rootfs, lib.startsWith('/lib/') ? `usr${lib}` : lib);
      mkdirSync(path.dirname(target), { recursive: true });
      copyFileSync(real, target);
    }
    cpSync('/usr/lib/node_modules/npm', path.join(rootfs, 'usr/local/lib/node_modules/npm'), { recursive: true });
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', path.join(rootfs, 'usr/local/bin/npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', path.join(rootfs, 'usr/local/bin/npx'));
    copyFileSync('/etc/ssl/certs/ca-certificates.crt', path.join(rootfs, 'etc/ssl/certs/ca-certificates.crt'));
    writeFileSync(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n');
    writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\nnode:x:1000:\n');
    writeFileSync(path.join(rootfs, 'etc/hosts'), '127.0.0.1 localhost\n');
    const tar = execFileSync('tar', ['-C', rootfs, '-c', '.'], { maxBuffer: 1 << 30 });
    podman(['import', '--change', 'ENV PATH=/usr/local/bin:/usr/bin:/bin', '--change', 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt', '-', BASE], { input: tar });
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}

test('the image builds from the Dockerfile and both entry points answer --help as a non-root user', { skip: skipReason(), timeout: 900_000 }, (t) => {
  const t0 = Date.now();
  makeBaseImage();
  const npmCache = path.join(homedir(), '.npm');
  podman(['build', '--network', 'host', '--build-arg', `NODE_IMAGE=${BASE}`,
    ...(existsSync(npmCache) ? ['--volume', `${npmCache}:/root/.npm`] : []),
    '-t', IMAGE, '-f', path.join(ROOT, 'Dockerfile'), ROOT], { timeout: 900_000 });
  t.diagnostic(`built in ${Date.now() - t0} ms`);
  const inspect = JSON.parse(podman(['image', 'inspect', IMAGE]))[0] as { Config: { User: string; Entrypoint: string[]; Cmd: string[] } };
  assert.equal(inspect.Config.User, '1000:1000');
  assert.deepEqual(inspect.Config.Entrypoint, ['datasync']);
  const copier = podman(['run', '--rm', '--read-only', '--cap-drop', 'ALL', IMAGE]);
  assert.match(copier, /datasync run -f/);
  const operator = podman(['run', '--rm', '--read-only', '--cap-drop', 'ALL', '--entrypoint', 'datasync-operator', IMAGE, '--help']);
  assert.match(operator, /--namespaces LIST/);
  assert.equal(podman(['run', '--rm', '--entrypoint', 'id', IMAGE, '-u']).trim(), '1000');
  // Production dependencies only, compiled JS only.
  const listing = podman(['run', '--rm', '--entrypoint', 'ls', IMAGE, '/app', '/app/node_modules']);
  assert.ok(!/\btypescript\b|\btestcontainers\b|\bazurite\b/.test(listing), listing);
  assert.ok(!listing.split('\n').includes('operator'), 'no TypeScript sources in /app');
});
