// The one place that maps an endpoint kind to its backend. One line per kind; other backends add
// their case here.
import type { Endpoint } from '../../api/types.ts';
import type { Backend } from './backend.ts';
import { DataSyncError, type Side } from '../errors.ts';
import { containerPath } from '../runtime/container-path.ts';

export interface OpenBackendOptions {
  /** Part size for multipart uploads, from spec.parallelism.partSize. */
  partSize?: number;
  /** Root of mounted credential Secrets; defaults to $DATASYNC_SECRETS_DIR or /var/run/datasync/secrets. */
  secretsRoot?: string;
}

/**
 * Backends are imported when first opened: each cloud SDK costs tens of MiB of heap and start-up
 * time, and a run needs at most three of the five.
 */
export async function openBackend(endpoint: Endpoint, side: Side, opts: OpenBackendOptions = {}): Promise<Backend> {
  const kinds = Object.keys(endpoint).filter((k) => endpoint[k as keyof Endpoint] !== undefined);
  if (kinds.length !== 1) {
    throw new DataSyncError(`${side} must set exactly one endpoint kind, found ${kinds.length ? kinds.join(', ') : 'none'}`, { code: 'InvalidConfig', side: 'config' });
  }
  switch (kinds[0]) {
    case 'filesystem': return new (await import('./filesystem/filesystem.ts')).FilesystemBackend(containerPath(endpoint.filesystem!.path), side);
    case 's3': return new (await import('./s3/s3.ts')).S3Backend(endpoint.s3!, { side, ...opts });
    case 'gcs': return (await import('./gcs/index.ts')).createGcsBackend(endpoint.gcs!, side, secretsOnly(opts));
    case 'webhdfs': return (await import('./webhdfs/index.ts')).createWebHdfsBackend(endpoint.webhdfs!, side, secretsOnly(opts));
    case 'azureBlob': return (await import('./azureblob/index.ts')).createAzureBlobBackend(endpoint.azureBlob!, side, secretsOnly(opts));
    default:
      throw new DataSyncError(`${side}: endpoint kind '${kinds[0]}' is not available in this build`, { code: 'InvalidConfig', side: 'config' });
  }
}

function secretsOnly(opts: OpenBackendOptions): { secretsRoot?: string } {
  return opts.secretsRoot === undefined ? {} : { secretsRoot: opts.secretsRoot };
}
