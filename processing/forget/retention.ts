import type { Config } from "../../core/config/index.ts";
import { KafkaAdmin, kafkaOptions } from "../../core/kafka/index.ts";

const DAY_MS = 86_400_000;

/**
 * How long a tombstone must last: the events topic's own `retention.ms` (set on the topic), or
 * FORGET_TOMBSTONE_DAYS when that is longer or the topic sets none (the broker's default then
 * applies: 7 days unless the broker was configured otherwise, which FORGET_TOMBSTONE_DAYS must then
 * follow). Infinity when either keeps records forever (-1). After that long, Kafka no longer holds
 * the events a replay could bring back (docs/forget.md, "Kafka").
 */
export async function tombstoneMs(config: Config): Promise<number> {
  const floor =
    config.forget.tombstoneDays < 0 ? Number.POSITIVE_INFINITY : config.forget.tombstoneDays * DAY_MS;
  const admin = new KafkaAdmin(kafkaOptions(config));
  try {
    const raw = (await admin.topicConfigs(config.kafka.topic))["retention.ms"];
    return retentionFloor(raw, floor);
  } finally {
    await admin.close();
  }
}

/** The topic's `retention.ms` (a string, or undefined when the topic sets none) against the floor. */
export function retentionFloor(raw: string | undefined, floorMs: number): number {
  const topic = raw === undefined ? Number.NaN : Number(raw);
  if (!Number.isFinite(topic)) return floorMs;
  return topic < 0 ? Number.POSITIVE_INFINITY : Math.max(topic, floorMs);
}
