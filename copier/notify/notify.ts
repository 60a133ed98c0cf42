// The one call the CLI and the commit step make after a run: decide whether to notify, resolve the
// URL, post, and return what to record. Never throws.
import type { Notify, RunReport } from '../../api/types.ts';
import { postRunReport, shouldNotify, type WebhookOptions, type WebhookResult } from './webhook.ts';
import { resolveWebhookUrl, type WebhookUrlSources } from './url.ts';

export type NotifyResult =
  | { state: 'NotConfigured' }
  | { state: 'NotSelected'; outcome: RunReport['outcome'] }
  | (WebhookResult & { state: 'Delivered' | 'Failed' });

export async function notifyRun(
  report: RunReport,
  notify: Notify | undefined,
  sources: WebhookUrlSources = {},
  options: Omit<WebhookOptions, 'url'> = {},
): Promise<NotifyResult> {
  let resolved: ReturnType<typeof resolveWebhookUrl>;
  try {
    resolved = resolveWebhookUrl(notify, sources);
  } catch (err) {
    return { state: 'Failed', delivered: false, attempts: 0, error: `cannot read the webhook URL: ${(err as Error).message}`, reason: 'WebhookFailed' };
  }
  if (resolved.missing) return { state: 'Failed', delivered: false, attempts: 0, error: resolved.missing, reason: 'WebhookFailed' };
  if (!resolved.url) return { state: 'NotConfigured' };
  if (!shouldNotify(report.outcome, notify?.on)) return { state: 'NotSelected', outcome: report.outcome };
  const r = await postRunReport(report, { ...options, url: resolved.url });
  return { ...r, state: r.delivered ? 'Delivered' : 'Failed' };
}
