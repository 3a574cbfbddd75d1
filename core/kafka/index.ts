/**
 * capline's one door to Kafka (README.md beside this file): every Kafka use in the project goes
 * through these types and functions, and no other folder imports a Kafka client package (a unit
 * test, door.test.ts, fails otherwise). Underneath: @platformatic/kafka (docs/decisions.md,
 * "Kafka client"). Every operation throws CaplineErrors (code, cause, retryable); offsets are
 * numbers.
 */
export {
  type ClusterDescription,
  type GroupDescription,
  KafkaAdmin,
  type PartitionDescription,
  type PartitionOffsets,
  type TopicDescription,
  type TopicSpec,
  waitForKafka,
} from "./admin.ts";
export { partitionOf } from "./client.ts";
export { hasKafkaError, isNetworkFailure, isRetryable, reasonOf, toCaplineError } from "./errors.ts";
export {
  type AssignedPartition,
  type Assignment,
  type ConsumedMessage,
  GroupConsumer,
  type GroupConsumerHandlers,
  type GroupConsumerOptions,
  type PartitionBatch,
} from "./group-consumer.ts";
export { type KafkaOptions, type KafkaOverrides, kafkaOptions } from "./options.ts";
export { type ReadOptions, readCommittedPartition } from "./partition-reader.ts";
export {
  IdempotentProducer,
  isFenced,
  MAX_BATCH_BYTES,
  type OutgoingMessage,
  TransactionalProducer,
  type TransactionalProducerOptions,
  type TransactionStats,
} from "./producer.ts";
export type { CommittedRecord } from "./read-committed.ts";
