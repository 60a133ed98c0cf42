// The single source of the DataSync API: the OpenAPI v3 structural schema of spec and status, with a
// description on every field (they become `kubectl explain` output) and CEL rules for constraints
// that span fields. scripts/gen-api.ts turns it into crds/datasync.yaml and api/types.gen.ts;
// api/types.check.ts makes `tsc` fail when api/types.ts drifts from it.
//
// `dataSyncSchema` (the spec alone) also serves `datasync validate` through ajv: use
// `toJsonSchema(dataSyncSchema)`, which rewrites the Kubernetes extensions ajv does not know.
export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  required?: string[];
  items?: JSONSchemaProps;
  additionalProperties?: JSONSchemaProps | boolean;
  enum?: Array<string | number>;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
  anyOf?: JSONSchemaProps[];
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: Array<{ rule: string; message: string; reason?: string; fieldPath?: string }>;
}

// ---- small builders (each keeps the description mandatory) ----
const str = (description: string, extra: JSONSchemaProps = {}): JSONSchemaProps => ({ type: 'string', description, ...extra });
const int = (description: string, extra: JSONSchemaProps = {}): JSONSchemaProps => ({ type: 'integer', description, ...extra });
const num = (description: string, extra: JSONSchemaProps = {}): JSONSchemaProps => ({ type: 'number', description, ...extra });
const bool = (description: string): JSONSchemaProps => ({ type: 'boolean', description });
const oneOf = (description: string, values: string[]): JSONSchemaProps => ({ type: 'string', description, enum: values });
const obj = (description: string, properties: Record<string, JSONSchemaProps>, required: string[] = [], extra: JSONSchemaProps = {}): JSONSchemaProps => ({
  type: 'object',
  description,
  properties,
  ...(required.length ? { required } : {}),
  ...extra,
});
const list = (description: string, items: JSONSchemaProps, extra: JSONSchemaProps = {}): JSONSchemaProps => ({ type: 'array', description, items, ...extra });
const stringMap = (description: string): JSONSchemaProps => ({ type: 'object', description, additionalProperties: { type: 'string' } });
const time = (description: string): JSONSchemaProps => str(description, { format: 'date-time' });

/** Kubernetes resource quantity syntax ("1Gi", "200M", "1.5e3"), the same regex the apiserver uses. */
export const QUANTITY_PATTERN = '^([+]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';
/** Go-style durations as the copier accepts them: "90s", "5m", "72h", "1h30m", "7d". */
export const DURATION_PATTERN = '^([0-9]+(ms|s|m|h|d))+$';
/**
 * Five cron fields (minute hour day-of-month month day-of-week) of digits, names, `*`, `?`, ranges,
 * lists and steps, or one of the @-macros. CEL has no cron parser; the operator parses with
 * cron-parser too and reports what this shape check lets through as Degraded/InvalidSchedule.
 */
export const CRON_PATTERN =
  '^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|' +
  '([0-9*,/-]+)\\s+([0-9*,/-]+)\\s+([0-9*?,/LW-]+)\\s+([0-9A-Za-z*,/-]+)\\s+([0-9A-Za-z*?,/L#-]+))$';

/** int-or-string holding a non-negative quantity; CEL checks the string form with isQuantity(). */
const quantity = (description: string): JSONSchemaProps => ({
  description: `${description} An integer number of bytes or a Kubernetes quantity such as "64Mi" or "1G".`,
  'x-kubernetes-int-or-string': true,
  // A pattern only constrains the string form; CEL checks both forms with the apiserver's own parser.
  pattern: QUANTITY_PATTERN,
  'x-kubernetes-validations': [
    { rule: 'type(self) == int ? int(self) >= 0 : isQuantity(string(self))', message: 'must be a quantity such as "64Mi", "1G" or a non-negative byte count' },
  ],
});
const duration = (description: string): JSONSchemaProps => str(`${description} A duration such as "90s", "5m", "72h" or "1h30m".`, { pattern: DURATION_PATTERN, maxLength: 32 });

const secretRef = (description: string): JSONSchemaProps =>
  obj(description, { name: str('Name of a Secret in the DataSync\'s namespace. The operator never reads it; copier pods mount it as a volume.', { minLength: 1, maxLength: 253 }) }, ['name'], { 'x-kubernetes-map-type': 'atomic' });
const secretKeyRef = (description: string): JSONSchemaProps =>
  obj(description, {
    name: str('Name of a Secret in the DataSync\'s namespace.', { minLength: 1, maxLength: 253 }),
    key: str('Key within the Secret.', { maxLength: 253 }),
  }, ['name'], { 'x-kubernetes-map-type': 'atomic' });
const url = (description: string): JSONSchemaProps => str(description, { pattern: '^https?://[^\\s]+$', maxLength: 2048 });
const prefix = (description: string): JSONSchemaProps => str(description, { maxLength: 1024 });

// ---- endpoints ----
const filesystemEndpoint = obj('A POSIX directory inside the copier pods.', {
  path: str('Directory path inside the copier pods, where volume (if set) is mounted; use an absolute path in a cluster. Relative paths resolve against the working directory of `datasync run` (local mode).', { minLength: 1, maxLength: 4096 }),
  volume: obj('The volume that holds path. Without it, path must exist in the copier image (local mode only).', {
    persistentVolumeClaim: obj('A PersistentVolumeClaim in the DataSync\'s namespace.', {
      claimName: str('Name of the PersistentVolumeClaim.', { minLength: 1, maxLength: 253 }),
      readOnly: bool('Mount read-only. Recommended for a Copy or Sync source.'),
    }, ['claimName']),
    hostPath: obj('A directory on the node (clusters that allow hostPath only).', {
      path: str('Absolute path on the node.', { pattern: '^/', minLength: 1 }),
    }, ['path']),
  }, [], {
    'x-kubernetes-validations': [
      { rule: '[has(self.persistentVolumeClaim), has(self.hostPath)].filter(x, x).size() <= 1', message: 'volume: set at most one of persistentVolumeClaim and hostPath' },
    ],
  }),
}, ['path']);

const s3Endpoint = obj('An S3 or S3-compatible bucket (AWS, MinIO, Ceph RGW, ...).', {
  bucket: str('Bucket name.', { minLength: 3, maxLength: 63, pattern: '^[a-z0-9][a-z0-9.-]*[a-z0-9]$' }),
  prefix: prefix('Key prefix within the bucket that acts as the root directory; empty means the whole bucket.'),
  region: str('AWS region, e.g. us-east-1. Defaults to the SDK chain, then us-east-1.', { maxLength: 64 }),
  endpoint: url('Endpoint URL for S3-compatible stores, e.g. http://minio:9000. Empty means AWS.'),
  forcePathStyle: bool('Address the bucket as a path (http://host/bucket) instead of a virtual host. Usually needed for MinIO.'),
  storageClass: str('Storage class of written objects, e.g. STANDARD_IA.', { maxLength: 64 }),
  credentialsSecretRef: secretRef('Secret with keys accessKeyId, secretAccessKey and optional sessionToken. Without it, the SDK chain of the copier pod applies (e.g. IRSA).'),
}, ['bucket']);

const gcsEndpoint = obj('A Google Cloud Storage bucket.', {
  bucket: str('Bucket name.', { minLength: 3, maxLength: 222 }),
  prefix: prefix('Object name prefix that acts as the root directory.'),
  endpoint: url('API endpoint override, e.g. for an emulator.'),
  projectId: str('Google Cloud project ID.', { maxLength: 64 }),
  storageClass: str('Storage class of written objects, e.g. NEARLINE.', { maxLength: 64 }),
  credentialsSecretRef: secretRef('Secret with key credentials.json (a service account key). Without it, workload identity applies.'),
}, ['bucket']);

const azureBlobEndpoint = obj('An Azure Blob Storage container.', {
  account: str('Storage account name. Optional when the credentials Secret holds a connection string.', { maxLength: 24 }),
  container: str('Container name.', { minLength: 3, maxLength: 63, pattern: '^[a-z0-9](-?[a-z0-9])*$' }),
  prefix: prefix('Blob name prefix that acts as the root directory.'),
  endpoint: url('Blob service endpoint override, e.g. for Azurite or sovereign clouds.'),
  accessTier: oneOf('Access tier of written blobs.', ['Hot', 'Cool', 'Cold', 'Archive']),
  credentialsSecretRef: secretRef('Secret with key connectionString, or accountName and accountKey, or sasToken.'),
}, ['container']);

const webhdfsEndpoint = obj('An HDFS directory reached through WebHDFS (or HttpFS).', {
  namenodes: list('NameNode HTTP(S) addresses, e.g. http://nn1:9870, tried in order; the copier fails over on standby or refused connections.',
    url('A NameNode address.'), { minItems: 1, maxItems: 8 }),
  path: str('Absolute HDFS directory path.', { pattern: '^/', minLength: 1, maxLength: 4096 }),
  user: str('user.name for simple authentication.', { maxLength: 256 }),
  delegationTokenSecretRef: secretRef('Secret with key token: an HDFS delegation token for secure clusters.'),
  tls: obj('TLS settings for https NameNode addresses.', {
    insecureSkipVerify: bool('Skip certificate verification. Only for testing.'),
    caSecretRef: secretRef('Secret with key ca.crt: the CA bundle that signs the NameNode certificates.'),
  }),
}, ['namenodes', 'path']);

const ENDPOINT_KINDS = ['filesystem', 's3', 'gcs', 'azureBlob', 'webhdfs'] as const;
const endpoint = (description: string): JSONSchemaProps =>
  obj(`${description} Set exactly one of filesystem, s3, gcs, azureBlob, webhdfs.`, {
    filesystem: filesystemEndpoint,
    s3: s3Endpoint,
    gcs: gcsEndpoint,
    azureBlob: azureBlobEndpoint,
    webhdfs: webhdfsEndpoint,
  }, [], {
    'x-kubernetes-validations': [{
      rule: `[${ENDPOINT_KINDS.map((k) => `has(self.${k})`).join(', ')}].filter(x, x).size() == 1`,
      message: `exactly one endpoint kind must be set: one of ${ENDPOINT_KINDS.join(', ')}`,
    }],
  });

const RUN_OUTCOMES = ['Succeeded', 'PartiallyFailed', 'Failed'];

// CEL cannot compare two whole objects of the schema's anonymous types, so compare what locates data.
const opt = (side: string, kind: string, field: string): string => `(has(self.${side}.${kind}.${field}) ? self.${side}.${kind}.${field} : '')`;
const same = (kind: string, fields: string[], optional: string[]): string =>
  `(has(self.source.${kind}) && has(self.destination.${kind}) && ` +
  [...fields.map((f) => `self.source.${kind}.${f} == self.destination.${kind}.${f}`), ...optional.map((f) => `${opt('source', kind, f)} == ${opt('destination', kind, f)}`)].join(' && ') + ')';
const SAME_LOCATION_RULE = '!(' + [
  same('filesystem', ['path'], []),
  same('s3', ['bucket'], ['prefix', 'endpoint']),
  same('gcs', ['bucket'], ['prefix', 'endpoint']),
  same('azureBlob', ['container'], ['prefix', 'account', 'endpoint']),
  same('webhdfs', ['path', 'namenodes'], []),
].join(' || ') + ')';

// ---- spec ----
export const dataSyncSchema: JSONSchemaProps = obj('What to copy, from where to where, when and how.', {
  source: endpoint('Where data is read from.'),
  destination: endpoint('Where data is written to.'),
  mode: oneOf('Copy adds and updates files at the destination (default). Sync also deletes destination files that are not at the source. Move deletes each source file after a verified copy.', ['Copy', 'Sync', 'Move']),
  compare: oneOf('When a file counts as unchanged and is skipped: SizeAndModTime (default), Checksum, SizeOnly, or Always (never skip).', ['SizeAndModTime', 'Checksum', 'SizeOnly', 'Always']),
  verify: oneOf('Check applied after each copy: None, Size, or Checksum. Move needs Size or Checksum.', ['None', 'Size', 'Checksum']),
  filters: obj('Which source files take part.', {
    include: list('Glob patterns (e.g. "**/*.json.gz"); when set, only matching files take part.', str('A glob pattern.', { minLength: 1, maxLength: 1024 }), { maxItems: 100 }),
    exclude: list('Glob patterns of files to leave out; exclude wins over include.', str('A glob pattern.', { minLength: 1, maxLength: 1024 }), { maxItems: 100 }),
    minAge: duration('Only files modified at least this long ago (lets writers finish).'),
    maxAge: duration('Only files modified at most this long ago.'),
    minSize: quantity('Only files at least this large.'),
    maxSize: quantity('Only files at most this large.'),
  }),
  partitions: obj('Dataset awareness for date-partitioned trees: copy complete partitions and publish them as a unit.', {
    layout: str('Partition path template with tokens {yyyy} {MM} {dd} {HH}, e.g. "{yyyy}/{MM}/{dd}" or "dt={yyyy}-{MM}-{dd}/hour={HH}".', {
      minLength: 1, maxLength: 256,
      'x-kubernetes-validations': [{ rule: "self.contains('{yyyy}')", message: 'partitions.layout must contain the {yyyy} token' }],
    }),
    timeZone: str('IANA time zone the layout is written in; default UTC.', { maxLength: 64 }),
    lookback: duration('Only partitions newer than now minus lookback are considered.'),
    readyMarker: str('File that must exist in a source partition before it is copied, e.g. _SUCCESS.', { maxLength: 256 }),
    publish: oneOf('Atomic stages a partition and publishes it as one file set; PerFile makes each file visible as soon as it is copied (default).', ['Atomic', 'PerFile']),
    successMarker: str('File written at the destination after a partition is published, e.g. _SUCCESS.', { maxLength: 256 }),
    skip: list('Partitions to leave out, as rendered by layout, e.g. "2026/11/03".', str('A rendered partition path.', { maxLength: 256 }), { maxItems: 1000 }),
  }, ['layout']),
  schedule: str('Cron schedule ("*/15 * * * *" or a macro such as "@hourly"). Without schedule and watch, the DataSync runs once per spec generation.', {
    maxLength: 128, pattern: CRON_PATTERN,
  }),
  timeZone: str('IANA time zone of schedule, e.g. Europe/Berlin; default UTC.', { maxLength: 64, pattern: '^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$' }),
  concurrencyPolicy: oneOf('What a schedule does while a run is active: Forbid skips the new run (default), Replace cancels the active run and starts the new one.', ['Forbid', 'Replace']),
  startingDeadlineSeconds: int('A scheduled run that cannot start within this many seconds of its time is skipped.', { minimum: 1, maximum: 86400 }),
  watch: obj('Continuous mode: run again this long after each run ends, picking up new files as they land.', {
    interval: duration('Pause between the end of a run and the start of the next.'),
  }, ['interval']),
  trigger: obj('Manual triggers.', {
    manual: str('Each new value starts one run; the value is echoed into status.lastManualTrigger. E.g. a timestamp.', { minLength: 1, maxLength: 128 }),
  }),
  suspend: bool('Start no new runs. A run already active finishes.'),
  parallelism: obj('How the work is spread.', {
    shards: int('Number of copy pods (indexes of the copy Job) the plan is split into, balanced by bytes. 1 to 1000; default 1.', { minimum: 1, maximum: 1000 }),
    transfersPerShard: int('Concurrent file transfers in each copy pod; default 8.', { minimum: 1, maximum: 256 }),
    splitFilesLargerThan: quantity('Files larger than this are split into byte ranges copied by different shards.'),
    partSize: quantity('Multipart upload part size.'),
  }),
  bandwidthLimit: quantity('Bytes per second for the whole run, shared by all shards. Empty means unlimited.'),
  deletion: obj('Safety guard for deletions made by Sync and Move.', {
    maxDelete: {
      description: 'Refuse a run that would delete more than this: an absolute count (e.g. 1000) or a percentage of the files in scope (e.g. "10%").',
      'x-kubernetes-int-or-string': true,
      pattern: '^([0-9]|[1-9][0-9]|100)%$',
      'x-kubernetes-validations': [{ rule: 'type(self) == int ? int(self) >= 0 : true', message: 'maxDelete must be a non-negative count or a percentage from 0% to 100%' }],
    },
  }),
  retry: obj('Retries.', {
    attemptsPerFile: int('Attempts per file inside a copy pod before it counts as failed; default 5.', { minimum: 1, maximum: 100 }),
    backoffLimitPerShard: int('Pod retries per shard (the copy Job\'s backoffLimitPerIndex); default 3.', { minimum: 0, maximum: 100 }),
  }),
  state: obj('Where the manifest, journals and run reports live. Default: the hidden prefix .datasync/ at the destination.', {
    endpoint: endpoint('A separate location for state (needed when the destination cannot hold it).'),
    prefix: prefix('Prefix within the state location; default .datasync.'),
  }),
  copier: obj('Settings of the copier pods (plan, copy and commit).', {
    image: str('Copier image; default the operator\'s --copier-image.', { maxLength: 512 }),
    imagePullPolicy: oneOf('Image pull policy.', ['Always', 'IfNotPresent', 'Never']),
    resources: obj('Compute resources of the copier container.', {
      requests: stringMap('Minimum resources, e.g. {cpu: 500m, memory: 512Mi}.'),
      limits: stringMap('Maximum resources.'),
    }),
    serviceAccountName: str('ServiceAccount of copier pods, e.g. for workload identity. Default datasync-copier, which the operator creates.', { maxLength: 253 }),
    nodeSelector: stringMap('Node labels copier pods must match.'),
    tolerations: list('Tolerations of copier pods (core/v1 Toleration).', { type: 'object', description: 'A core/v1 Toleration.', 'x-kubernetes-preserve-unknown-fields': true }, { maxItems: 32 }),
  }),
  notify: obj('Notifications when a run ends.', {
    webhook: obj('An HTTP POST of the run report.', {
      urlSecretRef: secretKeyRef('Secret key holding the webhook URL (URLs often embed tokens, so they live in a Secret).'),
    }, ['urlSecretRef']),
    on: list('Outcomes that notify; default all.', oneOf('A run outcome.', RUN_OUTCOMES), { maxItems: 3 }),
  }),
  historyLimit: int('Run reports kept in status.history; default 10.', { minimum: 0, maximum: 100 }),
}, ['source', 'destination'], {
  'x-kubernetes-validations': [
    { rule: '!(has(self.schedule) && has(self.watch))', message: 'schedule and watch cannot be combined: choose a cron schedule or continuous watch', fieldPath: '.watch' },
    { rule: "!has(self.timeZone) || has(self.schedule)", message: 'timeZone applies only to schedule; set schedule or remove timeZone', fieldPath: '.timeZone' },
    { rule: "!has(self.startingDeadlineSeconds) || has(self.schedule)", message: 'startingDeadlineSeconds applies only to schedule', fieldPath: '.startingDeadlineSeconds' },
    { rule: "!has(self.concurrencyPolicy) || has(self.schedule) || has(self.watch)", message: 'concurrencyPolicy applies only with schedule or watch', fieldPath: '.concurrencyPolicy' },
    { rule: "!(has(self.deletion) && has(self.deletion.maxDelete)) || (has(self.mode) && self.mode in ['Sync', 'Move'])", message: 'deletion.maxDelete guards deletions and applies only with mode Sync or Move', fieldPath: '.deletion.maxDelete' },
    { rule: "!(has(self.mode) && self.mode == 'Move' && has(self.verify) && self.verify == 'None')", message: 'mode Move deletes sources only after a verified copy: verify must be Size or Checksum', fieldPath: '.verify' },
    { rule: "!(has(self.mode) && self.mode == 'Move' && has(self.compare) && self.compare == 'Always')", message: 'mode Move with compare Always would re-copy files already moved; use SizeAndModTime, SizeOnly or Checksum', fieldPath: '.compare' },
    { rule: SAME_LOCATION_RULE, message: 'source and destination must differ: they name the same location', fieldPath: '.destination' },
    { rule: "!has(self.partitions) || !has(self.partitions.successMarker) || !has(self.partitions.publish) || self.partitions.publish == 'Atomic'", message: 'partitions.successMarker marks a published partition and needs partitions.publish Atomic', fieldPath: '.partitions.successMarker' },
    { rule: "!(has(self.mode) && self.mode == 'Sync' && has(self.filters) && has(self.filters.maxAge))", message: 'mode Sync with filters.maxAge would delete every older destination file; use Copy, or drop maxAge', fieldPath: '.filters.maxAge' },
  ],
});

// ---- status ----
const runReport = obj('The run report: the same counters as the CLI\'s JSON report.', {
  id: str('Run ID; also the suffix of its Jobs and ConfigMap.'),
  trigger: oneOf('What started the run.', ['Generation', 'Schedule', 'Manual', 'Watch', 'Cli']),
  outcome: oneOf('Succeeded, PartiallyFailed (some files failed) or Failed.', RUN_OUTCOMES),
  startTime: time('When the run started.'),
  endTime: time('When the run ended.'),
  durationSeconds: int('Run duration in seconds.'),
  filesExpected: int('Files the plan scheduled for copying.'),
  filesCopied: int('Files copied.'),
  filesSkipped: int('Files skipped as unchanged.'),
  filesFailed: int('Files that failed after their retries.'),
  filesDeleted: int('Files deleted (Sync: destination extras; Move: sources).'),
  bytesExpected: int('Bytes the plan scheduled for copying.'),
  bytesCopied: int('Bytes copied.'),
  bytesSkipped: int('Bytes of skipped files.'),
  bytesFailed: int('Bytes of failed files.'),
  bytesDeleted: int('Bytes deleted.'),
  failedFiles: list('A bounded sample of failed files.', obj('A failed file.', {
    path: str('Path relative to the endpoint root.'),
    error: str('Why it failed.'),
  }, ['path', 'error']), { maxItems: 100 }),
  message: str('Summary, e.g. why the run failed.'),
  partitions: obj('Partition outcome of the run.', {
    published: list('Partitions published.', str('A partition.')),
    waiting: list('Partitions waiting for their ready marker.', str('A partition.')),
    skipped: list('Partitions skipped.', str('A partition.')),
  }, ['published', 'waiting', 'skipped']),
  watermark: str('Newest partition published so far.'),
  retries: obj('Files that failed in an earlier pass or run and were tried again.', {
    filesRetried: int('Files retried in this run.'),
    filesRecovered: int('Retried files that succeeded this time.'),
    filesStillFailing: int('Retried files that failed again.'),
    totalRetried: int('Retries over the life of this DataSync.'),
    totalRecovered: int('Recoveries over the life of this DataSync.'),
  }),
  notification: obj('What became of the notify webhook for this run. A failed delivery never fails the run; it sets Degraded.', {
    state: { type: 'string', enum: ['NotConfigured', 'NotSelected', 'Delivered', 'Failed'], description: 'Delivered, Failed, or why nothing was sent.' },
    attempts: int('Delivery attempts made.'),
    reason: str('Why delivery failed, as a condition reason (WebhookFailed, WebhookRejected).'),
    error: str('The last delivery error; names the receiver by origin only, never the URL.'),
  }, ['state']),
}, ['id', 'outcome', 'startTime', 'endTime', 'durationSeconds', 'filesExpected', 'filesCopied', 'filesSkipped', 'filesFailed', 'filesDeleted', 'bytesExpected', 'bytesCopied', 'bytesSkipped', 'bytesFailed', 'bytesDeleted', 'failedFiles']);

const condition = obj('A standard condition.', {
  type: oneOf('Ready: the last run succeeded and the spec is valid. Progressing: a run is active. Degraded: the last run failed or the DataSync cannot run.', ['Ready', 'Progressing', 'Degraded']),
  status: oneOf('True, False or Unknown.', ['True', 'False', 'Unknown']),
  reason: str('CamelCase reason.', { maxLength: 1024 }),
  message: str('Human-readable detail.', { maxLength: 32768 }),
  observedGeneration: int('The metadata.generation this condition was computed from.', { minimum: 0 }),
  lastTransitionTime: time('When status last changed.'),
}, ['type', 'status', 'reason', 'message', 'lastTransitionTime']);

export const dataSyncStatusSchema: JSONSchemaProps = obj('Observed state, written by the operator.', {
  observedGeneration: int('The metadata.generation the operator last acted on.'),
  conditions: list('Ready, Progressing and Degraded.', condition, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
  phase: oneOf('Summary for printer columns: Idle, Planning, Copying, Publishing, Succeeded, Failed or Suspended.', ['Idle', 'Planning', 'Copying', 'Publishing', 'Succeeded', 'Failed', 'Suspended']),
  currentRun: obj('The active run, with live progress from the copy pods.', {
    id: str('Run ID.'),
    trigger: oneOf('What started the run.', ['Generation', 'Schedule', 'Manual', 'Watch', 'Cli']),
    startTime: time('When the run started.'),
    planned: obj('Totals from the plan.', {
      files: int('Files to copy.'),
      bytes: int('Bytes to copy.'),
      shards: int('Shards (copy Job completions).'),
      partitions: int('Partitions in scope.'),
    }, ['files', 'bytes', 'shards']),
    progress: obj('Totals over all shards.', {
      filesCopied: int('Files copied so far.'),
      bytesCopied: int('Bytes copied so far.'),
      filesSkipped: int('Files skipped as unchanged.'),
      filesFailed: int('Files failed so far.'),
      percent: num('Bytes done as a percentage of bytes planned (files when no bytes).'),
      bytesPerSecond: int('Average copy rate since the copy step started.'),
      etaSeconds: int('Estimated seconds until the copy step ends.'),
    }, ['filesCopied', 'bytesCopied', 'filesSkipped', 'filesFailed', 'percent', 'bytesPerSecond']),
    shards: list('Per-shard progress.', obj('One shard.', {
      index: int('Shard index (the copy Job completion index).'),
      state: oneOf('Pending, Running, Succeeded or Failed.', ['Pending', 'Running', 'Succeeded', 'Failed']),
      filesDone: int('Files done (copied, skipped or failed).'),
      filesTotal: int('Files in the shard.'),
      bytesDone: int('Bytes done.'),
      bytesTotal: int('Bytes in the shard.'),
      attempts: int('Pods started for this shard.'),
    }, ['index', 'state', 'filesDone', 'filesTotal', 'bytesDone', 'bytesTotal', 'attempts']), { maxItems: 1000 }),
  }, ['id', 'trigger', 'startTime']),
  lastRun: runReport,
  history: list('Reports of the last historyLimit runs, newest first.', runReport, { maxItems: 100 }),
  summary: obj('Human-readable totals of the active run, else of the last run, for printer columns.', {
    progress: str('Percent done, e.g. "47%".'),
    files: str('Files done of files planned, e.g. "2100/4428".'),
    bytes: str('Bytes done of bytes planned, e.g. "1.2Gi/35.7Gi".'),
  }, ['progress', 'files', 'bytes']),
  lastSuccessfulTime: time('When the last successful run ended.'),
  lastScheduleTime: time('The schedule time of the last scheduled run started.'),
  lastRunGeneration: int('The metadata.generation of the last run started; without schedule and watch, a new generation starts a run.'),
  nextScheduleTime: time('When the schedule or watch starts the next run.'),
  lastManualTrigger: str('The spec.trigger.manual value of the last manual run.'),
  watermark: obj('Newest partition published.', { partition: str('A rendered partition path.') }, ['partition']),
});

/** The full openAPIV3Schema of the DataSync kind. */
export const dataSyncResourceSchema: JSONSchemaProps = obj('DataSync copies data between filesystems, S3, GCS, WebHDFS and Azure Blob, once, on a schedule or continuously.', {
  apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
  kind: str('Kind is a string value representing the REST resource this object represents.'),
  spec: dataSyncSchema,
  status: dataSyncStatusSchema,
}, ['spec']);

/**
 * A plain JSON Schema (draft-07 / ajv) equivalent: int-or-string becomes anyOf integer|string, and the
 * Kubernetes-only keys are removed. CEL rules are not evaluated; `datasync validate` re-checks the
 * cross-field rules in code (or the apiserver does on apply).
 */
export function toJsonSchema(schema: JSONSchemaProps): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'x-kubernetes-int-or-string') { out['type'] = ['integer', 'string']; continue; }
    if (key.startsWith('x-kubernetes-')) continue;
    if (key === 'properties') {
      out[key] = Object.fromEntries(Object.entries(value as Record<string, JSONSchemaProps>).map(([k, v]) => [k, toJsonSchema(v)]));
    } else if (key === 'items' || (key === 'additionalProperties' && typeof value === 'object')) {
      out[key] = toJsonSchema(value as JSONSchemaProps);
    } else if (key === 'anyOf') {
      out[key] = (value as JSONSchemaProps[]).map(toJsonSchema);
    } else {
      out[key] = value;
    }
  }
  if (schema.type === 'object' && schema.properties && !schema.additionalProperties && !schema['x-kubernetes-preserve-unknown-fields']) {
    out['additionalProperties'] = false; // the apiserver prunes unknown fields; ajv reports them instead
  }
  return out;
}
