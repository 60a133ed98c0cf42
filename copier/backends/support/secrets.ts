// Credentials arrive as files: the copier pod mounts each credentialsSecretRef Secret at
// $DATASYNC_SECRETS_DIR/<side>/ (docs/design.md, "Credentials"). Absent files mean local mode.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const DEFAULT_SECRETS_DIR = '/var/run/datasync/secrets';

export function secretsDir(side: string, root?: string): string {
  return path.join(root ?? process.env['DATASYNC_SECRETS_DIR'] ?? DEFAULT_SECRETS_DIR, side);
}

export function secretKeyPath(side: string, key: string, root?: string): string {
  return path.join(secretsDir(side, root), key);
}

/** The trimmed content of one Secret key, or undefined when that key is not mounted. */
export function readSecretKey(side: string, key: string, root?: string): string | undefined {
  try {
    return readFileSync(secretKeyPath(side, key, root), 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}
