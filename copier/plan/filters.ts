// Which paths take part in a run. Path globs apply to both sides, so an excluded destination file
// is neither compared nor deleted; age and size apply to source files only.
import type { Entry } from '../backends/backend.ts';
import type { RunOptions } from '../options.ts';
import { globToRegExp } from './glob.ts';

export type FilterVerdict = { included: true } | { included: false; reason: string };

export interface PathFilter {
  path(p: string): FilterVerdict;
  source(e: Entry): FilterVerdict;
}

export function createFilter(filters: RunOptions['filters'], now: number): PathFilter {
  const include = filters.include.map((g) => ({ g, re: globToRegExp(g) }));
  const exclude = filters.exclude.map((g) => ({ g, re: globToRegExp(g) }));
  const byPath = (p: string): FilterVerdict => {
    if (include.length && !include.some((i) => i.re.test(p))) return { included: false, reason: 'matches no include pattern' };
    const ex = exclude.find((e) => e.re.test(p));
    if (ex) return { included: false, reason: `excluded by '${ex.g}'` };
    return { included: true };
  };
  return {
    path: byPath,
    source(e) {
      const v = byPath(e.path);
      if (!v.included) return v;
      const age = now - e.mtimeMs;
      if (filters.minAgeMs !== undefined && age < filters.minAgeMs) return { included: false, reason: 'younger than minAge' };
      if (filters.maxAgeMs !== undefined && age > filters.maxAgeMs) return { included: false, reason: 'older than maxAge' };
      if (filters.minSize !== undefined && e.size < filters.minSize) return { included: false, reason: 'smaller than minSize' };
      if (filters.maxSize !== undefined && e.size > filters.maxSize) return { included: false, reason: 'larger than maxSize' };
      return { included: true };
    },
  };
}
