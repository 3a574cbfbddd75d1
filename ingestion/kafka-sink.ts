import {
  type Admin,
  CompressionTypes,
  type Kafka,
  type KafkaConfig,
  logLevel,
  type Message,
  Partitioners,
  type PartitionMetadata,
  type Producer,
  type TopicMessages,
} from "kafkajs";
import { createKafka } from "../core/clients/kafka.ts";
import type { Config } from "../core/config/index.ts";
import { CaplineError, describeError, ServiceUnavailableError } from "../core/errors.ts";
import { logger } from "../core/logging.ts";
import { checkpointTopicOf, ingestTransactionalId } from "../core/names.ts";
import { installKafkajsFastPath } from "./kafkajs-fast.ts";
import type { EncodedBatch } from "./record-batch.ts";
import type { RowCounts } from "./rows.ts";
import { type CommittedRecord, readCommitted, standaloneCluster } from "./topic-reader.ts";

/**
 * Kafka side of an ingest: one transactional producer per input file. Each chunk of rows goes out
 * as ONE transaction holding its events, its DLQ records and the file's checkpoint, the latter
 * twice: as a consumer-group offset (TxnOffsetCommit, read back with a single OffsetFetch) and as
 * a record of the compacted topic `<topic>.checkpoints` (read when Kafka has expired the group's
 * offsets; also the human-readable history). Either the whole chunk is visible to read_committed
 * consumers, or none of it: a kill -9 or a broker outage at any moment leaves nothing half-sent,
 * and the checkpoint says exactly where to go on.
 *
 * The transactional id is derived from the file's content, so a rerun of the same file fences the
 * previous producer (and aborts its open transaction) before reading the checkpoint.
 */

export interface Checkpoint {
  /** Version of this record's layout. */
  v: 1;
  fileId: string;
  file: string;
  /** Physical line of the last row done (the header is line 1). */
  line: number;
  done: boolean;
  counts: RowCounts;
  runId: string;
  at: string;
}

export interface Chunk {
  events: Message[];
  /**
   * The events as finished record batches instead (the parse worker's output; needs the kafkajs
   * fast path): produce request j carries batches[j], at most one batch per partition.
   */
  batches?: EncodedBatch[][];
  rejects: Message[];
  checkpoint: Checkpoint;
}

export interface SinkOptions {
  topic: string;
  dlqTopic: string;
  /** Identity of the input (sha256 of the file, or a per-run id for stdin). */
  fileId: string;
  /** Messages per produce request (the chunk is split into several requests of this size). */
  requestMessages?: number;
  /** Use the faster, byte-identical kafkajs record encoder. @defaultValue true */
  fastPath?: boolean;
}

const FATAL_TYPES = new Set([
  "INVALID_PRODUCER_EPOCH",
  "PRODUCER_FENCED",
  "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
  "TOPIC_AUTHORIZATION_FAILED",
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
]);

function errorType(error: unknown): string | undefined {
  let current: unknown = error;
  for (let i = 0; i < 5 && current instanceof Error; i++) {
    const type = (current as { type?: unknown }).type;
    if (typeof type === "string") return type;
    current = (current as { originalError?: unknown }).originalError ?? current.cause;
  }
  return undefined;
}

/**
 * capline's kafkajs logging, minus two kinds of lines that are expected here: the warning about
 * limited retries of an idempotent producer (the transactions and the checkpoint make a retried
 * chunk safe; unlimited retries would hang on an outage instead of recovering) and the error lines
 * kafkajs prints for the retriable answers of a broker still starting.
 */
function quietLogCreator(): KafkaConfig["logCreator"] {
  const log = logger("kafka");
  return () =>
    ({ level, log: entry }) => {
      const { message, ...rest } = entry;
      if (message.startsWith("Limiting retries for the idempotent producer")) return;
      // Connection failures and a restarting broker's answers are handled (and reported once, as
      // a warning) by the sink; kafkajs's own line per retry would bury that. CONCURRENT_TRANSACTIONS
      // is the coordinator still writing the previous commit's markers: kafkajs retries it.
      const text = `${message} ${typeof rest.error === "string" ? rest.error : ""}`;
      const retriable =
        /coordinator|leader|loading|ECONNREFUSED|Connection error|seed broker|does not host this topic-partition|Connection timeout|concurrent operation on the same transaction/i.test(
          text,
        );
      if (retriable) log.debug(rest, message);
      else if (level <= logLevel.ERROR) log.error(rest, message);
      else if (level <= logLevel.WARN) log.warn(rest, message);
      else log.debug(rest, message);
    };
}

/**
 * kafkajs (2.2.4, its last release) groups a send's messages per partition with
 * `messages.reduce((acc, m) => ({ ...acc, [p]: [...acc[p], m] }))`: a copy of the partition's array
 * per message, quadratic in the batch size. At 4,000 messages per partition that was most of the
 * ingest's CPU and gigabytes of garbage (see BENCHMARKS.md). The messages carry their partition
 * already (computed with kafkajs's own partitioner above), so this array answers that one
 * `reduce` call with the same grouping built in linear time; any other use of the array is untouched.
 */
function groupedForKafkajs(messages: Message[]): Message[] {
  Object.defineProperty(messages, "reduce", {
    configurable: true,
    value(this: Message[]) {
      const groups: Record<number, Message[]> = {};
      for (const message of this) {
        const p = message.partition as number;
        const encoded = (message as { encodedBatch?: EncodedBatch }).encodedBatch;
        if (encoded !== undefined) {
          // A finished batch stands for `count` messages: kafkajs only takes the group's length
          // (the idempotent sequence numbers); the fast produce request writes the batch as it is.
          groups[p] = Object.assign(new Array<Message>(encoded.count), { encodedBatch: encoded });
          continue;
        }
        let group = groups[p];
        if (group === undefined) {
          group = [];
          groups[p] = group;
        }
        group.push(message);
      }
      return groups;
    },
  });
  return messages;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const EMPTY = Buffer.alloc(0);

/**
 * Waits until a broker answers, retrying with backoff for `connectTimeoutMs`; then throws the
 * UNAVAILABLE error naming the brokers.
 */
export async function waitForKafka(config: Config, timeoutMs = config.kafka.connectTimeoutMs): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const log = logger("ingest");
  let delay = 250;
  for (let attempt = 1; ; attempt++) {
    const kafka = createKafka(config, { retry: { retries: 0 }, connectionTimeout: 3_000 });
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      return;
    } catch (error) {
      if (Date.now() + delay > deadline) {
        throw new ServiceUnavailableError(
          "Kafka",
          config.kafka.brokers.join(","),
          `${describeError(error)} (retried for ${Math.round(timeoutMs / 1000)} s; KAFKA_CONNECT_TIMEOUT_MS sets how long)`,
          { cause: error },
        );
      }
      log.debug({ attempt, error: describeError(error) }, "Kafka not reachable yet, retrying");
      await sleep(delay);
      delay = Math.min(delay * 2, 5_000);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}

/**
 * The checkpoint topic keeps the newest record per file (compacted), and a file never seen before
 * makes the ingester read the whole topic once. Kafka compacts only closed segments, which roll
 * after 7 days by default: an hour keeps the part left uncompacted to an hour of ingests.
 */
export const CHECKPOINT_TOPIC_CONFIG = [
  { name: "cleanup.policy", value: "compact" },
  { name: "segment.ms", value: String(60 * 60 * 1000) },
];

/** Creates the events, DLQ and checkpoint topics when missing (partitions from the configuration). */
export async function ensureTopics(
  admin: Admin,
  config: Config,
  topic: string,
  dlqTopic: string,
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const wanted = [
    { topic, numPartitions: config.kafka.partitions },
    { topic: dlqTopic, numPartitions: config.kafka.partitions },
    {
      topic: checkpointTopicOf(topic),
      numPartitions: 1,
      configEntries: CHECKPOINT_TOPIC_CONFIG,
    },
  ].filter((t) => !existing.has(t.topic));
  if (wanted.length === 0) return;
  try {
    await admin.createTopics({
      topics: wanted.map((t) => ({ ...t, replicationFactor: config.kafka.replicationFactor })),
      waitForLeaders: true,
    });
  } catch (error) {
    // Another ingest may have created them in between: only fail if they are still missing.
    const now = new Set(await admin.listTopics());
    if (wanted.some((t) => !now.has(t.topic))) {
      // A broker still starting answers with retriable errors: let the caller's retry loop see them.
      if ((error as { retriable?: boolean }).retriable === true) throw error;
      throw new CaplineError("SERVICE_ERROR", `cannot create Kafka topics: ${describeError(error)}`, {
        cause: error,
      });
    }
  }
}

export class IngestSink {
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private producer: Producer | undefined;
  private readonly transactionalId: string;
  private readonly groupId: string;
  private readonly checkpointTopic: string;
  private readonly log = logger("ingest");
  private readonly partitionMetadata = new Map<string, PartitionMetadata[]>();
  private readonly partitioner = Partitioners.DefaultPartitioner();
  private readonly partitionCache = new Map<string, Map<string, number>>();
  /** Reads `<topic>.checkpoints` when the group offset is gone (connected on first use). */
  private reader: ReturnType<typeof standaloneCluster> | undefined;
  /** Transactions committed by this sink (for statistics). */
  transactions = 0;
  /** Whether chunks may carry finished record batches (the kafkajs fast path is installed). */
  readonly acceptsBatches: boolean;

  constructor(
    private readonly config: Config,
    private readonly options: SinkOptions,
  ) {
    this.acceptsBatches = options.fastPath !== false && installKafkajsFastPath();
    this.kafka = createKafka(config, { logCreator: quietLogCreator() });
    this.admin = this.kafka.admin();
    this.transactionalId = ingestTransactionalId(options.topic, options.fileId);
    this.groupId = this.transactionalId;
    this.checkpointTopic = checkpointTopicOf(options.topic);
  }

  /**
   * Connects and fences any earlier producer of the same file: its open transaction (a killed
   * ingest) is aborted before this returns, so the checkpoint read next is the committed truth.
   */
  async open(): Promise<void> {
    await this.retrying("connect", async () => {
      await this.admin.connect();
      await ensureTopics(this.admin, this.config, this.options.topic, this.options.dlqTopic);
      await this.producer?.disconnect().catch(() => undefined);
      await this.startProducer();
    });
  }

  /**
   * Runs a setup step again while Kafka answers with a transient error (a broker just started:
   * coordinators still loading), for at most KAFKA_CONNECT_TIMEOUT_MS.
   */
  private async retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.config.kafka.connectTimeoutMs;
    for (let delay = 300; ; delay = Math.min(delay * 2, 3_000)) {
      try {
        return await fn();
      } catch (error) {
        const type = errorType(error);
        if (type !== undefined && FATAL_TYPES.has(type)) throw error;
        if (error instanceof CaplineError && !error.retryable) throw error;
        if (Date.now() + delay > deadline) {
          throw new ServiceUnavailableError(
            "Kafka",
            this.config.kafka.brokers.join(","),
            describeError(error),
            {
              cause: error,
            },
          );
        }
        this.log.debug({ what, error: describeError(error) }, "Kafka not ready, retrying");
        await sleep(delay);
      }
    }
  }

  private async startProducer(): Promise<void> {
    const producer = this.kafka.producer({
      transactionalId: this.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 60_000,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    // The first transaction() runs InitProducerId, which fences and aborts the previous epoch.
    const txn = await producer.transaction();
    await txn.abort();
    this.producer = producer;
  }

  /**
   * The last committed checkpoint of this file, if any: the group offset's (one OffsetFetch), or,
   * when the group has none, the newest committed record keyed by the file in `<topic>.checkpoints`.
   * Both are written by every chunk's transaction, so they agree while both exist; but Kafka drops
   * an idle group's offsets after `offsets.retention.minutes` (7 days by default), and without the
   * topic a file done long ago would look new and be sent twice. Call after `open()`: the previous
   * producer must be fenced first, or its open transaction could still commit a newer checkpoint.
   */
  async readCheckpoint(): Promise<Checkpoint | undefined> {
    if (!this.producer)
      throw new CaplineError("INTERNAL", "readCheckpoint() before open(): nothing fenced yet");
    const offsets = await this.retrying("read checkpoint", () =>
      this.admin.fetchOffsets({ groupId: this.groupId, topics: [this.checkpointTopic] }),
    );
    const partition = offsets[0]?.partitions.find((p) => p.partition === 0);
    if (partition && Number(partition.offset) >= 0 && partition.metadata) {
      return this.parseCheckpoint(partition.metadata, `the offset metadata of group ${this.groupId}`);
    }
    const fromTopic = await this.retrying("read checkpoint topic", () => this.readCheckpointTopic());
    if (fromTopic !== undefined) {
      this.log.info(
        { fileId: this.options.fileId, line: fromTopic.line, done: fromTopic.done, at: fromTopic.at },
        `checkpoint taken from ${this.checkpointTopic}: group ${this.groupId} has no offset (expired after offsets.retention.minutes, or deleted)`,
      );
    }
    return fromTopic;
  }

  /** The newest committed checkpoint record of this file in `<topic>.checkpoints` (read_committed, bounded). */
  private async readCheckpointTopic(): Promise<Checkpoint | undefined> {
    const reader = this.reader ?? standaloneCluster(this.kafka);
    await reader.consumer.connect(); // nothing to do when connected already
    this.reader = reader;
    const key = Buffer.from(this.options.fileId);
    let newest: CommittedRecord | undefined;
    await readCommitted(reader.cluster, this.checkpointTopic, 0, (record) => {
      if (record.key?.equals(key)) newest = record;
    });
    // A tombstone (null value) forgets the file, as compaction will.
    if (!newest?.value) return undefined;
    return this.parseCheckpoint(
      newest.value.toString(),
      `the record at offset ${newest.offset} of ${this.checkpointTopic}`,
    );
  }

  private parseCheckpoint(text: string, where: string): Checkpoint | undefined {
    try {
      const cp = JSON.parse(text) as Checkpoint;
      return cp.v === 1 && cp.fileId === this.options.fileId ? cp : undefined;
    } catch (error) {
      throw new CaplineError("INTERNAL", `unreadable checkpoint in ${where}`, { cause: error });
    }
  }

  /**
   * Sends one chunk as one transaction. On a broker failure it reconnects (waiting up to
   * KAFKA_CONNECT_TIMEOUT_MS per outage), asks the checkpoint whether the chunk was committed after
   * all (a commit whose answer was lost) and sends it again only if not.
   */
  async commit(chunk: Chunk): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.commitOnce(chunk);
        this.transactions++;
        return;
      } catch (error) {
        const type = errorType(error);
        if (type !== undefined && FATAL_TYPES.has(type)) {
          if (type === "INVALID_PRODUCER_EPOCH" || type === "PRODUCER_FENCED") {
            throw new CaplineError(
              "CONFLICT",
              `another ingest of ${chunk.checkpoint.file} took over (same content, same topic); this one stops`,
              { cause: error },
            );
          }
          throw new CaplineError("SERVICE_ERROR", `Kafka refused the chunk: ${describeError(error)}`, {
            cause: error,
          });
        }
        this.log.warn(
          { attempt, error: describeError(error), line: chunk.checkpoint.line },
          "Kafka failed during a chunk; reconnecting and checking the checkpoint",
        );
        if (await this.recoverAndCheck(chunk)) {
          this.log.info({ line: chunk.checkpoint.line }, "the chunk had been committed before the failure");
          this.transactions++;
          return;
        }
      }
    }
  }

  /** Reconnects, then tells whether `chunk` was committed after all. */
  private async recoverAndCheck(chunk: Chunk): Promise<boolean> {
    const deadline = Date.now() + this.config.kafka.connectTimeoutMs;
    for (let delay = 500; ; delay = Math.min(delay * 2, 5_000)) {
      try {
        await this.recover(deadline);
        const cp = await this.readCheckpoint();
        return cp !== undefined && cp.runId === chunk.checkpoint.runId && cp.line >= chunk.checkpoint.line;
      } catch (error) {
        if (Date.now() + delay > deadline) {
          if (error instanceof ServiceUnavailableError) throw error;
          throw new ServiceUnavailableError(
            "Kafka",
            this.config.kafka.brokers.join(","),
            describeError(error),
            {
              cause: error,
            },
          );
        }
        await sleep(delay);
      }
    }
  }

  /** Number of partitions of `topic` (metadata fetched once, retried while Kafka is starting). */
  async partitionCount(topic: string): Promise<number> {
    await this.retrying("topic metadata", () => this.assignPartitions(topic, []));
    return this.partitionMetadata.get(topic)?.length ?? 1;
  }

  /** Sets each message's partition exactly as kafkajs's default (Java-compatible murmur2) partitioner would. */
  private async assignPartitions(topic: string, messages: Message[]): Promise<Message[]> {
    let metadata = this.partitionMetadata.get(topic);
    if (!metadata) {
      const answer = await this.admin.fetchTopicMetadata({ topics: [topic] });
      metadata = answer.topics[0]?.partitions ?? [];
      if (metadata.length === 0) throw new CaplineError("SERVICE_ERROR", `topic ${topic} has no partitions`);
      this.partitionMetadata.set(topic, metadata);
    }
    // murmur2 in JS costs about a microsecond; users recur, so remember each key's partition.
    let cache = this.partitionCache.get(topic);
    if (!cache) {
      cache = new Map();
      this.partitionCache.set(topic, cache);
    }
    if (cache.size > 1_000_000) cache.clear();
    for (const message of messages) {
      const key = message.key as string;
      let partition = cache.get(key);
      if (partition === undefined) {
        partition = this.partitioner({ topic, partitionMetadata: metadata, message });
        cache.set(key, partition);
      }
      message.partition = partition;
    }
    return groupedForKafkajs(messages);
  }

  private async commitOnce(chunk: Chunk): Promise<void> {
    const producer = this.producer;
    if (!producer) throw new CaplineError("INTERNAL", "the ingest sink is not open");
    const t0 = performance.now();
    const txn = await producer.transaction();
    const timings: Record<string, number> = {};
    const lap = (name: string, since: number) => {
      timings[name] = Math.round(performance.now() - since);
      return performance.now();
    };
    try {
      await this.assignPartitions(this.options.topic, []);
      const partitions = this.partitionMetadata.get(this.options.topic)?.length ?? 1;
      // One produce request per chunk when the partitions allow: every request is a round trip with
      // the transactional producer (one in flight). 10,000 event values of about 330 bytes make a
      // 3.3 MB batch that gzip brings to about 290 KB, well under the broker's 1 MB message.max.bytes.
      const per = this.options.requestMessages ?? Math.min(60_000, 10_000 * partitions);
      const cpJson = JSON.stringify(chunk.checkpoint);
      const batches = chunk.batches;
      const slices = Math.max(1, batches ? batches.length : Math.ceil(chunk.events.length / per));
      for (let j = 0; j < slices; j++) {
        // The DLQ records ride with the first request and the checkpoint record with the last:
        // every extra request is one more round trip inside the transaction.
        const topicMessages: TopicMessages[] = [];
        const events = batches
          ? (batches[j] ?? []).map(
              (batch) =>
                ({ key: null, value: EMPTY, partition: batch.partition, encodedBatch: batch }) as Message,
            )
          : chunk.events.slice(j * per, (j + 1) * per);
        if (batches && events.length > 0)
          topicMessages.push({ topic: this.options.topic, messages: groupedForKafkajs(events) });
        else if (events.length > 0)
          topicMessages.push({
            topic: this.options.topic,
            messages: await this.assignPartitions(this.options.topic, events),
          });
        if (j === 0 && chunk.rejects.length > 0)
          topicMessages.push({
            topic: this.options.dlqTopic,
            messages: await this.assignPartitions(this.options.dlqTopic, chunk.rejects),
          });
        if (j === slices - 1)
          topicMessages.push({
            topic: this.checkpointTopic,
            messages: [{ key: chunk.checkpoint.fileId, value: cpJson, partition: 0 }],
          });
        const tSend = performance.now();
        await txn.sendBatch({ topicMessages, acks: -1, compression: CompressionTypes.GZIP });
        lap(`send${j}`, tSend);
      }
      let t = performance.now();
      await txn.sendOffsets({
        consumerGroupId: this.groupId,
        topics: [
          {
            topic: this.checkpointTopic,
            partitions: [{ partition: 0, offset: String(chunk.checkpoint.line), metadata: cpJson } as never],
          },
        ],
      });
      t = lap("offsets", t);
      await txn.commit();
      lap("commit", t);
      lap("total", t0);
      const count = batches ? batches.flat().reduce((n, b) => n + b.count, 0) : chunk.events.length;
      this.log.debug({ line: chunk.checkpoint.line, events: count, ms: timings }, "chunk committed");
    } catch (error) {
      await txn.abort().catch(() => undefined);
      throw error;
    }
  }

  /** A fresh producer after a failure, once a broker answers again. */
  private async recover(deadline: number): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
    this.producer = undefined;
    await waitForKafka(this.config, Math.max(0, deadline - Date.now()));
    await this.startProducer();
  }

  async close(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
    await this.reader?.consumer.disconnect().catch(() => undefined);
    await this.admin.disconnect().catch(() => undefined);
  }
}
