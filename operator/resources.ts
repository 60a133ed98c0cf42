// Builders for the objects a run owns: the run-config ConfigMap and the plan, copy and commit Jobs.
// Pure functions of the DataSync and the run, so the pod hardening and mounts are unit-tested.
import type { V1ConfigMap, V1Job, V1PodSpec, V1Volume, V1VolumeMount, V1OwnerReference, V1EnvVar } from '@kubernetes/client-node';
import type { DataSync, DataSyncSpec, Endpoint } from '../api/types.ts';
import { GROUP, VERSION, KIND } from '../api/types.ts';
import type { RunMeta } from './policy/trigger.ts';
import type { PlanResult } from './policy/run-state.ts';
import {
  ANNOTATION_PLAN, ANNOTATION_RUN_META, COPIER_SERVICE_ACCOUNT, LABEL_MANAGED_BY, LABEL_NAME, LABEL_RUN, LABEL_STEP,
  MANAGED_BY, dataSyncLabelValue, runObjectName, type Step,
} from './names.ts';
import { EXIT_CONFIG_ERROR } from './policy/run-state.ts';

export const RUN_CONFIG_DIR = '/etc/datasync';
export const RUN_CONFIG_FILE = `${RUN_CONFIG_DIR}/run.json`;
export const SECRETS_ROOT = '/var/run/datasync/secrets';
export const CONTAINER_NAME = 'copier';
export const COPIER_UID = 1000;

export interface CopierDefaults {
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** Used when spec.copier.resources is not set (the chart's copier.resources). */
  resources?: NonNullable<DataSyncSpec['copier']>['resources'];
}

/**
 * The copier defaults the operator was started with: `--copier-image`, else $DATASYNC_COPIER_IMAGE,
 * else the released image; resources from $DATASYNC_COPIER_RESOURCES (JSON), as the chart passes them.
 * Exported so tests that run the Controller in-process build it exactly as main.ts does.
 */
export function copierDefaults(imageFlag: string | undefined, env: NodeJS.ProcessEnv = process.env): CopierDefaults {
  const image = imageFlag ?? env['DATASYNC_COPIER_IMAGE'] ?? 'ghcr.io/datasync-dev/datasync:0.1.0';
  const resourcesJson = env['DATASYNC_COPIER_RESOURCES'];
  if (!resourcesJson) return { image };
  try {
    return { image, resources: JSON.parse(resourcesJson) as NonNullable<CopierDefaults['resources']> };
  } catch (err) {
    throw new Error(`DATASYNC_COPIER_RESOURCES is not valid JSON: ${(err as Error).message}`);
  }
}

export function ownerReference(ds: DataSync): V1OwnerReference {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: KIND, name: ds.metadata.name, uid: String(ds.metadata.uid), controller: true, blockOwnerDeletion: true };
}

export function runLabels(ds: DataSync, runId: string, step?: Step): Record<string, string> {
  return {
    [LABEL_NAME]: dataSyncLabelValue(ds.metadata.name),
    [LABEL_RUN]: runId,
    [LABEL_MANAGED_BY]: MANAGED_BY,
    ...(step ? { [LABEL_STEP]: step } : {}),
  };
}

/**
 * The time a run plans as (`asOf`: filters.minAge and partitions.lookback are measured from it): a
 * scheduled run plans as of its slot, so one that starts late (a busy cluster, an operator restart,
 * Forbid waiting for the previous run) selects what it would have selected on time; every other
 * run plans as of its start by the operator's clock, not the copier pod's.
 */
export function runAsOf(run: RunMeta): string {
  return run.trigger === 'Schedule' && run.scheduledTime ? run.scheduledTime : run.startTime;
}

/** The run config every worker reads (docs/design.md "Run config"); the spec is frozen at run start. */
export function runConfigMap(ds: DataSync, run: RunMeta): V1ConfigMap {
  const config = { runId: run.id, trigger: run.trigger, namespace: ds.metadata.namespace, name: ds.metadata.name, spec: ds.spec, asOf: runAsOf(run) };
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: runObjectName(ds.metadata.name, run.id), namespace: String(ds.metadata.namespace), labels: runLabels(ds, run.id), ownerReferences: [ownerReference(ds)] },
    data: { 'run.json': JSON.stringify(config, null, 2) },
  };
}

/** Secrets an endpoint needs, as projected-volume sources (the operator never reads them). */
function endpointSecrets(ep: Endpoint | undefined): string[] {
  if (!ep) return [];
  const names = [
    ep.s3?.credentialsSecretRef?.name, ep.gcs?.credentialsSecretRef?.name, ep.azureBlob?.credentialsSecretRef?.name,
    ep.webhdfs?.delegationTokenSecretRef?.name, ep.webhdfs?.tls?.caSecretRef?.name,
  ];
  return [...new Set(names.filter((n): n is string => !!n))];
}

function dataVolume(side: 'source' | 'destination' | 'state', ep: Endpoint | undefined, readOnly: boolean): { volume: V1Volume; mount: V1VolumeMount } | undefined {
  const fs = ep?.filesystem;
  if (!fs?.volume) return undefined;
  const name = `${side}-data`;
  const volume: V1Volume = fs.volume.persistentVolumeClaim
    ? { name, persistentVolumeClaim: { claimName: fs.volume.persistentVolumeClaim.claimName, readOnly: !!fs.volume.persistentVolumeClaim.readOnly } }
    : { name, hostPath: { path: fs.volume.hostPath?.path ?? fs.path, type: 'DirectoryOrCreate' } };
  return { volume, mount: { name, mountPath: fs.path, readOnly: readOnly || !!fs.volume.persistentVolumeClaim?.readOnly } };
}

export function podSpec(ds: DataSync, run: RunMeta, step: Step, defaults: CopierDefaults): V1PodSpec {
  const spec: DataSyncSpec = ds.spec;
  const copier = spec.copier ?? {};
  const volumes: V1Volume[] = [
    { name: 'run-config', configMap: { name: runObjectName(ds.metadata.name, run.id) } },
    { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
  ];
  const mounts: V1VolumeMount[] = [
    { name: 'run-config', mountPath: RUN_CONFIG_DIR, readOnly: true },
    { name: 'tmp', mountPath: '/tmp' },
  ];
  const sides: Array<['source' | 'destination' | 'state', Endpoint | undefined]> = [['source', spec.source], ['destination', spec.destination], ['state', spec.state?.endpoint]];
  for (const [side, ep] of sides) {
    const secrets = endpointSecrets(ep);
    if (secrets.length) {
      volumes.push({ name: `${side}-secrets`, projected: { defaultMode: 0o440, sources: secrets.map((name) => ({ secret: { name } })) } });
      mounts.push({ name: `${side}-secrets`, mountPath: `${SECRETS_ROOT}/${side}`, readOnly: true });
    }
    // The planner only lists; the source is written only by Move's commit.
    const data = dataVolume(side, ep, side === 'source' ? !(spec.mode === 'Move' && step === 'commit') : step === 'plan' && side === 'destination');
    if (data && !volumes.some((v) => v.name === data.volume.name)) {
      volumes.push(data.volume);
      mounts.push(data.mount);
    }
  }
  const webhook = spec.notify?.webhook?.urlSecretRef;
  if (webhook && step === 'commit') {
    volumes.push({ name: 'notify-secrets', secret: { secretName: webhook.name, defaultMode: 0o440 } });
    mounts.push({ name: 'notify-secrets', mountPath: `${SECRETS_ROOT}/notify`, readOnly: true });
  }
  const env: V1EnvVar[] = [
    { name: 'DATASYNC_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'DATASYNC_POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'DATASYNC_RUN_ID', value: run.id },
    { name: 'DATASYNC_STEP', value: step },
  ];
  const customServiceAccount = copier.serviceAccountName;
  const args = ['worker', step, '--run-config', RUN_CONFIG_FILE];
  return {
    restartPolicy: 'Never',
    serviceAccountName: customServiceAccount ?? COPIER_SERVICE_ACCOUNT,
    // Only copy pods report progress (patch their own pod); plan and commit need no API token,
    // unless the user's ServiceAccount is there for workload identity.
    automountServiceAccountToken: step === 'copy' || !!customServiceAccount,
    enableServiceLinks: false,
    securityContext: {
      runAsNonRoot: true, runAsUser: COPIER_UID, runAsGroup: COPIER_UID, fsGroup: COPIER_UID,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [{
      name: CONTAINER_NAME,
      image: copier.image ?? defaults.image,
      ...(copier.imagePullPolicy ?? defaults.imagePullPolicy ? { imagePullPolicy: copier.imagePullPolicy ?? defaults.imagePullPolicy } : {}),
      command: ['datasync'],
      args,
      env,
      ...resourcesOf(copier.resources ?? defaults.resources),
      volumeMounts: mounts,
      terminationMessagePolicy: 'File',
      securityContext: {
        runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false,
        capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
      },
    }],
    volumes,
    ...(copier.nodeSelector ? { nodeSelector: copier.nodeSelector } : {}),
    ...(copier.tolerations ? { tolerations: copier.tolerations as NonNullable<V1PodSpec['tolerations']> } : {}),
  };
}

export interface JobArgs { ds: DataSync; run: RunMeta; step: Step; defaults: CopierDefaults; plan?: PlanResult }

export function runJob({ ds, run, step, defaults, plan }: JobArgs): V1Job {
  const labels = runLabels(ds, run.id, step);
  const annotations: Record<string, string> = {};
  if (step === 'plan') annotations[ANNOTATION_RUN_META] = JSON.stringify(run);
  if (step === 'copy' && plan) annotations[ANNOTATION_PLAN] = JSON.stringify(plan);
  const template = { metadata: { labels }, spec: podSpec(ds, run, step, defaults) };
  const configErrorRule = { action: step === 'copy' ? 'FailIndex' : 'FailJob', onExitCodes: { containerName: CONTAINER_NAME, operator: 'In', values: [EXIT_CONFIG_ERROR] } };
  const disruptionRule = { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] };
  const shards = Math.max(1, plan?.shards ?? 1);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: runObjectName(ds.metadata.name, run.id, step),
      namespace: String(ds.metadata.namespace),
      labels,
      annotations,
      ownerReferences: [ownerReference(ds)],
    },
    spec: step === 'copy'
      ? {
        completionMode: 'Indexed',
        completions: shards,
        parallelism: shards,
        backoffLimitPerIndex: ds.spec.retry?.backoffLimitPerShard ?? 3,
        podFailurePolicy: { rules: [configErrorRule, disruptionRule] },
        template,
      }
      : {
        backoffLimit: 1, // workers retry requests themselves; a pod retry is for crashes
        podFailurePolicy: { rules: [configErrorRule, disruptionRule] },
        template,
      },
  } as V1Job;
}

function resourcesOf(resources: CopierDefaults['resources']): { resources?: NonNullable<CopierDefaults['resources']> } {
  return resources ? { resources } : {};
}
