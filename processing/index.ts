/**
 * Processing: Kafka ranges → BullMQ jobs → Parquet lake (MinIO + HDFS) and Elasticsearch profiles
 * and sales aggregates, exactly once. See docs/processing.md.
 */
export { type Granularity, mergeSales, type SalesDocument, salesDeltas, salesDocId } from "./aggregates.ts";
export { registerProcessing } from "./cli.ts";
export { registerCompact } from "./compact-cli.ts";
export { lakeFiles, type RangeEvent } from "./lake.ts";
export { encodeParquet, LAKE_COLUMNS } from "./parquet.ts";
export { mergeProfile, type ProfileDocument, profileDeltas } from "./profiles.ts";
export { NO_PURCHASE_SEGMENT, type RfmInput, type RfmScore, SEGMENTS, scoreRfm, segmentOf } from "./rfm.ts";
export { type ProcessOptions, type ProcessSummary, runProcess } from "./run.ts";
export { type OffsetRange, shouldApply } from "./watermark.ts";
