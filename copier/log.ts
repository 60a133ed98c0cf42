// Structured logs go to stderr so stdout stays free for the JSON report. Messages never carry
// credentials: backends only ever log their `location`, which is built without secrets.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, level = process.env['DATASYNC_LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}
