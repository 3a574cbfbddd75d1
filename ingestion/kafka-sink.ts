import type { Config } from "../core/config/index.ts";
import { CaplineError, describeError, ServiceUnavailableError } from "../core/errors.ts";
import {
  type CommittedRecord,
  isRetryable,
  KafkaAdmin,
  type KafkaOptions,
  kafkaOptions,
  type OutgoingMessage,
  readCommittedPartition,
  TransactionalProducer,
  waitForKafka,
} from "../core/kafka/index.ts";
import { logger } from "../core/logging.ts";
import { checkpointTopicOf, ingestTransactionalId } from "../core/names.ts";
import type { RowCounts } from "./rows.ts";

/**
 * Kafka side of an ingest: one transactional producer per input file. Each chunk of rows goes out
 * as ONE transaction holding its events, its DLQ records and the file's checkpoint, a record of
 * the compacted topic `<topic>.checkpoints` keyed by the file. Either the whole chunk is visible
 * to read_committed consumers, or none of it: a kill -9 or a broker outage at any moment leaves
 * nothing half-sent, and the newest committed checkpoint says exactly where to go on.
 *
 * The checkpoint topic is the single source of truth: it is read (read_committed, up to its last
 * stable offset) when a file starts and after a failure. A compacted topic keeps the newest
 * record per file for good, where a consumer group's offsets (capline before 0.2 also kept the
 * checkpoint there) expire after `offsets.retention.minutes`.
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
  /**
   * The file's header fields and the --map of the run, so that `capline dlq replay` can validate
   * the file's refused rows again without the file (absent: an ingest before they were recorded,
   * or a header longer than MAX_RECORDED_HEADER_CHARS).
   */
  header?: string[];
  map?: string;
}

/** Longest header (its fields' characters) a checkpoint records; no real export comes near it. */
export const MAX_RECORDED_HEADER_CHARS = 16 * 1024;

/** A checkpoint record's value as the ingester wrote it, or undefined for anything else. */
export function parseCheckpoint(value: Buffer | string): Checkpoint | undefined {
  try {
    const cp = JSON.parse(value.toString()) as Checkpoint;
    return typeof cp === "object" && cp !== null && cp.v === 1 && typeof cp.fileId === "string"
      ? cp
      : undefined;
  } catch {
    return undefined;
  }
}

/** A message of a chunk: the topic comes from the sink. */
export interface ChunkMessage {
  key: string;
  value: Buffer | string;
}

export interface Chunk {
  events: ChunkMessage[];
  rejects: ChunkMessage[];
  checkpoint: Checkpoint;
}

export interface SinkOptions {
  topic: string;
  dlqTopic: string;
  /** Identity of the input (sha256 of the file, or a per-run id for stdin). */
  fileId: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The checkpoint topic keeps the newest record per file (compacted), and every file's start reads
 * the whole topic once. Kafka compacts only closed segments, which roll after 7 days by default:
 * an hour keeps the part left uncompacted to an hour of ingests.
 */
export const CHECKPOINT_TOPIC_CONFIG: Readonly<Record<string, string>> = {
  "cleanup.policy": "compact",
  "segment.ms": String(60 * 60 * 1000),
};

/** Creates the events, DLQ and checkpoint topics when missing (partitions from the configuration). */
export async function ensureTopics(
  admin: KafkaAdmin,
  config: Config,
  topic: string,
  dlqTopic: string,
): Promise<void> {
  const replicationFactor = config.kafka.replicationFactor;
  const specs = [
    { topic, partitions: config.kafka.partitions, replicationFactor },
    { topic: dlqTopic, partitions: config.kafka.partitions, replicationFactor },
    { topic: checkpointTopicOf(topic), partitions: 1, replicationFactor, configs: CHECKPOINT_TOPIC_CONFIG },
  ];
  const existing = new Set(await admin.listTopics());
  // Another ingest may create them at the same time: one that exists by then is fine.
  for (const spec of specs) if (!existing.has(spec.topic)) await admin.createTopic(spec, { ifMissing: true });
}

export class IngestSink {
  private readonly kafka: KafkaOptions;
  private readonly admin: KafkaAdmin;
  private readonly producer: TransactionalProducer;
  private readonly checkpointTopic: string;
  private readonly log = logger("ingest");
  private fenced = false;
  /** Transactions committed by this sink (for statistics). */
  transactions = 0;

  constructor(
    private readonly config: Config,
    private readonly options: SinkOptions,
  ) {
    this.kafka = kafkaOptions(config);
    this.admin = new KafkaAdmin(this.kafka);
    this.producer = new TransactionalProducer(this.kafka, {
      transactionalId: ingestTransactionalId(options.topic, options.fileId),
    });
    this.checkpointTopic = checkpointTopicOf(options.topic);
  }

  /**
   * Creates missing topics and fences any earlier producer of the same file: its open transaction
   * (a killed ingest) is aborted before this returns, so the checkpoint read next is the
   * committed truth.
   */
  async open(): Promise<void> {
    await this.retrying("connect", async () => {
      await ensureTopics(this.admin, this.config, this.options.topic, this.options.dlqTopic);
      await this.producer.fence();
    });
    this.fenced = true;
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
        if (!isRetryable(error)) throw error;
        if (Date.now() + delay > deadline) {
          if (error instanceof ServiceUnavailableError) throw error;
          throw new ServiceUnavailableError("Kafka", this.kafka.brokers.join(","), describeError(error), {
            cause: error,
          });
        }
        this.log.debug({ what, error: describeError(error) }, "Kafka not ready, retrying");
        await sleep(delay);
      }
    }
  }

  /**
   * The last committed checkpoint of this file, if any: the newest committed record keyed by the
   * file in `<topic>.checkpoints`. Call after `open()`: the previous producer must be fenced
   * first, or its open transaction could still commit a newer checkpoint.
   */
  async readCheckpoint(): Promise<Checkpoint | undefined> {
    if (!this.fenced)
      throw new CaplineError("INTERNAL", "readCheckpoint() before open(): nothing fenced yet");
    const key = Buffer.from(this.options.fileId);
    const newest = await this.retrying("read checkpoint", async () => {
      let found: CommittedRecord | undefined;
      await readCommittedPartition(this.kafka, this.checkpointTopic, 0, (record) => {
        if (record.key?.equals(key)) found = record;
      });
      return found;
    });
    // A tombstone (null value) forgets the file, as compaction will.
    if (!newest?.value) return undefined;
    const where = `the record at offset ${newest.offset} of ${this.checkpointTopic}`;
    try {
      const cp = JSON.parse(newest.value.toString()) as Checkpoint;
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
    const messages = this.messagesOf(chunk);
    for (let attempt = 1; ; attempt++) {
      try {
        if (!this.fenced) throw new CaplineError("INTERNAL", "the ingest sink is not open");
        const stats = await this.producer.transact(messages);
        this.transactions++;
        this.log.debug(
          { line: chunk.checkpoint.line, events: chunk.events.length, ...stats },
          "chunk committed",
        );
        return;
      } catch (error) {
        if (error instanceof CaplineError && error.code === "CONFLICT") {
          throw new CaplineError(
            "CONFLICT",
            `another ingest of ${chunk.checkpoint.file} took over (same content, same topic); this one stops`,
            { cause: error },
          );
        }
        if (!isRetryable(error)) {
          throw new CaplineError("SERVICE_ERROR", `Kafka refused the chunk: ${describeError(error)}`, {
            cause: error,
          });
        }
        this.fenced = false;
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

  /** The chunk's records: events, then DLQ records, then the checkpoint (one transaction). */
  private messagesOf(chunk: Chunk): OutgoingMessage[] {
    const { topic, dlqTopic } = this.options;
    const out: OutgoingMessage[] = new Array(chunk.events.length + chunk.rejects.length + 1);
    let i = 0;
    for (const e of chunk.events) out[i++] = { topic, key: e.key, value: e.value };
    for (const r of chunk.rejects) out[i++] = { topic: dlqTopic, key: r.key, value: r.value };
    out[i] = {
      topic: this.checkpointTopic,
      key: chunk.checkpoint.fileId,
      value: JSON.stringify(chunk.checkpoint),
      partition: 0,
    };
    return out;
  }

  /** Reconnects (fencing the failed producer's epoch), then tells whether `chunk` was committed after all. */
  private async recoverAndCheck(chunk: Chunk): Promise<boolean> {
    const deadline = Date.now() + this.config.kafka.connectTimeoutMs;
    for (let delay = 500; ; delay = Math.min(delay * 2, 5_000)) {
      try {
        await waitForKafka(this.kafka, Math.max(0, deadline - Date.now()));
        await this.producer.fence();
        this.fenced = true;
        const cp = await this.readCheckpoint();
        return cp !== undefined && cp.runId === chunk.checkpoint.runId && cp.line >= chunk.checkpoint.line;
      } catch (error) {
        if (!isRetryable(error)) throw error;
        if (Date.now() + delay > deadline) {
          if (error instanceof ServiceUnavailableError) throw error;
          throw new ServiceUnavailableError("Kafka", this.kafka.brokers.join(","), describeError(error), {
            cause: error,
          });
        }
        await sleep(delay);
      }
    }
  }

  async close(): Promise<void> {
    await this.producer.close();
    await this.admin.close();
  }
}
