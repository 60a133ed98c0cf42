// The local pod runner: the kubelet's stand-in for tests. It registers a Node, binds unbound pods to
// it (there is no scheduler), runs each pod's container as a local process and reports status the
// way a kubelet does, so the real Job controller sees real successes and failures.
import { readFileSync, rmSync, statSync, openSync, readSync, closeSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeError, type KubeClient } from '../kube.ts';
import { ManagedProcess } from '../process.ts';
import { podLogFile, podRoot } from './paths.ts';
import { ConfigNotReady, UnsupportedSpec, preparePod, type Pod, type PreparedContainer } from './spec.ts';

export interface RunnerOptions {
  kube: KubeClient;
  nodeName: string;
  hostRoot: string;
  apiPort: number;
  caFile: string;
  /** PATH for pod processes. */
  path: string;
  log?: (msg: string) => void;
}

interface ContainerRun {
  proc: ManagedProcess;
  startedAt: string;
}

interface PodState {
  key: string;
  uid: string;
  namespace: string;
  name: string;
  root: string;
  pod: Pod;
  prepared?: PreparedContainer;
  run?: ContainerRun;
  restartCount: number;
  startTime: string;
  /** Terminal: nothing more runs; the state is kept until the pod object is gone. */
  done: boolean;
  deleting: boolean;
  lastTerminated?: Record<string, unknown>;
  restartTimer?: NodeJS.Timeout;
}

const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

const MAX_TERMINATION_MESSAGE = 4096;

export class PodRunner {
  private readonly o: RunnerOptions;
  private readonly states = new Map<string, PodState>();
  private readonly notReadyUntil = new Map<string, number>();
  private syncing = false;
  private again = false;
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly log: (msg: string) => void;

  constructor(options: RunnerOptions) {
    this.o = options;
    this.log = options.log ?? ((msg) => process.stderr.write(`${new Date().toISOString()} podrunner: ${msg}\n`));
  }

  async registerNode(): Promise<void> {
    const { kube, nodeName } = this.o;
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: nodeName, labels: { 'kubernetes.io/hostname': nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'datasync.dev/local-pod-runner': 'true' } },
    };
    try {
      await kube.post('/api/v1/nodes', node);
    } catch (err) {
      if (!(err instanceof KubeError && err.status === 409)) throw err;
    }
    const capacity = { cpu: String(os.cpus().length), memory: `${Math.floor(os.totalmem() / 1024)}Ki`, pods: '110', 'ephemeral-storage': '100Gi' };
    const t = now();
    await kube.patch(`/api/v1/nodes/${nodeName}/status`, {
      status: {
        capacity,
        allocatable: capacity,
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: nodeName }],
        conditions: [
          { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'local pod runner is ready', lastHeartbeatTime: t, lastTransitionTime: t },
          { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: '', lastHeartbeatTime: t, lastTransitionTime: t },
          { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: '', lastHeartbeatTime: t, lastTransitionTime: t },
          { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: '', lastHeartbeatTime: t, lastTransitionTime: t },
        ],
        nodeInfo: {
          machineID: '', systemUUID: '', bootID: '', kernelVersion: os.release(), osImage: 'local pod runner', containerRuntimeVersion: 'local://0',
          kubeletVersion: 'v0.0.0-datasync-local', kubeProxyVersion: '', operatingSystem: 'linux', architecture: 'amd64',
        },
      },
    });
  }

  /** Run until stop(): a watch wakes the sync loop at once, a one-second resync catches anything missed. */
  async run(): Promise<void> {
    const watchLoop = async (): Promise<void> => {
      while (!this.stopped) {
        await this.o.kube.watch('/api/v1/pods', () => this.kick(), this.abort.signal);
        if (!this.stopped) await sleep(200);
      }
    };
    void watchLoop();
    while (!this.stopped) {
      this.kick();
      await sleep(1000, undefined, { ref: true }).catch(() => {});
    }
  }

  kick(): void {
    if (this.stopped) return;
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = true;
    void (async () => {
      try {
        do {
          this.again = false;
          await this.sync();
        } while (this.again && !this.stopped);
      } catch (err) {
        this.log(`sync failed: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        this.syncing = false;
      }
    })();
  }

  private async sync(): Promise<void> {
    const list = await this.o.kube.get<{ items: Pod[] }>('/api/v1/pods');
    const seen = new Set<string>();
    for (const pod of list.items) {
      seen.add(pod.metadata.uid);
      try {
        await this.syncPod(pod);
      } catch (err) {
        this.log(`${pod.metadata.namespace}/${pod.metadata.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    // Pods removed without us (force deletion): their processes go at once.
    for (const [uid, state] of this.states) {
      if (seen.has(uid)) continue;
      this.states.delete(uid);
      if (state.restartTimer) clearTimeout(state.restartTimer);
      if (state.run?.proc.running) void state.run.proc.stop(1000);
      rmSync(state.root, { recursive: true, force: true });
    }
  }

  private async syncPod(pod: Pod): Promise<void> {
    const { kube, nodeName } = this.o;
    const { namespace, name, uid } = pod.metadata;
    const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
    if (!pod.spec.nodeName) {
      if (pod.metadata.deletionTimestamp) return;
      try {
        await kube.post(`${base}/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name, uid }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } });
      } catch (err) {
        if (!(err instanceof KubeError && (err.status === 409 || err.status === 404))) throw err;
      }
      return;
    }
    if (pod.spec.nodeName !== nodeName) return;

    let state = this.states.get(uid);
    if (pod.metadata.deletionTimestamp) {
      if (state) state.pod = pod;
      await this.handleDeletion(pod, state, base);
      return;
    }
    if (state) {
      state.pod = pod;
      return;
    }
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const retryAt = this.notReadyUntil.get(uid);
    if (retryAt !== undefined && Date.now() < retryAt) return;

    state = {
      key: `${namespace}/${name}`, uid, namespace, name, pod,
      root: podRoot(this.o.hostRoot, namespace, name, uid),
      restartCount: 0, startTime: pod.status?.startTime ?? now(), done: false, deleting: false,
    };
    this.states.set(uid, state);
    try {
      state.prepared = await preparePod({ kube, hostRoot: this.o.hostRoot, root: state.root, nodeName, apiPort: this.o.apiPort, caFile: this.o.caFile, path: this.o.path }, pod);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (err instanceof UnsupportedSpec) {
        this.log(`${state.key}: failing: ${message}`);
        state.done = true;
        await this.patchStatus(state, 'Failed', { waiting: { reason: 'Unsupported', message } }, false, { reason: 'Unsupported', message });
        return;
      }
      if (err instanceof ConfigNotReady) {
        // As a kubelet: CreateContainerConfigError, retried until the object appears.
        this.states.delete(uid);
        this.notReadyUntil.set(uid, Date.now() + 1000);
        await this.patchStatus(state, 'Pending', { waiting: { reason: 'CreateContainerConfigError', message } }, false);
        return;
      }
      this.states.delete(uid);
      this.notReadyUntil.set(uid, Date.now() + 2000);
      throw err;
    }
    this.notReadyUntil.delete(uid);
    await this.startContainer(state);
  }

  private async startContainer(state: PodState): Promise<void> {
    const prepared = state.prepared!;
    // A restarted container starts with an empty termination message, as under a kubelet.
    writeFileSync(prepared.terminationMessageFile, '');
    const logFile = podLogFile(this.o.hostRoot, state.namespace, state.name, state.uid);
    const [command, ...args] = prepared.argv;
    const proc = new ManagedProcess({
      name: `pod ${state.key}`, command: command!, args, env: prepared.env, cwd: prepared.cwd, logFile, graceSeconds: 2,
    });
    const run: ContainerRun = { proc, startedAt: now() };
    state.run = run;
    this.log(`${state.key}: started pid ${proc.pid}: ${prepared.argv.join(' ')}`);
    void proc.exited.then(() => this.onExit(state, run));
    try {
      await this.o.kube.patch(`/api/v1/namespaces/${encodeURIComponent(state.namespace)}/pods/${encodeURIComponent(state.name)}`, {
        metadata: { annotations: { 'datasync.dev/local-log': logFile, 'datasync.dev/local-root': state.root } },
      });
    } catch {
      // informative only
    }
    await this.patchStatus(state, 'Running', { running: { startedAt: run.startedAt } }, true);
  }

  private exitCodeOf(proc: ManagedProcess): number {
    if (proc.exitCode !== null) return proc.exitCode;
    const signo = proc.signal ? os.constants.signals[proc.signal] : 9;
    return 128 + (signo ?? 9);
  }

  private terminationMessage(prepared: PreparedContainer, exitCode: number, logFile: string): string {
    let message = '';
    try {
      message = readFileSync(prepared.terminationMessageFile, 'utf8').slice(0, MAX_TERMINATION_MESSAGE);
    } catch {
      // no message written
    }
    if (!message && exitCode !== 0 && prepared.fallbackToLogs) message = tailBytes(logFile, 2048).split('\n').slice(-80).join('\n');
    return message;
  }

  private async onExit(state: PodState, run: ContainerRun): Promise<void> {
    if (state.run !== run) return;
    const exitCode = this.exitCodeOf(run.proc);
    const logFile = run.proc.logFile;
    const message = this.terminationMessage(state.prepared!, exitCode, logFile);
    const terminated: Record<string, unknown> = {
      exitCode,
      reason: exitCode === 0 ? 'Completed' : 'Error',
      startedAt: run.startedAt,
      finishedAt: now(),
      containerID: `local://${run.proc.pid}`,
      ...(run.proc.signal ? { signal: os.constants.signals[run.proc.signal] } : {}),
      ...(message ? { message } : {}),
    };
    this.log(`${state.key}: exited with ${exitCode}`);
    const policy = state.pod.spec.restartPolicy ?? 'Always';
    const restart = !state.deleting && !this.stopped && (policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0));
    try {
      if (restart) {
        state.lastTerminated = terminated;
        const backoff = Math.min(10_000, 1000 * 2 ** state.restartCount);
        state.restartCount++;
        await this.patchStatus(state, 'Running', { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${backoff / 1000}s restarting failed container` } }, false);
        state.restartTimer = setTimeout(() => {
          state.restartTimer = undefined as unknown as NodeJS.Timeout;
          if (!state.deleting && !this.stopped) void this.startContainer(state).catch((err: unknown) => this.log(`${state.key}: restart failed: ${String(err)}`));
        }, backoff);
        return;
      }
      state.done = true;
      const phase = exitCode === 0 && !state.deleting ? 'Succeeded' : 'Failed';
      await this.patchStatus(state, phase, { terminated }, false);
    } catch (err) {
      this.log(`${state.key}: status after exit failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.kick();
    }
  }

  private async handleDeletion(pod: Pod, state: PodState | undefined, base: string): Promise<void> {
    if (state?.deleting) return;
    const forget = async (): Promise<void> => {
      try {
        await this.o.kube.delete(base, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
      } catch (err) {
        if (!(err instanceof KubeError && (err.status === 404 || err.status === 409))) throw err;
      }
    };
    if (!state?.run || !state.run.proc.running) {
      if (state?.restartTimer) clearTimeout(state.restartTimer);
      if (state) state.deleting = true;
      await forget();
      return;
    }
    state.deleting = true;
    if (state.restartTimer) clearTimeout(state.restartTimer);
    const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    const proc = state.run.proc;
    this.log(`${state.key}: deleting: SIGTERM, SIGKILL after ${grace}s`);
    proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), grace * 1000);
    void proc.exited.then(async () => {
      clearTimeout(killer);
      // onExit reports the terminated status first; then the object goes, as after a kubelet.
      for (let i = 0; i < 100 && !state.done; i++) await sleep(20);
      await forget().catch((err: unknown) => this.log(`${state.key}: final delete failed: ${String(err)}`));
    });
  }

  private async patchStatus(state: PodState, phase: string, containerState: Record<string, unknown>, ready: boolean, podReason?: { reason: string; message: string }): Promise<void> {
    const t = now();
    const c = state.pod.spec.containers[0];
    const cond = (type: string, status: boolean, reason?: string): Record<string, unknown> => ({
      type, status: status ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: t, ...(reason && !status ? { reason } : {}),
    });
    const running = 'running' in containerState;
    const terminated = 'terminated' in containerState;
    const status: Record<string, unknown> = {
      phase,
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: '127.0.0.1',
      podIPs: [{ ip: '127.0.0.1' }],
      startTime: state.startTime,
      conditions: [
        cond('PodReadyToStartContainers', true),
        cond('Initialized', true),
        cond('Ready', ready, terminated ? 'PodCompleted' : 'ContainersNotReady'),
        cond('ContainersReady', ready, terminated ? 'PodCompleted' : 'ContainersNotReady'),
        cond('PodScheduled', true),
      ],
      containerStatuses: c ? [{
        name: c.name,
        image: c.image,
        imageID: `local://${c.image}`,
        ...(state.run ? { containerID: `local://${state.run.proc.pid}` } : {}),
        ready,
        started: running,
        restartCount: state.restartCount,
        state: containerState,
        lastState: state.lastTerminated ? { terminated: state.lastTerminated } : {},
      }] : [],
      ...(podReason ? podReason : {}),
    };
    try {
      await this.o.kube.patch(`/api/v1/namespaces/${encodeURIComponent(state.namespace)}/pods/${encodeURIComponent(state.name)}/status`, { status });
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) return;
      throw err;
    }
  }

  /** Stop every pod process (SIGTERM, then SIGKILL) and the loops. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await Promise.all([...this.states.values()].map(async (s) => {
      if (s.restartTimer) clearTimeout(s.restartTimer);
      if (s.run?.proc.running) await s.run.proc.stop(2000);
    }));
  }
}

function tailBytes(file: string, n: number): string {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, 'r');
    try {
      const len = Math.min(n, size);
      const buf = Buffer.alloc(len);
      readSync(fd, buf, 0, len, size - len);
      return buf.toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}
