import { Gauge, Registry } from "prom-client";
import type { MetricName, MonitorReport } from "./types.ts";

/**
 * Prometheus metrics of `monitor serve`. Every value is a gauge set from the latest round of
 * checks when /metrics is scraped (a count read from Kafka or Elasticsearch is a level at scrape
 * time, not a counter this process increments).
 */

interface MetricSpec {
  help: string;
  labels: readonly string[];
}

export const METRICS: Record<MetricName, MetricSpec> = {
  events_ingested: {
    help: "Events sent to Kafka by ingest runs (ops index, per file the latest count)",
    labels: [],
  },
  events_rejected: { help: "Rows rejected by ingest runs (to the DLQ)", labels: [] },
  events_processed: { help: "Events written by each sink (ops index)", labels: ["sink"] },
  dlq_messages: {
    help: "Offsets in the DLQ topic (end minus start; transaction markers included)",
    labels: [],
  },
  dlq_growth: { help: "DLQ growth since the previous round of checks", labels: [] },
  topic_messages: {
    help: "Offsets in a topic (end minus start; transaction markers included)",
    labels: ["topic"],
  },
  consumer_lag: {
    help: "Committed offset behind the end of the partition",
    labels: ["group", "topic", "partition"],
  },
  last_progress_age_seconds: { help: "Seconds since the dispatcher group last made progress", labels: [] },
  newest_processed_event_timestamp_seconds: {
    help: "Event time of the newest event in the profiles (Unix seconds)",
    labels: [],
  },
  queue_jobs: { help: "BullMQ jobs per queue and state", labels: ["queue", "state"] },
  queue_workers: { help: "BullMQ workers connected per queue", labels: ["queue"] },
  sink_latency_seconds: {
    help: "Mean seconds per range and sink over the last 15 minutes",
    labels: ["sink"],
  },
  sink_errors: { help: "Failed jobs per sink queue", labels: ["sink"] },
  elasticsearch_docs: { help: "Documents per capline alias", labels: ["index"] },
  hdfs_live_datanodes: { help: "Live HDFS DataNodes", labels: [] },
  hdfs_capacity_used_ratio: { help: "HDFS capacity used, 0 to 1", labels: [] },
  redis_used_memory_bytes: { help: "Redis used_memory", labels: [] },
  lake_newest_object_age_seconds: { help: "Age of the newest Parquet object in the lake bucket", labels: [] },
};

export const METRIC_PREFIX = "capline_";

const STATUS_VALUE = { OK: 0, WARN: 1, DOWN: 2 } as const;

export class MonitorMetrics {
  readonly registry = new Registry();
  private readonly gauges = new Map<MetricName, Gauge<string>>();
  private readonly status: Gauge<string>;
  private readonly up: Gauge<string>;
  private readonly duration: Gauge<string>;

  constructor() {
    for (const [name, spec] of Object.entries(METRICS) as [MetricName, MetricSpec][]) {
      this.gauges.set(
        name,
        new Gauge({
          name: `${METRIC_PREFIX}${name}`,
          help: spec.help,
          labelNames: [...spec.labels],
          registers: [this.registry],
        }),
      );
    }
    this.status = new Gauge({
      name: `${METRIC_PREFIX}check_status`,
      help: "Status of each check: 0 OK, 1 WARN, 2 DOWN (skipped checks are absent)",
      labelNames: ["check"],
      registers: [this.registry],
    });
    this.up = new Gauge({
      name: `${METRIC_PREFIX}check_up`,
      help: "1 when the check is OK or WARN, 0 when DOWN",
      labelNames: ["check"],
      registers: [this.registry],
    });
    this.duration = new Gauge({
      name: `${METRIC_PREFIX}check_duration_seconds`,
      help: "How long the check took",
      labelNames: ["check"],
      registers: [this.registry],
    });
  }

  /** Replaces every value with the report's: a series a check no longer reports disappears. */
  update(report: MonitorReport): void {
    this.registry.resetMetrics();
    for (const check of report.checks) {
      if (check.status === "SKIP") continue;
      this.status.set({ check: check.name }, STATUS_VALUE[check.status]);
      this.up.set({ check: check.name }, check.status === "DOWN" ? 0 : 1);
      this.duration.set({ check: check.name }, check.durationMs / 1000);
      for (const sample of check.samples) {
        const gauge = this.gauges.get(sample.metric);
        if (!gauge || !Number.isFinite(sample.value)) continue;
        gauge.set(sample.labels ?? {}, sample.value);
      }
    }
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
