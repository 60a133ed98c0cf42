// Run-report notifications. See webhook.ts for the delivery rules.
export { notifyRun, type NotifyResult } from './notify.ts';
export { postRunReport, shouldNotify, backoffDelayMs, redactUrl, DEFAULT_NOTIFY_ON, WEBHOOK_DEFAULTS, type WebhookOptions, type WebhookResult } from './webhook.ts';
export { resolveWebhookUrl, WEBHOOK_URL_ENV, NOTIFY_SECRET_SIDE, type WebhookUrlSources } from './url.ts';
