// Partition awareness for the planner and committer. See README.md for the contract.
export { parseDurationMs } from './duration.ts';
export { compileLayout, type PartitionLayout, type PartitionRef, type PartitionMatch, type Granularity } from './layout.ts';
export { resolvePartitionSpec, DEFAULT_SUCCESS_MARKER, type PartitionSpec } from './spec.ts';
export {
  classifyPartitions, createPartitionFilter, readyMarkerProbe, filterListing, partitionState, isMarkerFile,
  isDestinationMarker, byStartThenKey,
  type PartitionState, type EntryDecision, type EntryVerdict, type ClassifiedPartition, type PartitionClassification,
  type PartitionFilter, type ReadinessProbe,
} from './classify.ts';
export {
  publishPartition, stagingPathFor, stagesPartitions, markerPathOf, STATE_PREFIX,
  type StagedFile, type SuccessMarkerBody, type PublishResult,
} from './publish.ts';
export { computeWatermark, type PartitionOutcome } from './watermark.ts';
export { partitionReport, type PartitionRunFacts } from './report.ts';
export { createPartitionPlanner, commitPartitions, PARTITIONS_FILE, WATERMARK_FILE, type PartitionPlanner, type PartitionPlanSummary, type CommitPartitionsInput, type ScopeVerdict } from './engine.ts';
export { readMarker, markerIsStale, destinationFiles, type MarkerFile } from './publish.ts';
