// The one place that maps an endpoint kind to its backend. One line per kind; other backends add
// their case here.
import type { Endpoint } from '../../api/types.ts';
import type { Backend } from './backend.ts';
import { DataSyncError, type Side } from '../errors.ts';
import { FilesystemBackend } from './filesystem/filesystem.ts';
import { S3Backend } from './s3/s3.ts';
import { createGcsBackend } from './gcs/index.ts';
import { createWebHdfsBackend } from './webhdfs/index.ts';
import { createAzureBlobBackend } from './azureblob/index.ts';
import { containerPath } from '../runtime/container-path.ts';

export interface OpenBackendOptions {
  /** Part size for multipart uploads, from spec.parallelism.partSize. */
  partSize?: number;
  /** Root of mounted credential Secrets; defaults to $DATASYNC_SECRETS_DIR or /var/run/datasync/secrets. */
  secretsRoot?: string;
}

export function openBackend(endpoint: Endpoint, side: Side, opts: OpenBackendOptions = {}): Backend {
  const kinds = Object.keys(endpoint).filter((k) => endpoint[k as keyof Endpoint] !== undefined);
  if (kinds.length !== 1) {
    throw new DataSyncError(`${side} must set exactly one endpoint kind, found ${kinds.length ? kinds.join(', ') : 'none'}`, { code: 'InvalidConfig', side: 'config' });
  }
  switch (kinds[0]) {
    case 'filesystem': return new FilesystemBackend(containerPath(endpoint.filesystem!.path), side);
    case 's3': return new S3Backend(endpoint.s3!, { side, ...opts });
    case 'gcs': return createGcsBackend(endpoint.gcs!, side, secretsOnly(opts));
    case 'webhdfs': return createWebHdfsBackend(endpoint.webhdfs!, side, secretsOnly(opts));
    case 'azureBlob': return createAzureBlobBackend(endpoint.azureBlob!, side, secretsOnly(opts));
    default:
      throw new DataSyncError(`${side}: endpoint kind '${kinds[0]}' is not available in this build`, { code: 'InvalidConfig', side: 'config' });
  }
}

function secretsOnly(opts: OpenBackendOptions): { secretsRoot?: string } {
  return opts.secretsRoot === undefined ? {} : { secretsRoot: opts.secretsRoot };
}
