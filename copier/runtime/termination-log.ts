// Each worker's final summary goes to the termination log (a pod's terminationMessagePath), which
// Kubernetes truncates at 4 KiB: keep it under that by shrinking the failedFiles sample.
import { existsSync, writeFileSync } from 'node:fs';
import { containerPath } from './container-path.ts';

const LIMIT = 4000;

export function terminationLogPath(): string | undefined {
  const configured = process.env['DATASYNC_TERMINATION_LOG'];
  if (configured) return containerPath(configured);
  const standard = containerPath('/dev/termination-log');
  return existsSync(standard) ? standard : undefined;
}

export function boundedSummary(summary: Record<string, unknown>): string {
  const copy: Record<string, unknown> = { ...summary };
  let text = JSON.stringify(copy);
  let sample = Array.isArray(copy['failedFiles']) ? [...(copy['failedFiles'] as Array<{ path: string; error: string }>)] : undefined;
  while (Buffer.byteLength(text) > LIMIT && sample && sample.length) {
    sample = sample.slice(0, Math.floor(sample.length / 2)).map((f) => ({ path: f.path.slice(0, 300), error: f.error.slice(0, 300) }));
    copy['failedFiles'] = sample;
    text = JSON.stringify(copy);
  }
  if (Buffer.byteLength(text) > LIMIT) {
    delete copy['failedFiles'];
    if (typeof copy['message'] === 'string') copy['message'] = (copy['message'] as string).slice(0, 1000);
    text = JSON.stringify(copy);
  }
  return text;
}

export function writeTerminationLog(summary: Record<string, unknown>): void {
  const file = terminationLogPath();
  if (!file) return;
  try {
    writeFileSync(file, boundedSummary(summary));
  } catch {
    // Best effort: the report is also in the state location.
  }
}
