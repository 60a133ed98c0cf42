// When the next pass starts. Fixed-rate like a cron: passes start on the interval grid anchored at
// the first pass, so timing does not drift; a pass that overruns makes the loop skip the grid
// points it missed instead of running passes back to back (passes never overlap).
export function nextPassStart(firstStartMs: number, intervalMs: number, lastStartMs: number, lastEndMs: number): number {
  if (intervalMs <= 0) return lastEndMs;
  const afterStart = Math.floor((lastStartMs - firstStartMs) / intervalMs) + 1;
  const notBeforeEnd = Math.ceil((lastEndMs - firstStartMs) / intervalMs);
  return firstStartMs + Math.max(afterStart, notBeforeEnd) * intervalMs;
}
