/**
 * The dead-letter queue you can query and replay (`capline dlq stats|show|replay`): the ingester's
 * refused rows and processing's failed records, counted and shown, and refused rows validated
 * again and sent into the events topic exactly once. See docs/ingestion.md, "The DLQ".
 */
export { registerDlq } from "./cli.ts";
export { dlqShow, dlqStats, type ShowOptions, type ShowResult } from "./query.ts";
export { type ReplayMark, readMarks } from "./read.ts";
export { classifyDlqRecord, type DlqEntry, type FailedRecord, type RefusedRow } from "./records.ts";
export { type ReplayOptions, type ReplaySummary, runReplay } from "./replay.ts";
export type { DlqStats } from "./stats.ts";
