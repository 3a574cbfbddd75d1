import { createRequire } from "node:module";
import type * as Kafkajs from "kafkajs";
import { createKafka } from "../../core/clients/kafka.ts";
import type { Config } from "../../core/config/index.ts";

const DAY_MS = 86_400_000;
// Node's ESM view of kafkajs (CommonJS) does not list its enums (core/clients/kafka.ts does the same).
const { ConfigResourceTypes } = createRequire(import.meta.url)("kafkajs") as typeof Kafkajs;

/**
 * How long a tombstone must last: the events topic's retention (`retention.ms`, as the broker
 * applies it to the topic: its own setting or the broker's default), or FORGET_TOMBSTONE_DAYS when
 * that is longer. Infinity when either keeps records forever (-1). After that long, Kafka no longer
 * holds the events a replay could bring back (docs/forget.md, "Kafka").
 */
export async function tombstoneMs(config: Config): Promise<number> {
  const floor =
    config.forget.tombstoneDays < 0 ? Number.POSITIVE_INFINITY : config.forget.tombstoneDays * DAY_MS;
  const admin = createKafka(config).admin();
  await admin.connect();
  try {
    const described = await admin.describeConfigs({
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: config.kafka.topic, configNames: ["retention.ms"] },
      ],
      includeSynonyms: false,
    });
    const raw = described.resources[0]?.configEntries.find(
      (e) => e.configName === "retention.ms",
    )?.configValue;
    const topic = raw === undefined || raw === null ? undefined : Number(raw);
    if (topic === undefined || !Number.isFinite(topic)) return floor;
    return topic < 0 ? Number.POSITIVE_INFINITY : Math.max(topic, floor);
  } finally {
    await admin.disconnect();
  }
}
