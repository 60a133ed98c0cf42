// The DataSync API as TypeScript types. This file is the contract the copier and operator code
// against. The CRD schema (api/schema.ts) is the single source of truth: scripts/gen-api.ts
// generates crds/ and checks these types against it, and `npm test` fails when they drift.
// Durations are strings such as "5m" or "72h"; quantities are Kubernetes quantities ("1Gi", "200Mi").

export const GROUP = 'datasync.dev';
export const VERSION = 'v1alpha1';
export const KIND = 'DataSync';
export const PLURAL = 'datasyncs';

export interface SecretKeyRef { name: string; key?: string }
export interface SecretRef { name: string }

export interface FilesystemEndpoint {
  path: string;
  volume?: { persistentVolumeClaim?: { claimName: string; readOnly?: boolean }; hostPath?: { path: string } };
}
export interface S3Endpoint {
  bucket: string;
  prefix?: string;
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  storageClass?: string;
  credentialsSecretRef?: SecretRef; // keys: accessKeyId, secretAccessKey, sessionToken (optional)
}
export interface GcsEndpoint {
  bucket: string;
  prefix?: string;
  endpoint?: string;
  projectId?: string;
  storageClass?: string;
  credentialsSecretRef?: SecretRef; // key: credentials.json
}
export interface AzureBlobEndpoint {
  account?: string;
  container: string;
  prefix?: string;
  endpoint?: string;
  accessTier?: 'Hot' | 'Cool' | 'Cold' | 'Archive';
  credentialsSecretRef?: SecretRef; // keys: connectionString | accountName+accountKey | sasToken
}
export interface WebhdfsEndpoint {
  namenodes: string[]; // http(s)://host:port, tried in order, fail over on standby/refused
  path: string;
  user?: string;
  delegationTokenSecretRef?: SecretRef; // key: token
  tls?: { insecureSkipVerify?: boolean; caSecretRef?: SecretRef };
}
/** Exactly one member is set. */
export interface Endpoint {
  filesystem?: FilesystemEndpoint;
  s3?: S3Endpoint;
  gcs?: GcsEndpoint;
  azureBlob?: AzureBlobEndpoint;
  webhdfs?: WebhdfsEndpoint;
}
export type EndpointKind = keyof Endpoint;

export type Mode = 'Copy' | 'Sync' | 'Move';
export type CompareMode = 'SizeAndModTime' | 'Checksum' | 'SizeOnly' | 'Always';
export type VerifyMode = 'None' | 'Size' | 'Checksum';

export interface Filters {
  include?: string[];
  exclude?: string[];
  minAge?: string;
  maxAge?: string;
  minSize?: string | number;
  maxSize?: string | number;
}
export interface Partitions {
  layout: string; // tokens {yyyy} {MM} {dd} {HH}
  timeZone?: string;
  lookback?: string;
  readyMarker?: string;
  publish?: 'Atomic' | 'PerFile';
  successMarker?: string;
  skip?: string[];
}
export interface Watch { interval: string }
export interface Trigger { manual?: string }
export interface Parallelism {
  shards?: number;
  transfersPerShard?: number;
  splitFilesLargerThan?: string | number;
  partSize?: string | number;
}
export interface Deletion { maxDelete?: string | number } // "10%" or an absolute count
export interface Retry { attemptsPerFile?: number; backoffLimitPerShard?: number }
export interface CopierPodSettings {
  image?: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  serviceAccountName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Array<Record<string, unknown>>;
}
export type RunOutcome = 'Succeeded' | 'PartiallyFailed' | 'Failed';
export interface Notify {
  webhook?: { urlSecretRef: SecretKeyRef };
  on?: RunOutcome[];
}
export interface StateLocation { endpoint?: Endpoint; prefix?: string }

export interface DataSyncSpec {
  source: Endpoint;
  destination: Endpoint;
  mode?: Mode;
  compare?: CompareMode;
  verify?: VerifyMode;
  filters?: Filters;
  partitions?: Partitions;
  schedule?: string;
  timeZone?: string;
  concurrencyPolicy?: 'Forbid' | 'Replace';
  startingDeadlineSeconds?: number;
  watch?: Watch;
  trigger?: Trigger;
  suspend?: boolean;
  parallelism?: Parallelism;
  bandwidthLimit?: string | number;
  deletion?: Deletion;
  retry?: Retry;
  state?: StateLocation;
  copier?: CopierPodSettings;
  notify?: Notify;
  historyLimit?: number;
}

export type Phase = 'Idle' | 'Planning' | 'Copying' | 'Publishing' | 'Succeeded' | 'Failed' | 'Suspended';
export interface Condition {
  type: 'Ready' | 'Progressing' | 'Degraded';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}
export interface FailedFile { path: string; error: string }

/** The run report: printed by the CLI and mirrored in status.lastRun and status.history. */
export interface RunReport {
  id: string;
  trigger?: 'Generation' | 'Schedule' | 'Manual' | 'Watch' | 'Cli';
  outcome: RunOutcome;
  startTime: string;
  endTime: string;
  durationSeconds: number;
  filesExpected: number;
  filesCopied: number;
  filesSkipped: number;
  filesFailed: number;
  filesDeleted: number;
  bytesExpected: number;
  bytesCopied: number;
  bytesSkipped: number;
  bytesFailed: number;
  bytesDeleted: number;
  failedFiles: FailedFile[];
  message?: string;
  partitions?: { published: string[]; waiting: string[]; skipped: string[] };
  watermark?: string;
  retries?: { filesRetried?: number; filesRecovered?: number; filesStillFailing?: number; totalRetried?: number; totalRecovered?: number };
  /** What became of notify.webhook; a failed delivery sets Degraded but never fails the run. */
  notification?: { state: 'NotConfigured' | 'NotSelected' | 'Delivered' | 'Failed'; attempts?: number; reason?: string; error?: string };
}

export interface ShardStatus {
  index: number;
  state: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  attempts: number;
}
export interface CurrentRun {
  id: string;
  trigger: NonNullable<RunReport['trigger']>;
  startTime: string;
  planned?: { files: number; bytes: number; shards: number; partitions?: number };
  progress?: {
    filesCopied: number;
    bytesCopied: number;
    filesSkipped: number;
    filesFailed: number;
    percent: number;
    bytesPerSecond: number;
    etaSeconds?: number;
  };
  shards?: ShardStatus[];
}
export interface DataSyncStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  phase?: Phase;
  currentRun?: CurrentRun;
  lastRun?: RunReport;
  history?: RunReport[];
  /** Human-readable totals of the active run, else the last run, for printer columns. */
  summary?: { progress: string; files: string; bytes: string };
  lastSuccessfulTime?: string;
  /** The schedule time of the last scheduled run started. */
  lastScheduleTime?: string;
  /** The metadata.generation of the last run started (one run per generation without schedule). */
  lastRunGeneration?: number;
  nextScheduleTime?: string;
  lastManualTrigger?: string;
  watermark?: { partition: string };
}

export interface DataSync {
  apiVersion: `${typeof GROUP}/${typeof VERSION}`;
  kind: typeof KIND;
  metadata: { name: string; namespace?: string; generation?: number; uid?: string; [k: string]: unknown };
  spec: DataSyncSpec;
  status?: DataSyncStatus;
}
