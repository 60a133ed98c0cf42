// spec.partitions → one frozen, validated object, so the planner and committer never re-read the
// raw spec and a typo in `skip` or `layout` is a config error before anything is listed.
import type { Partitions } from '../../api/types.ts';
import { DataSyncError } from '../errors.ts';
import { parseDurationMs } from './duration.ts';
import { compileLayout, type PartitionLayout } from './layout.ts';

export const DEFAULT_SUCCESS_MARKER = '_SUCCESS';

export interface PartitionSpec {
  readonly layout: PartitionLayout;
  /** Partitions that ended before now − lookback are not considered; undefined = no limit. */
  readonly lookbackMs: number | undefined;
  /** A partition is ready only when this file exists directly in it at the source. */
  readonly readyMarker: string | undefined;
  readonly publish: 'Atomic' | 'PerFile';
  /** Written at the destination, last, once a partition is published. */
  readonly successMarker: string;
  readonly skip: ReadonlySet<string>;
}

export function resolvePartitionSpec(spec: Partitions): PartitionSpec {
  const layout = compileLayout(spec.layout, spec.timeZone ?? 'UTC');
  const skip = new Set<string>();
  for (const raw of spec.skip ?? []) {
    const ref = layout.parseKey(raw);
    if (!ref) {
      throw new DataSyncError(`partitions.skip: "${raw}" does not match the layout "${layout.layout}"; write the partition's directory, e.g. "${layout.keyAt(Date.UTC(2026, 10, 3))}"`, {
        code: 'InvalidConfig', side: 'config',
      });
    }
    skip.add(ref.key);
  }
  for (const [field, name] of [['readyMarker', spec.readyMarker], ['successMarker', spec.successMarker]] as const) {
    if (name !== undefined && (name === '' || name.includes('/'))) {
      throw new DataSyncError(`partitions.${field}: "${name}" must be a plain file name inside the partition directory`, {
        code: 'InvalidConfig', side: 'config',
      });
    }
  }
  return Object.freeze({
    layout,
    lookbackMs: spec.lookback === undefined ? undefined : parseDurationMs(spec.lookback, 'partitions.lookback'),
    readyMarker: spec.readyMarker,
    publish: spec.publish ?? 'Atomic',
    successMarker: spec.successMarker ?? DEFAULT_SUCCESS_MARKER,
    skip,
  });
}
