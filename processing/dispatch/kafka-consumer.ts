import {
  GroupConsumer,
  type IdempotentProducer,
  type KafkaOptions,
  type PartitionBatch,
} from "../../core/kafka/index.ts";
import type { DlqRecord } from "./classify.ts";
import type { ConsumerHandlers, DispatchConsumer, DlqProducer } from "./consumer.ts";

/** The group member's fetch settings (core/kafka's GroupConsumerOptions without group and topic). */
export interface KafkaConsumerSettings {
  groupId: string;
  topic: string;
  /**
   * Largest answer per partition and fetch. 256 KiB: the answers of all the member's partitions
   * are held while the lanes work through them (with the benchmark's six partitions, 4 MiB held
   * about 200,000 parsed messages, 1 MiB about 58,000 and 42 MB of heap; BENCHMARKS.md, "Memory of
   * the process" and "Smaller fetches, a smaller write cache").
   * @defaultValue 256 KiB
   */
  maxBytesPerPartition?: number;
  /** A fetch's wait at the broker; stopping waits for the fetch in flight. @defaultValue 500 */
  maxWaitMs?: number;
}

/**
 * `DispatchConsumer` over core/kafka's `GroupConsumer`. The group consumer follows the eager
 * protocol: after every rejoin each partition it keeps starts again from its committed offset,
 * so a kept partition is announced as revoked and assigned again (the dispatcher then rebuilds
 * its state from the committed offset and the cut registry, as the contract asks).
 */
export class KafkaDispatchConsumer implements DispatchConsumer {
  readonly topic: string;
  private consumer: GroupConsumer | undefined;
  private owned: number[] = [];

  constructor(
    private readonly kafka: KafkaOptions,
    private readonly settings: KafkaConsumerSettings,
  ) {
    this.topic = settings.topic;
  }

  async start(handlers: ConsumerHandlers): Promise<void> {
    this.consumer = new GroupConsumer(
      this.kafka,
      {
        groupId: this.settings.groupId,
        topic: this.settings.topic,
        maxBytesPerPartition: this.settings.maxBytesPerPartition ?? 256 * 1024,
        // Stopping waits for the fetch in flight: a short wait keeps every --until-idle exit short.
        maxWaitMs: this.settings.maxWaitMs ?? 500,
        sessionTimeoutMs: 30_000,
        heartbeatIntervalMs: 3_000,
      },
      {
        onAssignment: async (assignment) => {
          const before = this.owned;
          this.owned = assignment.assigned.map((a) => a.partition);
          const revoked = [...new Set([...before, ...assignment.revoked])];
          if (revoked.length > 0) await handlers.revoked(revoked);
          if (this.owned.length > 0) await handlers.assigned(this.owned);
        },
        onBatch: (batch) => handlers.batch(toConsumedBatch(batch)),
        onError: (error) => handlers.fatal(error),
      },
    );
    await this.consumer.start();
  }

  async committed(partition: number): Promise<number | undefined> {
    const offset = (await this.running().committed([partition])).get(partition);
    return offset === undefined || offset < 0 ? undefined : offset;
  }

  async commit(partition: number, offset: number): Promise<void> {
    await this.running().commit([{ partition, offset }]);
  }

  pause(partition: number): void {
    this.running().pause(partition);
  }

  resume(partition: number): void {
    this.running().resume(partition);
  }

  seek(partition: number, offset: number): void {
    this.running().seek(partition, offset);
  }

  async close(budgetMs = 5_000): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    if (consumer) await consumer.stop(budgetMs);
  }

  private running(): GroupConsumer {
    if (!this.consumer) throw new Error(`the dispatcher's consumer of ${this.topic} is not running`);
    return this.consumer;
  }
}

export function toConsumedBatch(batch: PartitionBatch) {
  return {
    partition: batch.partition,
    from: batch.fetchOffset,
    messages: batch.messages.map((m) => ({ offset: m.offset, value: m.value })),
    next: batch.nextOffset,
    caughtUp: batch.lag <= 0,
  };
}

/** The dispatcher's DLQ records through core/kafka's idempotent producer. */
export function kafkaDlqProducer(producer: IdempotentProducer, dlqTopic: string): DlqProducer {
  return {
    send: (records: readonly DlqRecord[]) =>
      producer.send(records.map((r) => ({ topic: dlqTopic, key: r.key, value: r.value }))),
  };
}
