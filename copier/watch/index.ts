// Watch mode for landing directories. See watch.ts.
export { runWatch, type WatchOptions, type WatchResult, type WatchPassSummary, type PassContext, type PassOutcome } from './watch.ts';
export { systemClock, manualClock, type Clock, type ManualClock } from './clock.ts';
export { createRetryLedger, type RetryLedger, type RetryCounts } from './retry-ledger.ts';
export { pruneEmptyDirs, parentDirsOf, EmptyDirCollector, type PruneResult } from './prune-dirs.ts';
export { nextPassStart } from './schedule.ts';
export { watchLocally, stopOnSignals, type WatchLocallyOptions, type WatchPassLine } from './local.ts';
