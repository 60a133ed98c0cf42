// The run-report webhook. A delivery that fails must never fail the data run, so nothing here
// throws: the caller gets a result and sets the Degraded condition from it. The URL is a secret
// (Slack-style URLs carry their token in the path), so messages only ever show its origin.
import type { RunOutcome, RunReport } from '../../api/types.ts';

export interface WebhookOptions {
  url: string;
  /** Total attempts, the first included. */
  attempts?: number;
  /** Backoff before retry n is min(maxDelayMs, baseDelayMs * 2^(n-1)), with ±20% jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per attempt. */
  timeoutMs?: number;
  /** Injected for tests; defaults to setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  headers?: Record<string, string>;
}

export interface WebhookResult {
  delivered: boolean;
  attempts: number;
  /** HTTP status of the last attempt, when one answered. */
  status?: number;
  /** Why the delivery failed, without the URL's path or query. */
  error?: string;
  /** The reason for the Degraded condition when not delivered. */
  reason?: 'WebhookFailed' | 'WebhookRejected';
}

export const WEBHOOK_DEFAULTS = { attempts: 5, baseDelayMs: 1000, maxDelayMs: 30_000, timeoutMs: 10_000 } as const;

/** Outcomes notified when `notify.on` is not set: every run. */
export const DEFAULT_NOTIFY_ON: readonly RunOutcome[] = ['Succeeded', 'PartiallyFailed', 'Failed'];

export function shouldNotify(outcome: RunOutcome, on: readonly RunOutcome[] | undefined): boolean {
  return (on ?? DEFAULT_NOTIFY_ON).includes(outcome);
}

/** Statuses worth retrying: the receiver may recover. Other 4xx mean the request itself is wrong. */
function retryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

export function redactUrl(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

export function backoffDelayMs(retry: number, base: number, max: number, random: () => number): number {
  const raw = Math.min(max, base * 2 ** (retry - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

export async function postRunReport(report: RunReport, opts: WebhookOptions): Promise<WebhookResult> {
  const attempts = Math.max(1, opts.attempts ?? WEBHOOK_DEFAULTS.attempts);
  const base = opts.baseDelayMs ?? WEBHOOK_DEFAULTS.baseDelayMs;
  const max = opts.maxDelayMs ?? WEBHOOK_DEFAULTS.maxDelayMs;
  const timeoutMs = opts.timeoutMs ?? WEBHOOK_DEFAULTS.timeoutMs;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = opts.random ?? Math.random;
  const where = redactUrl(opts.url);
  try {
    const u = new URL(opts.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    return { delivered: false, attempts: 0, error: `the webhook URL is not a valid http(s) URL; check the notify Secret`, reason: 'WebhookRejected' };
  }
  const body = JSON.stringify(report);
  let last: WebhookResult = { delivered: false, attempts: 0 };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await sleep(backoffDelayMs(attempt - 1, base, max, random));
    try {
      const res = await fetch(opts.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'datasync-notifier', 'x-datasync-run-id': report.id, ...opts.headers },
        body,
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
      await res.body?.cancel().catch(() => {});
      if (res.ok) return { delivered: true, attempts: attempt, status: res.status };
      last = { delivered: false, attempts: attempt, status: res.status, error: `${where} answered HTTP ${res.status}`, reason: 'WebhookFailed' };
      if (!retryableStatus(res.status)) return { ...last, reason: 'WebhookRejected' };
    } catch (err) {
      last = { delivered: false, attempts: attempt, error: `${where}: ${describe(err)}`, reason: 'WebhookFailed' };
    }
  }
  return { ...last, error: `${last.error ?? 'failed'} (after ${attempts} attempts)` };
}

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'timed out';
  // fetch wraps socket errors; the cause carries the useful code (ECONNREFUSED, ENOTFOUND).
  const detail = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
  // Never echo the URL: undici messages can contain it.
  return detail.replace(/https?:\/\/\S+/g, '(url)');
}
