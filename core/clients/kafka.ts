import { createRequire } from "node:module";
import type * as Kafkajs from "kafkajs";
import { Kafka, type KafkaConfig, logLevel as KafkaLogLevel } from "kafkajs";
import { compressFrame, decompressFrame } from "lz4-napi";
import type { Config } from "../config/index.ts";
import { logger } from "../logging.ts";

// The ingester sends LZ4 batches (docs/ingestion.md: a quarter of gzip's CPU on both sides);
// kafkajs ships gzip only, so every capline client gets an LZ4 codec (native, lz4-napi). Through
// require: Node's ESM view of kafkajs (CommonJS) does not list CompressionCodecs.
const { CompressionCodecs, CompressionTypes } = createRequire(import.meta.url)("kafkajs") as typeof Kafkajs;
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  compress: (encoder: { buffer: Buffer }) => compressFrame(encoder.buffer),
  decompress: (buffer: Buffer) => decompressFrame(buffer),
});

/**
 * A kafkajs client for capline's brokers. kafkajs logs through capline's structured logger, so
 * its lines carry the stage and never go to stdout.
 */
export function createKafka(config: Config, overrides: Partial<KafkaConfig> = {}): Kafka {
  // kafkajs warns on every producer made without an explicit partitioner that its default changed
  // in v2. capline wants that default (murmur2, the Java client's partitioning) everywhere; the
  // notice is migration noise in every log and test run.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= "1";
  const log = logger("kafka");
  return new Kafka({
    clientId: config.kafka.clientId,
    brokers: config.kafka.brokers,
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 300, retries: 8, maxRetryTime: 10_000 },
    logLevel: KafkaLogLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...rest } = entry;
        const method =
          level <= KafkaLogLevel.ERROR ? "error" : level === KafkaLogLevel.WARN ? "warn" : "debug";
        log[method](rest, message);
      },
    ...overrides,
  });
}
