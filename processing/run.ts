import { Queue } from "bullmq";
import { createElasticsearch } from "../core/clients/elasticsearch.ts";
import { createMinio } from "../core/clients/minio.ts";
import { checkRedisAuth, createRedis } from "../core/clients/redis.ts";
import { createWebHdfs } from "../core/clients/webhdfs.ts";
import type { Config } from "../core/config/index.ts";
import { CaplineError, describeError } from "../core/errors.ts";
import type { KafkaAdmin } from "../core/kafka/index.ts";
import { logger } from "../core/logging.ts";
import { aliasName, dispatcherGroupOf } from "../core/names.ts";
import { INDEX_NAMES } from "../core/schema/indices.ts";
import { hdfsStore, type LakeStore, minioStore } from "./archive-sink.ts";
import type { Dispatcher, DispatcherStats } from "./dispatch/index.ts";
import { kafkaDlqWriter } from "./dlq.ts";
import { ARCHIVE_QUEUE, INDEX_QUEUE, type RangeJobData, RFM_QUEUE } from "./jobs.ts";
import { DecodedPayloads } from "./payload-cache.ts";
import { retry, settlesWithin, sleep } from "./retry.ts";
import { type RfmRunResult, recomputeRfm } from "./rfm-job.ts";
import { type WorkerStats, Workers } from "./worker.ts";

/** `capline process`: the dispatcher, the workers, or both in one process. */

export type Role = "all" | "dispatcher" | "worker";

export interface ProcessOptions {
  role: Role;
  /** Jobs at once per queue in this process. @defaultValue 2 */
  concurrency?: number;
  /** Exit once every partition is committed to its end and the queues are empty. */
  untilIdle?: boolean;
  rangeSize?: number;
  maxInFlight?: number;
  /** Job lock; a killed worker's job runs again after this long. @defaultValue 30000 */
  lockMs?: number;
  /** Period of the RFM recomputation job (0: never). @defaultValue 300000 */
  rfmEveryMs?: number;
  /** Called every `progressEveryMs` with the figures so far and the backlog. */
  onProgress?: (p: ProcessProgress) => void;
  /** @defaultValue 5000 */
  progressEveryMs?: number;
  /** Resolves to stop the run (SIGINT/SIGTERM). */
  stopSignal?: Promise<unknown>;
}

export interface ProcessSummary {
  role: Role;
  status: "idle" | "stopped";
  seconds: number;
  dispatcher?: DispatcherStats;
  workers?: WorkerStats;
  /** The RFM run made before exiting with --until-idle (dispatcher or all). */
  rfm?: RfmRunResult;
  events_per_second: number;
}

export interface ProcessProgress extends ProcessSummary {
  /** Messages the dispatcher group committed since this run started (undefined: Kafka did not answer). */
  committed: number | undefined;
  /** Messages of the topic not committed yet: what is left to do. */
  backlog: number | undefined;
}

/** Per partition of the events topic: its end offset and the dispatcher group's committed offset. */
async function groupPosition(
  config: Config,
  admin: KafkaAdmin,
): Promise<Array<{ partition: number; high: number; low: number; committed: number }>> {
  const topic = config.kafka.topic;
  const [ends, done] = await Promise.all([
    admin.offsets(topic),
    admin.committedOffsets(dispatcherGroupOf(config.kafka.clientId), topic),
  ]);
  return ends.map((end) => ({ ...end, committed: done.get(end.partition) ?? -1 }));
}

/** Committed messages and the messages left, summed over the partitions. */
async function backlogOf(config: Config, admin: KafkaAdmin): Promise<{ committed: number; backlog: number }> {
  let committed = 0;
  let backlog = 0;
  for (const p of await groupPosition(config, admin)) {
    // No commit yet: everything the broker still holds is left to do.
    const from = p.committed >= 0 ? p.committed : p.low;
    committed += from;
    backlog += Math.max(p.high - from, 0);
  }
  return { committed, backlog };
}

/**
 * Jobs that failed for good since `sinceMs` (their error cannot pass with time, or their attempts
 * ran out): what `--until-idle` stops on, with the reasons BullMQ kept.
 */
export async function failedJobs(
  queues: Queue<RangeJobData>[],
  sinceMs: number,
): Promise<Array<{ queue: string; job: string; reason: string }>> {
  const out: Array<{ queue: string; job: string; reason: string }> = [];
  for (const queue of queues) {
    if (((await queue.getJobCounts("failed")).failed ?? 0) === 0) continue;
    for (const job of await queue.getFailed(0, 99))
      if ((job.finishedOn ?? 0) >= sinceMs)
        out.push({ queue: queue.name, job: job.id ?? "?", reason: job.failedReason ?? "unknown" });
  }
  return out;
}

/** Longest the dispatcher's and the workers' shutdown may take (they run side by side). */
const STOP_BUDGET_MS = 7000;

export function lakeStores(config: Config): LakeStore[] {
  const stores: LakeStore[] = [];
  if (config.archive.minio) stores.push(minioStore(createMinio(config), config.minio.bucket));
  if (config.archive.hdfs) stores.push(hdfsStore(createWebHdfs(config), config.hdfs.root));
  return stores;
}

/** The run loop's round: idle checks, progress, failed jobs. */
const ROUND_MS = 500;
/** The wait before the idle check that confirms one. */
const IDLE_CONFIRM_MS = 150;

/**
 * Idle: every partition of the topic is committed to its end (or empty) by the dispatcher group,
 * and no archive or index job is waiting, running or delayed.
 */
export async function isIdle(
  config: Config,
  admin: KafkaAdmin,
  queues: Queue<RangeJobData>[],
): Promise<boolean> {
  for (const p of await groupPosition(config, admin)) {
    if (p.high === p.low) continue;
    if (p.committed < p.high) return false;
  }
  for (const queue of queues) {
    const counts = await queue.getJobCounts(
      "waiting",
      "active",
      "delayed",
      "prioritized",
      "waiting-children",
    );
    if (Object.values(counts).some((n) => n > 0)) return false;
  }
  return true;
}

export async function runProcess(config: Config, options: ProcessOptions): Promise<ProcessSummary> {
  const log = logger("process");
  const started = performance.now();
  // A wrong Redis password stops here, in one line (exit 2), before clients that retry forever.
  await checkRedisAuth(config);
  const connection = { url: config.redis.url, maxRetriesPerRequest: null } as const;
  const redis = createRedis(config);
  const es = createElasticsearch(config);
  let admin: KafkaAdmin | undefined;
  // One per process, shared by the dispatcher (which stores the rows) and the workers (which
  // read them): a range's jobs in this process never decode its payload again.
  const payloads = new DecodedPayloads();
  const queues = [ARCHIVE_QUEUE, INDEX_QUEUE].map(
    (name) => new Queue<RangeJobData>(name, { connection, prefix: config.redis.queuePrefix }),
  );
  let dispatcher: Dispatcher | undefined;
  let dlqProducer: { close(): Promise<void> } | undefined;
  let workers: Workers | undefined;
  let fatal: Error | undefined;
  let wake: () => void = () => undefined;
  const fatalSeen = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const startWorkers = () => {
    const started = new Workers(
      es,
      redis,
      {
        queuePrefix: config.redis.queuePrefix,
        connection,
        concurrency: options.concurrency ?? 2,
        indexPrefix: config.elasticsearch.indexPrefix,
        stores: lakeStores(config),
        dlq: kafkaDlqWriter(config),
        payloads,
        writeCacheBytes: config.elasticsearch.writeCacheMiB * 1024 * 1024,
        ...(options.lockMs ? { lockDurationMs: options.lockMs } : {}),
      },
      logger("worker"),
    );
    started.start();
    return started;
  };
  try {
    // A worker takes jobs before the Kafka client is loaded: loading it costs about 0.6 s of CPU
    // (it compiles its option schemas), which a worker restarted in a hurry need not wait for.
    // The dispatcher needs Kafka from the start.
    if (options.role === "worker") workers = startWorkers();
    const { KafkaAdmin, kafkaOptions } = await import("../core/kafka/index.ts");
    const kafka = kafkaOptions(config);
    const kafkaAdmin = new KafkaAdmin(kafka);
    admin = kafkaAdmin;
    const topics = await kafkaAdmin.listTopics();
    if (!topics.includes(config.kafka.topic))
      throw new CaplineError(
        "CONFIG_INVALID",
        `Kafka topic "${config.kafka.topic}" (KAFKA_TOPIC) does not exist at ${config.kafka.brokers.join(",")}; run \`capline setup\` first`,
      );
    // The dispatcher sends the messages that are not events to the DLQ topic (setup and ingest
    // create it too; producers never create topics).
    if (options.role !== "worker" && !topics.includes(config.kafka.dlqTopic))
      await kafkaAdmin.createTopic(
        {
          topic: config.kafka.dlqTopic,
          partitions: config.kafka.partitions,
          replicationFactor: config.kafka.replicationFactor,
        },
        { ifMissing: true },
      );
    if (options.role === "all") workers = startWorkers();
    if (options.role !== "worker") {
      const [{ Dispatcher }, { KafkaDispatchConsumer, kafkaDlqProducer }, { IdempotentProducer }] =
        await Promise.all([
          import("./dispatch/dispatcher.ts"),
          import("./dispatch/kafka-consumer.ts"),
          import("../core/kafka/index.ts"),
        ]);
      const producer = new IdempotentProducer(kafka, "-dispatcher");
      dlqProducer = producer;
      dispatcher = new Dispatcher(
        new KafkaDispatchConsumer(kafka, {
          groupId: dispatcherGroupOf(config.kafka.clientId),
          topic: config.kafka.topic,
        }),
        kafkaDlqProducer(producer, config.kafka.dlqTopic),
        redis,
        {
          queuePrefix: config.redis.queuePrefix,
          gateway: { connection },
          // Only workers of this process read what the dispatcher keeps.
          ...(options.role === "all" ? { payloadCache: payloads } : {}),
          dedupHorizonDays: config.dedup.horizonDays,
          ...(options.rangeSize ? { rangeSize: options.rangeSize } : {}),
          ...(options.maxInFlight ? { maxInFlight: options.maxInFlight } : {}),
        },
        logger("dispatcher"),
      );
      await dispatcher.start((error) => {
        fatal = error;
        wake();
      });
      const every = options.rfmEveryMs ?? 300_000;
      const rfmQueue = new Queue(RFM_QUEUE, { connection, prefix: config.redis.queuePrefix });
      try {
        if (every > 0)
          await rfmQueue.upsertJobScheduler(
            "rfm-periodic",
            { every },
            { name: RFM_QUEUE, opts: { removeOnComplete: 20, removeOnFail: 20, attempts: 1 } },
          );
        else await rfmQueue.removeJobScheduler("rfm-periodic");
      } finally {
        await rfmQueue.close();
      }
    }
    const summary = (status: ProcessSummary["status"]): ProcessSummary => {
      const seconds = (performance.now() - started) / 1000;
      const events = dispatcher?.stats.events ?? workers?.stats.indexed ?? 0;
      return {
        role: options.role,
        status,
        seconds: Math.round(seconds * 1000) / 1000,
        ...(dispatcher ? { dispatcher: { ...dispatcher.stats } } : {}),
        ...(workers ? { workers: { ...workers.stats } } : {}),
        events_per_second: seconds > 0 ? Math.round(events / seconds) : 0,
      };
    };
    let stopRequested = false;
    void options.stopSignal?.then(() => {
      stopRequested = true;
      wake();
    });
    const startedAtMs = Date.now();
    let idleChecks = 0;
    let lastProgress = performance.now();
    // Where the group stood when this run began: progress counts what this run committed.
    const startedAt = options.onProgress
      ? await backlogOf(config, kafkaAdmin).catch(() => undefined)
      : undefined;
    for (;;) {
      if (fatal) throw fatal;
      if (stopRequested) return summary("stopped");
      if (options.untilIdle) {
        // A job that failed for good holds its partition until someone fixes the cause: a run
        // that should end when done ends now, naming it, instead of waiting forever.
        const failed = await failedJobs(queues, startedAtMs).catch(() => []);
        if (failed.length > 0)
          throw new CaplineError(
            "SERVICE_ERROR",
            `${failed.length} job(s) failed and cannot succeed as they are; their partitions wait at them: ${failed
              .slice(0, 3)
              .map((f) => `${f.queue} ${f.job}: ${f.reason}`)
              .join("; ")}. Fix the cause and run \`capline process\` again (it runs failed jobs once more)`,
            { details: { failed_jobs: failed } },
          );
        // Raced with a stop: while Redis is unreachable the queue counts wait for it to return.
        const idle = await Promise.race([
          isIdle(config, kafkaAdmin, queues).catch((error: unknown) => {
            log.warn({ error: describeError(error) }, "idle check failed");
            return false;
          }),
          fatalSeen.then(() => false),
        ]);
        // Twice in a row, a moment apart: a range cut between the two checks is not missed.
        idleChecks = idle ? idleChecks + 1 : 0;
        if (idleChecks >= 2) {
          // Scores as of everything processed, so a script's next step sees final segments.
          const rfm =
            options.role === "worker" ? undefined : await recomputeRfm(es, config.elasticsearch.indexPrefix);
          // Searchable now, not at the next refresh (ELASTICSEARCH_REFRESH_INTERVAL): the script's
          // next step (a report, a check) reads what was just written.
          await retry(() =>
            es.indices.refresh({
              index: INDEX_NAMES.map((n) => aliasName(config.elasticsearch.indexPrefix, n)).join(","),
              ignore_unavailable: true,
            }),
          );
          return { ...summary("idle"), ...(rfm ? { rfm } : {}) };
        }
      }
      if (options.onProgress && performance.now() - lastProgress >= (options.progressEveryMs ?? 5000)) {
        lastProgress = performance.now();
        const now = await backlogOf(config, kafkaAdmin).catch(() => undefined);
        options.onProgress({
          ...summary("stopped"),
          committed: now && startedAt ? now.committed - startedAt.committed : undefined,
          backlog: now?.backlog,
        });
      }
      // An idle check is confirmed soon after (the end of every --until-idle run waited a whole
      // round for it); otherwise the usual round.
      await Promise.race([sleep(idleChecks > 0 ? IDLE_CONFIRM_MS : ROUND_MS), fatalSeen]);
    }
  } finally {
    // Bounded (about 10 s) whatever state Redis and Kafka are in: each part gives up on what
    // waits on a service that is gone; anything unfinished is replayed by the next run.
    await Promise.all([
      dispatcher
        ?.stop(STOP_BUDGET_MS)
        .catch((error: unknown) => log.warn({ error: describeError(error) }, "dispatcher stop")),
      workers
        ?.stop(STOP_BUDGET_MS)
        .catch((error: unknown) => log.warn({ error: describeError(error) }, "workers stop")),
    ]);
    if (dlqProducer) await settlesWithin(dlqProducer.close(), 1000);
    for (const queue of queues)
      if (!(await settlesWithin(queue.close(), 1000))) void queue.disconnect().catch(() => undefined);
    if (admin) await settlesWithin(admin.close(), 1000);
    redis.disconnect();
    await settlesWithin(es.close(), 1000);
  }
}
