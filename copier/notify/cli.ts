// How the CLI and the commit worker notify: never changes the exit code, prints one line to stderr
// when a delivery fails, and returns the compact result the termination log carries so the
// operator can set the Degraded condition (reason WebhookFailed / WebhookRejected).
import type { Notify, RunReport } from '../../api/types.ts';
import { notifyRun, type NotifyResult } from './notify.ts';

export interface NotifyFlags { webhookUrl?: string | undefined; webhookUrlFile?: string | undefined }

export interface NotifySummary { state: NotifyResult['state']; attempts?: number; reason?: string; error?: string }

export async function notifyAfterRun(report: RunReport, notify: Notify | undefined, flags: NotifyFlags = {}, stderr: (line: string) => void = (l) => process.stderr.write(l)): Promise<NotifySummary> {
  const r = await notifyRun(report, notify, { flagUrl: flags.webhookUrl, flagFile: flags.webhookUrlFile });
  if (r.state === 'Failed') stderr(`datasync: webhook not delivered (${r.reason ?? 'WebhookFailed'}): ${r.error ?? 'unknown error'}; the data run itself is unaffected\n`);
  if (r.state === 'NotConfigured' || r.state === 'NotSelected') return { state: r.state };
  return { state: r.state, attempts: r.attempts, ...(r.reason ? { reason: r.reason } : {}), ...(r.error ? { error: r.error } : {}) };
}
