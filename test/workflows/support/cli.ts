// Runs the real `datasync` CLI as a child process, the way a user does, and collects its output.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { DataSyncSpec, RunReport } from '../../../api/types.ts';

const BIN = path.resolve(import.meta.dirname, '../../../bin/datasync.js');

export interface CliResult { code: number | null; stdout: string; stderr: string }

export function writeSpec(file: string, spec: DataSyncSpec): string {
  writeFileSync(file, stringify({ apiVersion: 'datasync.dev/v1alpha1', kind: 'DataSync', metadata: { name: 'workflow' }, spec }));
  return file;
}

export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; onStdoutLine?: (line: string) => void; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`datasync ${args.join(' ')} timed out; stderr:\n${stderr}`)); }, opts.timeoutMs ?? 120_000);
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      pending += c.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        opts.onStdoutLine?.(line);
      }
    });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** `datasync run` prints the report as one pretty JSON document on stdout. */
export function reportOf(r: CliResult): RunReport {
  try {
    return JSON.parse(r.stdout) as RunReport;
  } catch {
    throw new Error(`no JSON report on stdout (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}
