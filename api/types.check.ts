// Compile-time drift check: `tsc` fails here when api/types.ts and api/schema.ts (through the
// generated api/types.gen.ts) disagree on any field, optionality or enum value. Each pair is checked
// separately so the error points at the part that drifted.
import type * as T from './types.ts';
import type { DataSyncSpecFromSchema as Spec, DataSyncStatusFromSchema as Status } from './types.gen.ts';

/** True only when A and B are identical types (not merely mutually assignable). */
type Equals<A, B> = (<X>() => X extends A ? 1 : 2) extends (<X>() => X extends B ? 1 : 2) ? true : false;
type Assert<Ok extends true> = Ok;
type Ep = Spec['source'];

export type TypesMatchSchema = [
  Assert<Equals<T.FilesystemEndpoint, NonNullable<Ep['filesystem']>>>,
  Assert<Equals<T.S3Endpoint, NonNullable<Ep['s3']>>>,
  Assert<Equals<T.GcsEndpoint, NonNullable<Ep['gcs']>>>,
  Assert<Equals<T.AzureBlobEndpoint, NonNullable<Ep['azureBlob']>>>,
  Assert<Equals<T.WebhdfsEndpoint, NonNullable<Ep['webhdfs']>>>,
  Assert<Equals<T.Endpoint, Ep>>,
  Assert<Equals<T.Endpoint, Spec['destination']>>,
  Assert<Equals<T.Filters, NonNullable<Spec['filters']>>>,
  Assert<Equals<T.Partitions, NonNullable<Spec['partitions']>>>,
  Assert<Equals<T.Parallelism, NonNullable<Spec['parallelism']>>>,
  Assert<Equals<T.CopierPodSettings, NonNullable<Spec['copier']>>>,
  Assert<Equals<T.Notify, NonNullable<Spec['notify']>>>,
  Assert<Equals<T.StateLocation, NonNullable<Spec['state']>>>,
  Assert<Equals<T.DataSyncSpec, Spec>>,
  Assert<Equals<T.Condition, NonNullable<Status['conditions']>[number]>>,
  Assert<Equals<T.RunReport, NonNullable<Status['lastRun']>>>,
  Assert<Equals<T.ShardStatus, NonNullable<NonNullable<Status['currentRun']>['shards']>[number]>>,
  Assert<Equals<T.CurrentRun, NonNullable<Status['currentRun']>>>,
  Assert<Equals<T.DataSyncStatus, Status>>,
];
