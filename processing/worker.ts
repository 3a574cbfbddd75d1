import type { Client } from "@elastic/elasticsearch";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { describeError } from "../core/errors.ts";
import type { Logger } from "../core/logging.ts";
import { aliasName, rangeId, recentDlqKey } from "../core/names.ts";
import { archiveRange, type LakeStore } from "./archive-sink.ts";
import type { DlqWriter, PoisonRecord } from "./dlq.ts";
import { WriteCache } from "./es-writer.ts";
import { Tombstones } from "./forget/tombstones.ts";
import { indexRange } from "./index-sink.ts";
import {
  ARCHIVE_QUEUE,
  INDEX_QUEUE,
  loadPayload,
  type RangeJobData,
  RFM_QUEUE,
  type SinkName,
} from "./jobs.ts";
import type { PayloadCache } from "./payload-cache.ts";
import { jobBackoffMs, settlesWithin, toJobError } from "./retry.ts";
import { recomputeRfm } from "./rfm-job.ts";

/**
 * Workers: BullMQ consumers of the archive and index queues. Run any number of them, in as many
 * processes as you like; every job is idempotent, so a job that runs twice (a stalled lock, a
 * worker killed after writing but before acknowledging) changes nothing the second time.
 *
 * Failures (processing/retry.ts): an error that can pass with time fails the attempt and BullMQ
 * runs the job again with jittered backoff; one that cannot becomes an `UnrecoverableError` and
 * fails the job (counted in `failedJobs`, shown by `capline monitor` with its reason). A record a
 * sink refuses for what it is goes to the DLQ, and the job completes.
 */

export interface WorkerOptions {
  queuePrefix: string;
  connection: { url: string; maxRetriesPerRequest: null };
  /** Jobs run at once per queue in this process. @defaultValue 2 */
  concurrency?: number;
  indexPrefix: string;
  /** Lake stores switched on (config.archive). */
  stores: readonly LakeStore[];
  /** Where poison records go (the DLQ topic). */
  dlq: DlqWriter;
  /** Decoded payloads of this process (shared with a dispatcher in the same process). */
  payloads?: Pick<PayloadCache, "get" | "remember">;
  /**
   * Bytes of documents (as JSON) kept per index from this process's own writes (the writer's
   * first-round guess; processing/es-writer.ts).
   * @defaultValue 24 MiB
   */
  writeCacheBytes?: number;
  /**
   * Lock of a running job; a worker killed with -9 gives its job up after this long.
   * @defaultValue 30000
   */
  lockDurationMs?: number;
}

export interface WorkerStats {
  archived: number;
  indexed: number;
  /** Job attempts that failed and will be retried (a sink hiccuped or was down). */
  failed_attempts: number;
  /** Jobs that failed for good: an error no retry fixes, or their attempts used up. */
  failed_jobs: number;
  /** Records the sinks refused, sent to the DLQ. */
  poison: number;
}

/** Newest poison records kept in Redis for `capline monitor`. */
const RECENT_DLQ = 100;

export class Workers {
  readonly stats: WorkerStats = { archived: 0, indexed: 0, failed_attempts: 0, failed_jobs: 0, poison: 0 };
  private readonly workers: Worker[] = [];
  /** Jobs whose processor is running in this process. */
  private running = 0;
  private readonly writeCache: WriteCache;
  /** The forget list: forgotten customers' events are dropped before every write. */
  private readonly tombstones: Tombstones;

  constructor(
    private readonly es: Client,
    private readonly redis: Redis,
    private readonly options: WorkerOptions,
    private readonly log: Logger,
  ) {
    this.writeCache = new WriteCache(options.writeCacheBytes);
    this.tombstones = new Tombstones(redis, options.queuePrefix);
  }

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
      settings: { backoffStrategy: (attemptsMade: number) => jobBackoffMs(attemptsMade) },
    };
    for (const sink of [ARCHIVE_QUEUE, INDEX_QUEUE] as const) {
      const worker = new Worker<RangeJobData>(
        sink,
        (job, _token, signal) => this.process(sink, job, signal),
        common,
      );
      worker.on("failed", (job, error) => {
        const final =
          error instanceof UnrecoverableError ||
          (job !== undefined && job.attemptsMade >= (job.opts.attempts ?? 1));
        const facts = {
          sink,
          range: job ? rangeId(job.data) : undefined,
          attempt: job?.attemptsMade,
          error: describeError(error),
        };
        if (final) {
          this.stats.failed_jobs++;
          this.log.error(
            facts,
            "job failed for good; its partition waits at this range (see `capline monitor`)",
          );
        } else {
          this.stats.failed_attempts++;
          this.log.warn(facts, "job attempt failed; it will be retried");
        }
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
    this.workers.push(rfm);
  }

  /**
   * Stops taking jobs, gives the jobs in hand up to `graceMs` to finish and be recorded (BullMQ's
   * `pause()`, which waits for them), then aborts what still runs (the processors' signals end
   * their retries' waits) and closes the connections without waiting on Redis. Bounded on
   * purpose: BullMQ's graceful `close()` disconnects the blocking connection and waits for its
   * "end" event, which never comes while that connection is reconnecting (Redis down, or
   * restarted and not reconnected yet), so a process could finish its work and never exit. A job
   * cut short keeps its lock and is run again once the lock expires (idempotent).
   */
  async stop(graceMs = 8000): Promise<void> {
    const paused = await settlesWithin(Promise.all(this.workers.map((w) => w.pause())), graceMs);
    if (!paused)
      this.log.warn(
        { jobs: this.running },
        "jobs still in hand at shutdown; they run again once their lock expires",
      );
    for (const w of this.workers) w.cancelAllJobs("capline process is stopping");
    // force: no wait for jobs (done above) nor for a reply from Redis.
    await settlesWithin(Promise.all(this.workers.map((w) => w.close(true))), 2000);
    await settlesWithin(this.options.dlq.close(), 1000);
  }

  private async process(sink: SinkName, job: Job<RangeJobData>, signal?: AbortSignal): Promise<unknown> {
    this.running++;
    try {
      return await this.run(sink, job, signal);
    } catch (error) {
      throw toJobError(error);
    } finally {
      this.running--;
    }
  }

  private async run(sink: SinkName, job: Job<RangeJobData>, signal?: AbortSignal): Promise<unknown> {
    const started = performance.now();
    const data = job.data;
    const opts = signal ? { signal } : {};
    // Forgotten customers (capline forget) are dropped before any sink sees the range, however it
    // came (a replay, a redelivery, a job queued before the erasure). An index job also waits while
    // a forget run plans its decrements (docs/forget.md, "The race with running jobs").
    const { rows, forgotten } = await this.tombstones.filter(
      await loadPayload(this.redis, data, this.options.payloads),
      { waitForLease: sink === INDEX_QUEUE, ...opts },
    );
    const result =
      sink === ARCHIVE_QUEUE
        ? await archiveRange(this.options.stores, data.topic, data.partition, rows, opts)
        : await indexRange(this.es, this.options.indexPrefix, data, rows, {
            ...opts,
            cache: this.writeCache,
          });
    // Durable in the DLQ before the job is reported done: a range is committed only after both
    // of its jobs completed, so a poison record can never be lost between the two.
    if (result.poison.length > 0) {
      await this.options.dlq.send(result.poison);
      this.stats.poison += result.poison.length;
      this.log.warn(
        { sink, range: rangeId(data), records: result.poison.length, first: result.poison[0]?.detail },
        "records the sink refused went to the DLQ; the range goes on",
      );
      await this.noteRecent(result.poison);
    }
    const written = rows.length - result.poison.length;
    if (sink === ARCHIVE_QUEUE) this.stats.archived += written;
    else this.stats.indexed += written;
    await this.opsRecord(
      sink,
      data,
      written,
      data.dlq + result.poison.length,
      (performance.now() - started) / 1000,
    );
    // The job's return value is kept in Redis with the job: the counts, not the records.
    const { poison, ...counts } = result;
    return { ...counts, poison: poison.length, forgotten };
  }

  /** The newest poison records in a bounded Redis list, for `capline monitor`; best effort. */
  private async noteRecent(records: readonly PoisonRecord[]): Promise<void> {
    const key = recentDlqKey(this.options.queuePrefix);
    const at = new Date().toISOString();
    const entries = records.slice(-RECENT_DLQ).map((r) =>
      JSON.stringify({
        at,
        topic: r.topic,
        partition: r.partition,
        offset: r.offset,
        reason: r.reason,
        sink: r.sink,
        detail: r.detail.slice(0, 500),
      }),
    );
    try {
      await settlesWithin(
        this.redis
          .multi()
          .lpush(key, ...entries)
          .ltrim(key, 0, RECENT_DLQ - 1)
          .exec(),
        2000,
      );
    } catch (error) {
      this.log.debug({ error: describeError(error) }, "recent DLQ list not updated");
    }
  }

  /** One ops document per range and sink, best effort: the pipeline never waits on its own telemetry. */
  private async opsRecord(
    sink: SinkName,
    data: RangeJobData,
    events: number,
    dlq: number,
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
          dlq,
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
