/**
 * What a monitor round produces. Pure data: the table, `--json`, `/status` and `/metrics` are all
 * renderings of one `MonitorReport`.
 */

/**
 * OK: works as it should. WARN: works, but something needs a look (lag, failed jobs, a missing
 * index). DOWN: does not answer or cannot do its job. SKIP: not checked (left out on purpose, or an
 * optional part that is not deployed); it never changes the exit code.
 */
export const STATUSES = ["OK", "WARN", "DOWN", "SKIP"] as const;
export type Status = (typeof STATUSES)[number];

/** The checks, in the order the table shows them. */
export const CHECK_NAMES = [
  "kafka",
  "elasticsearch",
  "minio",
  "hdfs",
  "redis",
  "bullmq",
  "kibana",
  "pipeline.lag",
  "pipeline.freshness",
  "pipeline.dlq",
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

/** The metrics /metrics exposes; checks fill them (see metrics.ts for help texts). */
export const METRIC_NAMES = [
  "events_ingested",
  "events_rejected",
  "events_processed",
  "dlq_messages",
  "dlq_growth",
  "topic_messages",
  "consumer_lag",
  "last_progress_age_seconds",
  "newest_processed_event_timestamp_seconds",
  "queue_jobs",
  "queue_workers",
  "sink_latency_seconds",
  "sink_errors",
  "elasticsearch_docs",
  "hdfs_live_datanodes",
  "hdfs_capacity_used_ratio",
  "redis_used_memory_bytes",
  "lake_newest_object_age_seconds",
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export interface Sample {
  metric: MetricName;
  labels?: Record<string, string>;
  value: number;
}

/** What a check function returns; the runner adds name, timing and URL. */
export interface CheckOutcome {
  status: Exclude<Status, "SKIP"> | "SKIP";
  /** One line a person can act on: what was measured, or what failed. */
  reason: string;
  /** A longer piece of advice shown under the table (e.g. the vm.max_map_count hint). */
  hint?: string;
  /**
   * Set on a WARN when the service answers but the pipeline cannot use it as it is (a topic, index
   * or bucket missing): /readyz then counts the check as not ready.
   */
  blocking?: boolean;
  /** Measured facts for `--json` (counts, per-partition lag...). */
  details?: Record<string, unknown>;
  samples?: Sample[];
}

export interface CheckResult extends CheckOutcome {
  name: CheckName;
  /** The URL a person opens to look at the service (Codespaces forwarded form when there). */
  url: string;
  /** Counted by /readyz: the pipeline cannot move data without it. */
  critical: boolean;
  durationMs: number;
  details: Record<string, unknown>;
  samples: Sample[];
}

export interface MonitorReport {
  /** The worst status among the checks (SKIP counts as OK). */
  status: Exclude<Status, "SKIP">;
  /** 0 every check OK, 1 some WARN, 2 some DOWN. */
  exitCode: 0 | 1 | 2;
  /** ISO time the round started. */
  checkedAt: string;
  durationMs: number;
  checks: CheckResult[];
}

/** Properties of the monitor's JSON whose keys are data (alias names, metric labels), never renamed. */
export const MONITOR_DATA_KEYS = ["documents", "partitions", "labels"] as const;
