// The run config every worker reads (docs/design.md): { runId, trigger, namespace?, name?, spec }.
import { readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { DataSyncSpec, RunReport } from '../../api/types.ts';
import { DataSyncError } from '../errors.ts';
import { containerPath } from './container-path.ts';

export interface RunConfig {
  runId: string;
  trigger: NonNullable<RunReport['trigger']>;
  namespace?: string;
  name?: string;
  spec: DataSyncSpec;
  /**
   * The time the run plans as (ISO 8601): filters.minAge and partitions.lookback are measured from
   * it. A scheduled run can use its scheduled time; tests simulate days. Default: the wall clock.
   */
  asOf?: string;
}

/** "20261121-1415-7f3a": sortable by start time, unique enough per DataSync. */
export function newRunId(now = new Date()): string {
  const iso = now.toISOString();
  return `${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 13)}${iso.slice(14, 16)}-${randomBytes(2).toString('hex')}`;
}

export function readRunConfig(file: string): RunConfig {
  let cfg: RunConfig;
  try {
    cfg = JSON.parse(readFileSync(containerPath(file), 'utf8')) as RunConfig;
  } catch (err) {
    throw new DataSyncError(`cannot read run config ${file}: ${(err as Error).message}`, { code: 'InvalidConfig', side: 'config', cause: err });
  }
  if (!cfg || typeof cfg.runId !== 'string' || !/^[A-Za-z0-9._-]+$/.test(cfg.runId) || typeof cfg.spec !== 'object') {
    throw new DataSyncError(`run config ${file} needs a runId ([A-Za-z0-9._-]+) and a spec`, { code: 'InvalidConfig', side: 'config' });
  }
  return cfg;
}

export function writeRunConfig(file: string, cfg: RunConfig): void {
  writeFileSync(file, JSON.stringify(cfg, null, 2), { mode: 0o600 });
}
