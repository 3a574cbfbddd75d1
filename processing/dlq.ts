import type { Config } from "../core/config/index.ts";
import type { IdempotentProducer } from "../core/kafka/index.ts";
import { messageId } from "../core/names.ts";
import type { RangeEvent } from "./lake.ts";

/**
 * The workers' door to the DLQ topic: one small interface, one implementation through core/kafka.
 *
 * A record is keyed `<topic>+<partition>+<offset>` (as the dispatcher keys the messages it
 * rejects), so the copies a retried or replayed job sends again are recognisable as one record.
 */

/** Why processing sent a record to the DLQ (docs/processing.md, "Poison records"). */
export const POISON_REASONS = [
  /** A sink refused the document built from the record (a 400-class answer), e.g. an `_id` over 512 bytes. */
  "sink_refused",
  /** The record holds a value the sink's encoder cannot write. */
  "unencodable",
] as const;
export type PoisonReason = (typeof POISON_REASONS)[number];

/** A record that can never be written to one sink, with the sink's own words. */
export interface PoisonRecord {
  topic: string;
  partition: number;
  offset: number;
  /** The canonical event as the worker read it. */
  event: unknown;
  reason: PoisonReason;
  /** Which sink (and where in it): `elasticsearch profiles`, `parquet`. */
  sink: string;
  /** What the sink said (Elasticsearch's error type and reason, the encoder's message). */
  detail: string;
}

export interface DlqWriter {
  /** Durable once it resolves (acknowledged by every in-sync replica). */
  send(records: readonly PoisonRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** The key of a DLQ record: the message's place in Kafka. */
export function dlqKey(record: Pick<PoisonRecord, "topic" | "partition" | "offset">): string {
  return messageId(record.topic, record.partition, record.offset);
}

/** The JSON value of a DLQ record (same `source`/`raw`/`reason`/`detail` as the dispatcher's). */
export function dlqValue(record: PoisonRecord): string {
  return JSON.stringify({
    source: { topic: record.topic, partition: record.partition, offset: record.offset },
    raw: JSON.stringify(record.event),
    reason: record.reason,
    detail: record.detail,
    sink: record.sink,
    stage: "process",
  });
}

/** The poison records of some rows of one range, all for the same reason. */
export function poisonOf(
  range: { topic: string; partition: number },
  rows: readonly RangeEvent[],
  reason: PoisonReason,
  sink: string,
  detail: string,
): PoisonRecord[] {
  return rows.map((r) => ({
    topic: range.topic,
    partition: range.partition,
    offset: r.offset,
    event: r.event,
    reason,
    sink,
    detail,
  }));
}

/**
 * The DLQ writer through core/kafka: an idempotent producer (acks=all), created on first use. The
 * Kafka client is loaded then too, so that a worker that never meets a poison record never pays
 * for loading it. While Kafka is away, `send` waits for it (the job waits with it, holding its lock).
 */
export function kafkaDlqWriter(config: Config): DlqWriter {
  let producer: Promise<IdempotentProducer> | undefined;
  const connected = (): Promise<IdempotentProducer> => {
    producer ??= import("../core/kafka/index.ts").then(
      ({ IdempotentProducer, kafkaOptions }) => new IdempotentProducer(kafkaOptions(config), "-dlq"),
    );
    return producer;
  };
  return {
    async send(records) {
      if (records.length === 0) return;
      const p = await connected();
      await p.send(
        records.map((r) => ({ topic: config.kafka.dlqTopic, key: dlqKey(r), value: dlqValue(r) })),
      );
    },
    async close() {
      const p = producer;
      producer = undefined;
      if (p) await (await p).close();
    },
  };
}
