import type { Client } from "@elastic/elasticsearch";
import { type Job, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { describeError } from "../core/errors.ts";
import type { Logger } from "../core/logging.ts";
import { aliasName, rangeId } from "../core/names.ts";
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
import { settlesWithin, sleep } from "./retry.ts";
import { recomputeRfm } from "./rfm-job.ts";

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

/**
 * A BullMQ worker that counts the jobs in hand: from the start of the job until BullMQ has
 * recorded its end in Redis (or given up on it), which is what a clean stop waits for.
 */
class TrackedWorker<T = RangeJobData> extends Worker<T> {
  readonly inHand = new Set<Promise<unknown>>();

  override processJob(...args: Parameters<Worker<T>["processJob"]>): ReturnType<Worker<T>["processJob"]> {
    const processing = super.processJob(...args);
    this.inHand.add(processing);
    const forget = () => this.inHand.delete(processing);
    processing.then(forget, forget);
    return processing;
  }
}

export class Workers {
  readonly stats: WorkerStats = { archived: 0, indexed: 0, failedAttempts: 0 };
  private readonly workers: TrackedWorker[] = [];

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
      const worker = new TrackedWorker(sink, (job) => this.run(sink, job), common);
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
    const rfm = new TrackedWorker(
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
    this.workers.push(rfm);
  }

  /**
   * Stops taking jobs, gives the jobs in hand up to `graceMs` to finish and be recorded, then
   * closes the connections without waiting on Redis. Bounded on purpose: BullMQ's graceful
   * `close()` disconnects the blocking connection and waits for its "end" event, which never
   * comes while that connection is reconnecting (Redis down, or restarted and not reconnected
   * yet), so a process could finish its work and never exit. A job cut short keeps its lock and
   * is run again once the lock expires (idempotent).
   */
  async stop(graceMs = 8000): Promise<void> {
    await Promise.all(this.workers.map((w) => w.pause(true)));
    const inHand = () => this.workers.reduce((n, w) => n + w.inHand.size, 0);
    const deadline = performance.now() + graceMs;
    while (inHand() > 0 && performance.now() < deadline) await sleep(50);
    if (inHand() > 0)
      this.log.warn(
        { jobs: inHand() },
        "jobs still in hand at shutdown; they run again once their lock expires",
      );
    // force: no wait for jobs (done above) nor for a reply from Redis.
    await settlesWithin(Promise.all(this.workers.map((w) => w.close(true))), 2000);
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
          duplicates: data.duplicates ?? 0,
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
