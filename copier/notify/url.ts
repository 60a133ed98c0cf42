// Where the webhook URL comes from. In a pod the operator mounts the notify.webhook.urlSecretRef
// Secret at $DATASYNC_SECRETS_DIR/notify/<key>; locally a --webhook-url flag or DATASYNC_WEBHOOK_URL
// env var gives it directly, or --webhook-url-file names a file.
import { readFileSync } from 'node:fs';
import type { Notify } from '../../api/types.ts';
import { readSecret } from '../runtime/secrets.ts';

export const WEBHOOK_URL_ENV = 'DATASYNC_WEBHOOK_URL';
export const NOTIFY_SECRET_SIDE = 'notify';
export const DEFAULT_URL_KEY = 'url';

export interface WebhookUrlSources {
  flagUrl?: string | undefined;
  flagFile?: string | undefined;
  env?: NodeJS.ProcessEnv;
  secretsRoot?: string | undefined;
}

/** The URL, or undefined when notify.webhook is not configured or no source holds it. */
export function resolveWebhookUrl(notify: Notify | undefined, sources: WebhookUrlSources = {}): { url?: string; source?: string; missing?: string } {
  if (sources.flagUrl) return { url: sources.flagUrl.trim(), source: 'flag' };
  if (sources.flagFile) return { url: readFileSync(sources.flagFile, 'utf8').trim(), source: 'file' };
  const env = sources.env ?? process.env;
  const fromEnv = env[WEBHOOK_URL_ENV];
  if (fromEnv) return { url: fromEnv.trim(), source: 'env' };
  if (!notify?.webhook) return {};
  const key = notify.webhook.urlSecretRef.key ?? DEFAULT_URL_KEY;
  const fromSecret = readSecret(NOTIFY_SECRET_SIDE, key, sources.secretsRoot);
  if (fromSecret) return { url: fromSecret.trim(), source: 'secret' };
  return { missing: `notify.webhook is set but no URL was found: mount Secret "${notify.webhook.urlSecretRef.name}" key "${key}" at $DATASYNC_SECRETS_DIR/${NOTIFY_SECRET_SIDE}/${key}, or set ${WEBHOOK_URL_ENV}` };
}
