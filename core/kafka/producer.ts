import { type MessageToProduce, ProduceAcks, Producer } from "@platformatic/kafka";
import { CaplineError, describeError } from "../errors.ts";
import { logger } from "../logging.ts";
import { baseOptions, KeyPartitioner, keyBytes } from "./client.ts";
import { hasKafkaError, isNetworkFailure, kafkaCall, toCaplineError } from "./errors.ts";
import type { KafkaOptions } from "./options.ts";

/**
 * capline's two producers. Both are idempotent (the broker drops a retried duplicate), compress
 * with LZ4 (docs/ingestion.md: a quarter of gzip's CPU on both sides), and partition keyed
 * messages as Kafka's Java client and kafkajs did (murmur2, `partitionOf`), so a key stays in the
 * partition its earlier events are in.
 *
 * - `TransactionalProducer` (ingest): each `transact` is one Kafka transaction: all its messages
 *   become visible to read_committed consumers at once, or none of them.
 * - `IdempotentProducer` (DLQ records of the dispatcher and the workers).
 */

export interface OutgoingMessage {
  topic: string;
  key: string | Buffer | null;
  value: string | Buffer | null;
  /** A partition of the caller's choice; otherwise the key's (see `partitionOf`). */
  partition?: number;
  /** The record's timestamp (ms since the epoch); otherwise the time it is sent. */
  timestamp?: number;
}

/**
 * Raw bytes of one partition's records in one produce request. The broker refuses a record batch
 * above its message.max.bytes (1,048,588 bytes by default) after compression; event JSON shrinks
 * about 4.4 times with LZ4, but nothing guarantees it does, and LZ4 can grow incompressible data by
 * 0.4 %. 960 KiB raw stays under the limit whatever the content; a single record larger than this
 * still goes, alone in its batch.
 */
export const MAX_BATCH_BYTES = 960 << 10;

/** Bytes a record adds to its batch besides key and value (attributes, deltas, lengths, headers). */
const RECORD_OVERHEAD = 16;

/**
 * InitProducerId of a producer that has no id yet: -1/-1, as Kafka's Java client sends it. The
 * client (2.12) otherwise sends 0/0, which the broker takes for "bump the epoch of producer id 0"
 * and refuses with PRODUCER_FENCED once the transactional id belongs to another producer id: a
 * rerun of an ingest could never take over from the one it replaces.
 */
const NEW_PRODUCER = { producerId: -1n, producerEpoch: -1 } as const;

type Wire = MessageToProduce<Buffer, Buffer, Buffer, Buffer> & { partition: number };

/** Common part: connection, partitions per topic, and cutting messages into produce requests. */
abstract class ProducerBase {
  protected client: Producer<Buffer, Buffer, Buffer, Buffer>;
  private readonly partitionCounts = new Map<string, number>();
  private readonly partitioners = new Map<string, KeyPartitioner>();

  protected constructor(
    protected readonly options: KafkaOptions,
    private readonly make: () => Producer<Buffer, Buffer, Buffer, Buffer>,
    private readonly maxBatchBytes: number,
  ) {
    this.client = make();
  }

  /** Number of partitions of `topic` (metadata asked once per producer). */
  async partitions(topic: string): Promise<number> {
    const known = this.partitionCounts.get(topic);
    if (known !== undefined) return known;
    const metadata = await kafkaCall(this.options.brokers, `read the metadata of topic ${topic}`, () =>
      this.client.metadata({ topics: [topic] }),
    ).catch((error: unknown) => {
      // Producers never create topics (setup, ingest and process do): a missing one is named.
      if (hasKafkaError(error, "UNKNOWN_TOPIC_OR_PARTITION"))
        throw new CaplineError(
          "CONFIG_INVALID",
          `Kafka topic ${topic} does not exist at ${this.options.brokers.join(",")}; run \`capline setup\``,
          { cause: error },
        );
      throw error;
    });
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    if (count <= 0) throw new CaplineError("SERVICE_ERROR", `Kafka topic ${topic} has no partitions`);
    this.partitionCounts.set(topic, count);
    return count;
  }

  /**
   * The messages as produce requests: each request holds, per partition, at most maxBatchBytes
   * of records (the j-th slice of every partition goes in request j), in the order given.
   */
  protected async requests(messages: readonly OutgoingMessage[]): Promise<Wire[][]> {
    const perPartition = new Map<string, { slices: Wire[][]; bytes: number }>();
    for (const message of messages) {
      const key = keyBytes(message.key);
      const value = keyBytes(message.value);
      let partition = message.partition;
      if (partition === undefined) {
        if (key === undefined)
          throw new CaplineError("INTERNAL", `a message for ${message.topic} has neither key nor partition`);
        const count = await this.partitions(message.topic);
        let partitioner = this.partitioners.get(message.topic);
        if (!partitioner) {
          partitioner = new KeyPartitioner();
          this.partitioners.set(message.topic, partitioner);
        }
        partition =
          typeof message.key === "string"
            ? partitioner.partition(message.key, key, count)
            : partitioner.partition(key.toString("latin1"), key, count);
      }
      const size = (key?.length ?? 0) + (value?.length ?? 0) + RECORD_OVERHEAD;
      const id = `${message.topic}\u0000${partition}`;
      let slot = perPartition.get(id);
      if (!slot) {
        slot = { slices: [[]], bytes: 0 };
        perPartition.set(id, slot);
      }
      let slice = slot.slices[slot.slices.length - 1] as Wire[];
      if (slice.length > 0 && slot.bytes + size > this.maxBatchBytes) {
        slice = [];
        slot.slices.push(slice);
        slot.bytes = 0;
      }
      slot.bytes += size;
      const wire: Wire = { topic: message.topic, partition, key, value: value as Buffer };
      if (message.timestamp !== undefined) wire.timestamp = BigInt(message.timestamp);
      slice.push(wire);
    }
    const requests: Wire[][] = [];
    for (const { slices } of perPartition.values())
      slices.forEach((slice, j) => {
        const request = requests[j] ?? [];
        requests[j] = request;
        for (const m of slice) request.push(m);
      });
    return requests;
  }

  async close(): Promise<void> {
    await this.client.close(true).catch(() => undefined);
  }

  /** Drops the connection and makes a new client (after a failure the old one's state is unknown). */
  protected async renew(): Promise<void> {
    await this.close();
    this.client = this.make();
  }
}

export interface TransactionalProducerOptions {
  /** Stable across restarts: a new producer with the same id fences the old one. */
  transactionalId: string;
  /** The broker aborts a transaction left open this long (the producer died). @defaultValue 60000 */
  transactionTimeoutMs?: number;
  /** @defaultValue MAX_BATCH_BYTES */
  maxBatchBytes?: number;
}

export interface TransactionStats {
  requests: number;
  messages: number;
  /** Milliseconds of the sends and of the commit. */
  sendMs: number;
  commitMs: number;
}

/** Whether `error` says another producer with the same transactional id took over. */
export function isFenced(error: unknown): boolean {
  return ["PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH", "TRANSACTIONAL_ID_AUTHORIZATION_FAILED"].some((name) =>
    hasKafkaError(error, name),
  );
}

export class TransactionalProducer extends ProducerBase {
  readonly transactionalId: string;

  constructor(options: KafkaOptions, producer: TransactionalProducerOptions) {
    const make = () =>
      new Producer<Buffer, Buffer, Buffer, Buffer>({
        ...baseOptions(options, "-ingest"),
        idempotent: true,
        transactionalId: producer.transactionalId,
        ...NEW_PRODUCER,
        // The client sends its request timeout as the transaction timeout of InitProducerId.
        timeout: producer.transactionTimeoutMs ?? 60_000,
        // At least 2: an idempotent producer asked for fewer retries gets unlimited ones, and an
        // outage would then hang inside the client instead of reaching the ingester's recovery.
        retries: Math.max(2, options.retries),
        compression: "lz4",
        acks: ProduceAcks.ALL,
        autocreateTopics: false,
      });
    super(options, make, producer.maxBatchBytes ?? MAX_BATCH_BYTES);
    this.transactionalId = producer.transactionalId;
  }

  /**
   * Registers the transactional id with the broker (InitProducerId): any earlier producer with the
   * same id is fenced, and its open transaction (a killed ingest) aborted, before this returns.
   * A fresh connection every time, so it also serves to recover after a failure.
   */
  async fence(): Promise<void> {
    await this.renew();
    await kafkaCall(this.options.brokers, `register transactional id ${this.transactionalId}`, async () => {
      // The first transaction of a client runs InitProducerId; nothing is sent in this one.
      const txn = await this.client.beginTransaction();
      await txn.cancel();
    });
  }

  /**
   * Sends `messages` as one transaction and commits it. On any failure the transaction is
   * aborted (or, when the broker is gone, left for the broker to abort at its timeout) and the
   * error thrown: a CaplineError, CONFLICT when another producer took the transactional id over.
   */
  async transact(messages: readonly OutgoingMessage[]): Promise<TransactionStats> {
    const what = `send a transaction of ${messages.length} messages`;
    const requests = await this.requests(messages);
    const t0 = performance.now();
    let txn: Awaited<ReturnType<Producer["beginTransaction"]>> | undefined;
    try {
      txn = await this.client.beginTransaction();
      for (const request of requests) await txn.send({ messages: request });
      const t1 = performance.now();
      await txn.commit();
      return {
        requests: requests.length,
        messages: messages.length,
        sendMs: Math.round(t1 - t0),
        commitMs: Math.round(performance.now() - t1),
      };
    } catch (error) {
      if (txn && !txn.completed) {
        await txn.abort().catch(() => txn?.cancel().catch(() => undefined));
      }
      if (isFenced(error))
        throw new CaplineError(
          "CONFLICT",
          `another producer took over transactional id ${this.transactionalId}; this one stops`,
          { cause: error, details: { kafka_errors: ["PRODUCER_FENCED"] } },
        );
      throw toCaplineError(error, this.options.brokers, what);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class IdempotentProducer extends ProducerBase {
  private readonly log = logger("kafka");

  constructor(options: KafkaOptions, clientIdSuffix = "-producer") {
    const make = () =>
      new Producer<Buffer, Buffer, Buffer, Buffer>({
        ...baseOptions(options, clientIdSuffix),
        idempotent: true,
        ...NEW_PRODUCER,
        // The client's own retries stay bounded (at least 2: fewer means unlimited for an
        // idempotent producer), so that a missing topic is reported; `send` waits out outages.
        retries: Math.max(2, options.retries),
        compression: "lz4",
        acks: ProduceAcks.ALL,
        autocreateTopics: false,
      });
    super(options, make, MAX_BATCH_BYTES);
  }

  /**
   * Sends `messages` (acks=all) in as many produce requests as their size needs. While no broker
   * answers, it waits and tries again, for as long as the outage lasts: an outage slows the
   * sender down, it never drops a record. A request whose answer was lost in an outage may be
   * written twice (at least once: consumers of the DLQ recognise a record by its key).
   */
  async send(messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    for (let attempt = 1, done = 0; ; attempt++) {
      try {
        const requests = await this.requests(messages);
        await kafkaCall(this.options.brokers, `send ${messages.length} messages`, async () => {
          for (; done < requests.length; done++)
            await this.client.send({ messages: requests[done] as Wire[] });
        });
        return;
      } catch (error) {
        if (!isNetworkFailure(error)) throw error;
        const delay = Math.min(500 * attempt, 5_000);
        this.log.warn(
          { error: describeError(error), attempt, retryInMs: delay },
          "Kafka is away; sending again",
        );
        await sleep(delay);
      }
    }
  }
}
