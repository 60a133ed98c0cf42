// Credentials arrive as files: the copier pod mounts each credentialsSecretRef Secret at
// $DATASYNC_SECRETS_DIR/<side>/ (docs/design.md, "Credentials"). Absent files mean local mode.
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const DEFAULT_SECRETS_DIR = '/var/run/datasync/secrets';

export function secretsDir(side: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env['DATASYNC_SECRETS_DIR'] ?? DEFAULT_SECRETS_DIR, side);
}

/** The trimmed content of one Secret key, or undefined when that key is not mounted. */
export function readSecretKey(side: string, key: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    return readFileSync(path.join(secretsDir(side, env), key), 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
}

export function secretKeyPath(side: string, key: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(secretsDir(side, env), key);
}
