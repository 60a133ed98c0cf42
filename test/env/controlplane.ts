// The control plane, started the way controller-runtime's envtest does: openssl certificates, etcd,
// kube-apiserver (TLS, RBAC, service-account token signing) and kube-controller-manager with the
// controllers the operator relies on. There is no scheduler and no kubelet: the local pod runner
// (podrunner/) binds and runs pods.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ManagedProcess, freePort, waitReady } from './process.ts';
import { KubeClient } from './kube.ts';
import { serverEnv, type ProvisionedEnv } from './stores.ts';

export interface ControlPlane {
  processes: ManagedProcess[];
  server: string;
  apiPort: number;
  kubeconfig: string;
  /** Directory with ca.crt, admin.crt, admin.key. */
  pkiDir: string;
  caFile: string;
  admin: KubeClient;
}

export const CONTROLLERS = [
  'job-controller', 'garbage-collector-controller', 'namespace-controller', 'ttl-after-finished-controller',
  'serviceaccount-controller', 'serviceaccount-token-controller', 'root-ca-certificate-publisher-controller',
  // Deployments (the operator's Helm chart) need these two; they cost little.
  'deployment-controller', 'replicaset-controller',
];

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** CA, serving certificate, admin client certificate (system:masters) and the SA signing key. EC keys keep this under a second. */
export function makePki(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', '/CN=datasync-test-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'], dir);
  writeFileSync(path.join(dir, 'serving.ext'),
    'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n' +
    'extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
  writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
  const sign = (name: string, subj: string, ext: string): void => {
    openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj], dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '30',
      '-out', `${name}.crt`, '-extfile', ext], dir);
  };
  sign('serving', '/CN=kube-apiserver', 'serving.ext');
  sign('admin', '/O=system:masters/CN=datasync-admin', 'client.ext');
  sign('controller-manager', '/CN=system:kube-controller-manager', 'client.ext');
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', 'sa.key'], dir);
  openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
}

export function kubeconfigYaml(server: string, caFile: string, certFile: string, keyFile: string, user: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: datasync-local
  cluster:
    server: ${server}
    certificate-authority: ${caFile}
users:
- name: ${user}
  user:
    client-certificate: ${certFile}
    client-key: ${keyFile}
contexts:
- name: datasync-local
  context:
    cluster: datasync-local
    user: ${user}
    namespace: default
current-context: datasync-local
`;
}

export async function startControlPlane(env: ProvisionedEnv, runDir: string): Promise<ControlPlane> {
  const pki = path.join(runDir, 'pki');
  makePki(pki);
  const processes: ManagedProcess[] = [];
  const p = (f: string): string => path.join(pki, f);

  const etcdPort = await freePort();
  const etcdPeerPort = await freePort();
  const etcdData = path.join(runDir, 'etcd');
  const etcd = new ManagedProcess({
    name: 'etcd',
    command: path.join(env.bin, 'etcd'),
    args: ['--data-dir', etcdData, '--name', 'default',
      '--listen-client-urls', `http://127.0.0.1:${etcdPort}`, '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${etcdPeerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeerPort}`,
      '--initial-cluster', `default=http://127.0.0.1:${etcdPeerPort}`, '--unsafe-no-fsync', '--log-level', 'warn',
      '--quota-backend-bytes', String(2 * 1024 ** 3)],
    env: serverEnv(),
    logFile: path.join(runDir, 'logs/etcd.log'),
  });
  processes.push(etcd);
  try {
    await waitReady(etcd, async () => {
      const res = await fetch(`http://127.0.0.1:${etcdPort}/health`, { signal: AbortSignal.timeout(2000) });
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    }, 30_000);

    const apiPort = await freePort();
    const server = `https://127.0.0.1:${apiPort}`;
    const apiserver = new ManagedProcess({
      name: 'kube-apiserver',
      command: path.join(env.bin, 'kube-apiserver'),
      args: [
        `--etcd-servers=http://127.0.0.1:${etcdPort}`,
        `--secure-port=${apiPort}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1',
        `--tls-cert-file=${p('serving.crt')}`, `--tls-private-key-file=${p('serving.key')}`,
        `--client-ca-file=${p('ca.crt')}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${p('sa.pub')}`, `--service-account-signing-key-file=${p('sa.key')}`,
        '--service-cluster-ip-range=10.0.0.0/24', '--authorization-mode=RBAC', '--allow-privileged=true',
        `--cert-dir=${path.join(runDir, 'apiserver-certs')}`,
        '--runtime-config=api/all=true',
        '--profiling=false', '--v=1',
      ],
      env: serverEnv(),
      logFile: path.join(runDir, 'logs/kube-apiserver.log'),
    });
    processes.push(apiserver);
    const admin = KubeClient.fromFiles(server, p('ca.crt'), p('admin.crt'), p('admin.key'));
    await waitReady(apiserver, async () => {
      const res = await admin.raw('GET', '/readyz', { timeoutMs: 2000 });
      return res.status === 200;
    }, 90_000);

    const kubeconfig = path.join(runDir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(server, p('ca.crt'), p('admin.crt'), p('admin.key'), 'datasync-admin'));
    const kcmKubeconfig = path.join(runDir, 'controller-manager.kubeconfig');
    writeFileSync(kcmKubeconfig, kubeconfigYaml(server, p('ca.crt'), p('controller-manager.crt'), p('controller-manager.key'), 'system:kube-controller-manager'));

    const kcm = new ManagedProcess({
      name: 'kube-controller-manager',
      command: path.join(env.bin, 'kube-controller-manager'),
      args: [
        `--kubeconfig=${kcmKubeconfig}`, `--authentication-kubeconfig=${kcmKubeconfig}`, `--authorization-kubeconfig=${kcmKubeconfig}`,
        '--leader-elect=false', `--controllers=${CONTROLLERS.join(',')}`,
        `--service-account-private-key-file=${p('sa.key')}`, `--root-ca-file=${p('ca.crt')}`,
        // Each controller acts as its own service account with its bootstrap RBAC role, as in a real cluster.
        '--use-service-account-credentials=true',
        '--secure-port=0', '--bind-address=127.0.0.1',
        '--concurrent-job-syncs=5', '--concurrent-gc-syncs=10',
        '--v=1',
      ],
      env: serverEnv(),
      logFile: path.join(runDir, 'logs/kube-controller-manager.log'),
    });
    processes.push(kcm);
    // The serviceaccount controller creating `default` in `default` proves the manager runs; pods
    // are rejected by the ServiceAccount admission plugin until it exists.
    await waitReady(kcm, async () => {
      const sa = await admin.raw('GET', '/api/v1/namespaces/default/serviceaccounts/default', { timeoutMs: 2000 });
      const ca = await admin.raw('GET', '/api/v1/namespaces/default/configmaps/kube-root-ca.crt', { timeoutMs: 2000 });
      return sa.status === 200 && ca.status === 200;
    }, 90_000, 'serving (default ServiceAccount and kube-root-ca.crt ConfigMap)');

    return { processes, server, apiPort, kubeconfig, pkiDir: pki, caFile: p('ca.crt'), admin };
  } catch (err) {
    await Promise.all(processes.map((proc) => proc.stop()));
    throw err;
  }
}
