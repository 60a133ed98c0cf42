// THE decision: whether a path is copied, skipped or deleted, and why. Nothing else in the code
// base decides this; the planner, `datasync plan` and resume all ask this one function.
import type { Checksum, Entry } from '../backends/backend.ts';
import type { CompareMode, Mode } from '../../api/types.ts';

export type Action = 'copy' | 'skip' | 'delete' | 'keep';
export interface Decision { action: Action; reason: string }

/** Object stores keep ms; some filesystems keep whole seconds. Equal within this window. */
export const MODTIME_WINDOW_MS = 1000;

export interface DecideInput {
  src?: Entry | undefined;
  dst?: Entry | undefined;
  mode: Mode;
  compare: CompareMode;
  /** Whole-object checksums, needed only for compare Checksum when the sizes match. */
  srcChecksum?: Checksum | undefined;
  dstChecksum?: Checksum | undefined;
}

export function decide(i: DecideInput): Decision {
  if (!i.src) {
    return i.mode === 'Sync' ? { action: 'delete', reason: 'not in source (Sync)' } : { action: 'keep', reason: 'only in destination' };
  }
  if (!i.dst) return { action: 'copy', reason: 'new' };
  if (i.compare === 'Always') return { action: 'copy', reason: 'compare Always' };
  if (i.src.size !== i.dst.size) return { action: 'copy', reason: `size differs (${i.src.size} ≠ ${i.dst.size})` };
  switch (i.compare) {
    case 'SizeOnly':
      return { action: 'skip', reason: 'same size' };
    case 'SizeAndModTime':
      if (Math.abs(i.src.mtimeMs - i.dst.mtimeMs) < MODTIME_WINDOW_MS) return { action: 'skip', reason: 'same size and modification time' };
      return { action: 'copy', reason: `modification time differs (${new Date(i.src.mtimeMs).toISOString()} vs ${new Date(i.dst.mtimeMs).toISOString()})` };
    case 'Checksum':
      if (!i.srcChecksum || !i.dstChecksum || i.srcChecksum.algorithm !== i.dstChecksum.algorithm) return { action: 'copy', reason: 'no comparable checksum' };
      if (i.srcChecksum.value === i.dstChecksum.value) return { action: 'skip', reason: `same ${i.srcChecksum.algorithm}` };
      return { action: 'copy', reason: `${i.srcChecksum.algorithm} differs` };
  }
}

/** What decide() needs beyond the listing entries, so the planner fetches only that. */
export function needsDetail(i: { src?: Entry | undefined; dst?: Entry | undefined; compare: CompareMode }): 'mtime' | 'checksum' | undefined {
  if (!i.src || !i.dst || i.src.size !== i.dst.size) return undefined;
  if (i.compare === 'SizeAndModTime') return 'mtime';
  if (i.compare === 'Checksum') return 'checksum';
  return undefined;
}
