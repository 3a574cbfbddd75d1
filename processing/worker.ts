import type { Client } from "@elastic/elasticsearch";
import { type Job, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { describeError } from "../core/errors.ts";
import type { Logger } from "../core/logging.ts";
import { aliasName } from "../core/schema/indices.ts";
import { archiveRange, type LakeStore } from "./archive-sink.ts";
import { indexRange } from "./index-sink.ts";
import {
  ARCHIVE_QUEUE,
  INDEX_QUEUE,
  loadPayload,
  type RangeJobData,
  RFM_QUEUE,
  type SinkName,
} from "./jobs.ts";
import { recomputeRfm } from "./rfm-job.ts";
import { rangeId } from "./watermark.ts";

/**
 * Workers: BullMQ consumers of the archive and index queues. Run any number of them, in as many
 * processes as you like; every job is idempotent, so a job that runs twice (a stalled lock, a
 * worker killed after writing but before acknowledging) changes nothing the second time.
 */

export interface WorkerOptions {
  queuePrefix: string;
  connection: { url: string; maxRetriesPerRequest: null };
  /** Jobs run at once per queue in this process. @defaultValue 2 */
  concurrency?: number;
  indexPrefix: string;
  /** Lake stores switched on (config.archive). */
  stores: readonly LakeStore[];
  /**
   * Lock of a running job; a worker killed with -9 gives its job up after this long.
   * @defaultValue 30000
   */
  lockDurationMs?: number;
}

/** Capped exponential backoff between attempts: an outage of minutes costs at most 30 s of delay. */
export function cappedBackoff(attemptsMade: number): number {
  return Math.min(30_000, 250 * 2 ** Math.min(attemptsMade, 10));
}

export interface WorkerStats {
  archived: number;
  indexed: number;
  failedAttempts: number;
}

export class Workers {
  readonly stats: WorkerStats = { archived: 0, indexed: 0, failedAttempts: 0 };
  private readonly workers: Worker<RangeJobData>[] = [];

  constructor(
    private readonly es: Client,
    private readonly redis: Redis,
    private readonly options: WorkerOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    const common = {
      connection: this.options.connection,
      prefix: this.options.queuePrefix,
      concurrency: this.options.concurrency ?? 2,
      lockDuration: this.options.lockDurationMs ?? 30_000,
      // Look for jobs of dead workers as often as a lock can expire.
      stalledInterval: this.options.lockDurationMs ?? 30_000,
      // A job whose worker died is run again, not failed: a killed worker must not lose a range.
      maxStalledCount: 1_000_000,
      settings: { backoffStrategy: cappedBackoff },
    };
    for (const sink of [ARCHIVE_QUEUE, INDEX_QUEUE] as const) {
      const worker = new Worker<RangeJobData>(sink, (job) => this.run(sink, job), common);
      worker.on("failed", (job, error) => {
        this.stats.failedAttempts++;
        this.log.warn(
          {
            sink,
            range: job ? rangeId(job.data) : undefined,
            attempt: job?.attemptsMade,
            error: describeError(error),
          },
          "job attempt failed; it will be retried",
        );
      });
      worker.on("error", (error) => this.log.warn({ sink, error: describeError(error) }, "worker error"));
      this.workers.push(worker);
    }
    // RFM runs one at a time (it reads and scores every purchaser).
    const rfm = new Worker(
      RFM_QUEUE,
      async () => {
        const result = await recomputeRfm(this.es, this.options.indexPrefix);
        this.log.info(result, "RFM scores recomputed");
        return result;
      },
      { ...common, concurrency: 1 },
    );
    rfm.on("failed", (_job, error) =>
      this.log.warn({ error: describeError(error) }, "RFM run failed; next run retries"),
    );
    rfm.on("error", (error) =>
      this.log.warn({ sink: RFM_QUEUE, error: describeError(error) }, "worker error"),
    );
    this.workers.push(rfm as unknown as Worker<RangeJobData>);
  }

  /** Finishes the jobs in hand and stops taking new ones. */
  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }

  private async run(sink: SinkName, job: Job<RangeJobData>): Promise<unknown> {
    const started = performance.now();
    const data = job.data;
    const rows = await loadPayload(this.redis, data);
    let result: unknown;
    if (sink === ARCHIVE_QUEUE) {
      result = await archiveRange(this.options.stores, data.topic, data.partition, rows);
      this.stats.archived += rows.length;
    } else {
      result = await indexRange(this.es, this.options.indexPrefix, data, rows);
      this.stats.indexed += rows.length;
    }
    await this.opsRecord(sink, data, rows.length, (performance.now() - started) / 1000);
    return result;
  }

  /** One ops document per range and sink, best effort: the pipeline never waits on its own telemetry. */
  private async opsRecord(
    sink: SinkName,
    data: RangeJobData,
    events: number,
    seconds: number,
  ): Promise<void> {
    try {
      await this.es.index({
        index: aliasName(this.options.indexPrefix, "ops"),
        id: `process:${rangeId(data)}:${sink}`,
        document: {
          "@timestamp": new Date().toISOString(),
          kind: "process",
          topic: data.topic,
          partition: data.partition,
          first_offset: data.first,
          last_offset: data.last,
          events,
          sink,
          dlq: data.dlq,
          seconds,
          events_per_second: seconds > 0 ? events / seconds : events,
          status: "ok",
        },
      });
    } catch (error) {
      this.log.debug({ error: describeError(error) }, "ops record not written");
    }
  }
}
