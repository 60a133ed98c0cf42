// The manifest's shapes: what the planner writes under runs/<runId>/ and the worker and committer read.
import type { RunReport } from '../../api/types.ts';

export const PLAN_FILE = 'plan.json';
export const DELETES_FILE = 'deletes.jsonl';
/** Move mode: sources the planner skipped because the destination already matched. */
export const MOVE_SKIPPED_FILE = 'move-skipped.jsonl';
export const SPLITS_FILE = 'splits.jsonl';
export const REPORT_FILE = 'report.json';
export const shardFile = (i: number) => `shards/shard-${String(i).padStart(4, '0')}.jsonl`;
export const journalLog = (i: number) => `journal/shard-${String(i).padStart(4, '0')}`;

/** One byte range of a file above splitFilesLargerThan: consecutive parts of one upload. */
export interface RangeWork {
  token: string;
  index: number;
  count: number;
  firstPart: number;
  partCount: number;
  partSize: number;
  offset: number;
  length: number;
}

export interface CopyItem {
  path: string;
  /**
   * Where the worker writes when it is not `path`: a partition file staged under the
   * run's state prefix (publish: Atomic on a destination with rename); the committer renames it.
   */
  target?: string;
  size: number;
  mtimeMs: number;
  reason: string;
  range?: RangeWork;
}

export interface SplitFile {
  path: string;
  size: number;
  mtimeMs: number;
  token: string;
  ranges: number;
  partSize: number;
}

export interface PathSize { path: string; size: number }

export interface Plan {
  runId: string;
  createdAt: string;
  startTime: string;
  trigger?: RunReport['trigger'];
  shards: Array<{ index: number; files: number; bytes: number }>;
  totals: {
    /** Source files in scope after filters: copied + skipped. */
    filesExpected: number;
    bytesExpected: number;
    filesToCopy: number;
    bytesToCopy: number;
    filesSkipped: number;
    bytesSkipped: number;
    filesToDelete: number;
    bytesToDelete: number;
    /** Destination files in scope, the base of a percentage maxDelete in Sync mode. */
    destinationFiles: number;
    splitFiles: number;
  };
}

/** A journal record: a finished (or finally failed) file or range, written durably by a shard. */
export interface JournalRecord {
  path: string;
  /** Range index for split files. */
  range?: number;
  status: 'done' | 'failed';
  bytes: number;
  error?: string;
  parts?: Array<{ partNumber: number; size: number; id: string; checksum?: { algorithm: 'crc32c' | 'md5' | 'sha256'; value: string } }>;
  /**
   * A whole file written to a destination whose listings carry upload times: what it stored (size,
   * version, the mtime recorded in metadata). The commit adds it to the recorded-mtime index.
   */
  stored?: { size: number; version: string; mtimeMs: number };
}

export const journalKey = (r: { path: string; range?: number | undefined }) => (r.range === undefined ? r.path : `${r.path}\u0000${r.range}`);
