/**
 * Ingestion: sample data (`capline generate`) and the validating, resumable CSV-to-Kafka ingester
 * (`capline ingest`). See docs/ingestion.md.
 */
export { registerIngestion } from "./commands.ts";
export { CsvParser, type CsvRecord, MAX_RAW_CHARS } from "./csv-parser.ts";
export { type GenerateOptions, type GenerateSummary, generate } from "./generator.ts";
export { type ColumnMap, parseMapOption, ROW_FIELDS, resolveHeader } from "./header.ts";
export { runIngest } from "./ingest.ts";
export { type Checkpoint, parseCheckpoint } from "./kafka-sink.ts";
export {
  DEFAULT_DUPLICATE_WINDOW,
  eventIdOf,
  parsePrice,
  type RowLimits,
  RowValidator,
  rawWasCut,
  rowLimits,
} from "./rows.ts";
export { parseTimestamp } from "./timestamp.ts";
export type { FileSummary, IngestOptions, IngestSummary } from "./types.ts";
