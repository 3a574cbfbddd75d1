import type { RowCounts } from "./rows.ts";

export interface IngestOptions {
  files: string[];
  /** @defaultValue config.kafka.topic */
  topic?: string;
  /** @defaultValue config.kafka.dlqTopic */
  dlqTopic?: string;
  /** Events per second, at most. */
  rate?: number;
  /** Pace by event time: 60 = one hour of data per minute. */
  replaySpeed?: number;
  /** Stop after this many events sent (this run, all files); a rerun continues. */
  maxEvents?: number;
  /** `--map csvColumn=field,...` */
  map?: string;
  /** Path of a CSV file receiving every refused row with its line and reason. */
  rejects?: string;
  /** Replace an existing --rejects file (otherwise refused). */
  overwrite?: boolean;
  /** Send a file again even if it was ingested completely before. */
  force?: boolean;
  /** Rows per Kafka transaction. @defaultValue 20000 */
  chunkRows?: number;
  /** Accepted rows remembered for duplicate detection. @defaultValue 100000 */
  duplicateWindow?: number;
  /**
   * Parse, validate and encode in a worker thread (paced runs and stdin always run in-process).
   * @defaultValue true
   */
  parseWorker?: boolean;
  /** Stops the ingest cleanly (Ctrl-C): the chunk under way is committed, a rerun resumes. */
  signal?: AbortSignal;
}

export type FileStatus = "done" | "stopped" | "interrupted" | "already_ingested";

export interface IngestCounts extends RowCounts {
  seconds: number;
  rowsPerSecond: number;
}

export interface FileSummary extends IngestCounts {
  file: string;
  fileId: string;
  status: FileStatus;
  format: string | undefined;
  /** The line this run resumed after (0: from the start). */
  resumedFromLine: number;
  /** Last line committed. */
  lastLine: number;
  bytes: number;
  mbPerSecond: number;
  blankLines: number;
  transactions: number;
  /** What this run itself sent (the totals above cover the whole file, earlier runs included). */
  thisRun: { sent: number; rejected: number; duplicates: number };
  /** When an already-ingested file was refused: the earlier run's finishing time. */
  ingestedAt?: string;
}

export interface IngestSummary extends IngestCounts {
  ok: true;
  runId: string;
  topic: string;
  dlqTopic: string;
  files: FileSummary[];
}
