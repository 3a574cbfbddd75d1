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
 * The refused-rows topic has one partition: it is small, and one partition keeps rejects in the
 * order they were found, which is how people read them.
 */
export const DLQ_PARTITIONS = 1;

/** The topics `capline setup` creates: events (KAFKA_PARTITIONS) and the DLQ. */
export function topicSpecs(config: Config): TopicSpec[] {
  const replicationFactor = config.kafka.replicationFactor;
  return [
    { topic: config.kafka.topic, partitions: config.kafka.partitions, replicationFactor },
    { topic: config.kafka.dlqTopic, partitions: DLQ_PARTITIONS, replicationFactor },
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
