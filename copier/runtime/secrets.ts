// Credentials mounted from a Secret as files: $DATASYNC_SECRETS_DIR/<side>/<key> (docs/design.md).
// Without the directory, each SDK falls back to its own standard chain (local mode).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { containerPath } from './container-path.ts';

export const DEFAULT_SECRETS_DIR = '/var/run/datasync/secrets';

export function secretsDir(side: string, root = process.env['DATASYNC_SECRETS_DIR'] ?? DEFAULT_SECRETS_DIR): string {
  return path.join(containerPath(root), side);
}

/** Reads one secret key, trimmed of a trailing newline; undefined when absent. */
export function readSecret(side: string, key: string, root?: string): string | undefined {
  const file = path.join(secretsDir(side, root), key);
  if (!existsSync(file)) return undefined;
  return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
}
