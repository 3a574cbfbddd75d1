import type { Config } from "../core/config/index.ts";

/** The topics setup creates, from the configuration (their names: core/names.ts). */

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor: number;
}

/**
 * The topics `capline setup` creates: events and DLQ, both with KAFKA_PARTITIONS partitions. The
 * DLQ is keyed like the events, and the ingester (which creates missing topics itself) uses the
 * same count, so whichever runs first leaves the same topics.
 */
export function topicSpecs(config: Config): TopicSpec[] {
  const replicationFactor = config.kafka.replicationFactor;
  const partitions = config.kafka.partitions;
  return [
    { topic: config.kafka.topic, partitions, replicationFactor },
    { topic: config.kafka.dlqTopic, partitions, replicationFactor },
  ];
}

/** `1 partition`, `6 partitions`. */
export function partitionsText(n: number): string {
  return `${n} partition${n === 1 ? "" : "s"}`;
}
