import { Kafka, type KafkaConfig, logLevel as KafkaLogLevel } from "kafkajs";
import type { Config } from "../config/index.ts";
import { logger } from "../logging.ts";

/**
 * A kafkajs client for capline's brokers. kafkajs logs through capline's structured logger, so
 * its lines carry the stage and never go to stdout.
 */
export function createKafka(config: Config, overrides: Partial<KafkaConfig> = {}): Kafka {
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
