import { type BaseOptions, compatibilityPartitioner } from "@platformatic/kafka";
import type { KafkaOptions } from "./options.ts";

/**
 * What all of core/kafka's clients share: the client's base options made from capline's, and the
 * partitioner. Nothing outside core/kafka sees the client package.
 */

/** The client's base options for capline's. */
export function baseOptions(options: KafkaOptions, clientIdSuffix = ""): BaseOptions {
  return {
    clientId: `${options.clientId}${clientIdSuffix}`,
    bootstrapBrokers: [...options.brokers],
    connectTimeout: options.socketTimeoutMs,
    timeout: options.requestTimeoutMs,
    retries: options.retries,
    retryDelay: options.retryDelayMs,
  };
}

/** A message key as bytes (UTF-8 for text), as it goes on the wire and into the partitioner. */
export function keyBytes(key: string | Buffer | null | undefined): Buffer | undefined {
  if (key === null || key === undefined) return undefined;
  return typeof key === "string" ? Buffer.from(key, "utf8") : key;
}

/**
 * The partition of a keyed message among `partitions`: murmur2 of the key's bytes, made positive
 * and taken modulo the count, exactly as Kafka's Java client and kafkajs's default partitioner
 * do. That is what the events already in users' topics were partitioned with, and what the
 * dispatcher, processing and deduplication rely on (a customer's events stay in one partition).
 */
export function partitionOf(key: Buffer, partitions: number): number {
  return compatibilityPartitioner(undefined as never, key) % partitions;
}

/**
 * `partitionOf` for text keys, remembered per key: murmur2 costs microseconds in the client
 * (64-bit arithmetic in BigInt), and customers recur. Bounded: cleared at a million keys.
 */
export class KeyPartitioner {
  private readonly cache = new Map<string, number>();
  private count = 0;

  partition(key: string, bytes: Buffer, partitions: number): number {
    if (partitions !== this.count) {
      this.cache.clear();
      this.count = partitions;
    }
    let partition = this.cache.get(key);
    if (partition === undefined) {
      partition = partitionOf(bytes, partitions);
      if (this.cache.size >= 1_000_000) this.cache.clear();
      this.cache.set(key, partition);
    }
    return partition;
  }
}
