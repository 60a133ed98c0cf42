// deletion.maxDelete: the guard for Sync (destination extras) and Move (sources). When it trips,
// nothing at all is deleted.
import type { RunOptions } from '../options.ts';

export interface GuardVerdict { allowed: boolean; limit: number; message?: string }

export function checkDeleteGuard(what: string, deletions: number, base: number, maxDelete: RunOptions['maxDelete']): GuardVerdict {
  const limit = 'count' in maxDelete ? maxDelete.count : Math.floor((base * maxDelete.percent) / 100);
  if (deletions <= limit) return { allowed: true, limit };
  const pct = base > 0 ? ` (${((deletions / base) * 100).toFixed(1)}% of ${base})` : '';
  const rule = 'count' in maxDelete ? `${maxDelete.count} files` : `${maxDelete.percent}% = ${limit} files`;
  return {
    allowed: false,
    limit,
    message: `maxDelete guard tripped: this run would delete ${deletions} ${what}${pct}, over deletion.maxDelete (${rule}); nothing was deleted. If that is intended, raise deletion.maxDelete.`,
  };
}
