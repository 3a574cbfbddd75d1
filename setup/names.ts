import type { Config } from "../core/config/index.ts";

/**
 * Names of the things capline owns in each store, derived from the configuration in one place so
 * setup, reset and the stages agree. Tests pass their own (random) names instead.
 */

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

/** Where ingestion keeps its per-file checkpoints (a topic the ingester creates itself). */
export function checkpointTopic(topic: string): string {
  return `${topic}.checkpoints`;
}

/** The consumer-group suffixes capline's stages use: `${KAFKA_CLIENT_ID}-<suffix>`. */
export const CONSUMER_GROUP_SUFFIXES = ["dispatcher"] as const;
export type ConsumerGroupSuffix = (typeof CONSUMER_GROUP_SUFFIXES)[number];

/** The Kafka consumer group of a stage: `capline-dispatcher`. */
export function consumerGroup(clientId: string, suffix: ConsumerGroupSuffix): string {
  return `${clientId}-${suffix}`;
}

/** Every consumer group of capline (reset deletes their offsets). */
export function consumerGroups(clientId: string): string[] {
  return CONSUMER_GROUP_SUFFIXES.map((s) => consumerGroup(clientId, s));
}

/** `1 partition`, `6 partitions`. */
export function partitionsText(n: number): string {
  return `${n} partition${n === 1 ? "" : "s"}`;
}
