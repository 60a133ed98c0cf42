// After Move deletes source files, directories they leave empty are removed, deepest first, but
// never the watched root: the producer writes into it, and on a PVC it may be the mount point.
// Only backends with real directories offer removeEmptyDir; it refuses a non-empty directory, so a
// file that landed meanwhile keeps its directory.
import type { Backend } from '../backends/backend.ts';

export interface PruneResult { removed: string[]; kept: number }

export function parentDirsOf(paths: Iterable<string>): string[] {
  const dirs = new Set<string>();
  for (const p of paths) {
    const parts = p.split('/').filter(Boolean);
    for (let i = parts.length - 1; i >= 1; i--) dirs.add(parts.slice(0, i).join('/'));
  }
  // Deepest first, so a parent is tried only after its children had their chance to go.
  return [...dirs].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? -1 : 1));
}

export async function pruneEmptyDirs(source: Pick<Backend, 'features'>, deletedPaths: Iterable<string>): Promise<PruneResult> {
  const removeEmptyDir = source.features.removeEmptyDir;
  const removed: string[] = [];
  let kept = 0;
  if (!removeEmptyDir) return { removed, kept };
  const notEmpty = new Set<string>();
  for (const dir of parentDirsOf(deletedPaths)) {
    if (dir === '' || dir === '.') continue; // the root itself
    // A kept child means this parent is not empty either; skip the round trip.
    if ([...notEmpty].some((d) => d.startsWith(`${dir}/`))) { notEmpty.add(dir); kept++; continue; }
    try {
      await removeEmptyDir(dir);
      removed.push(dir);
    } catch {
      notEmpty.add(dir);
      kept++;
    }
  }
  return { removed, kept };
}

/**
 * Collects the parent directories of deleted files as the committer deletes them, so memory grows
 * with directories, not files; `prune` then removes the ones left empty.
 */
export class EmptyDirCollector {
  readonly #dirs = new Set<string>();
  add(deletedPath: string): void {
    const slash = deletedPath.lastIndexOf('/');
    if (slash > 0) this.#dirs.add(deletedPath.slice(0, slash));
  }
  prune(source: Pick<Backend, 'features'>): Promise<PruneResult> {
    // A fake file name per directory: parentDirsOf then walks every ancestor of it.
    return pruneEmptyDirs(source, [...this.#dirs].map((d) => `${d}/_`));
  }
}
