import type { Kafka } from "kafkajs";
import type { CaplineEvent } from "../../core/schema/events.ts";

/** Creates a topic and produces events in transactions (as the ingester does), key = user_id. */
export async function produceEvents(
  kafka: Kafka,
  topic: string,
  partitions: number,
  events: readonly CaplineEvent[],
  options: { poison?: string[]; batch?: number } = {},
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  await admin.disconnect();
  const producer = kafka.producer({
    transactionalId: `${topic}-test-producer`,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  const batch = options.batch ?? 1000;
  try {
    for (let i = 0; i < events.length; i += batch) {
      const tx = await producer.transaction();
      const messages = events.slice(i, i + batch).map((e) => ({ key: e.user_id, value: JSON.stringify(e) }));
      if (i === 0) for (const raw of options.poison ?? []) messages.push({ key: "poison", value: raw });
      await tx.send({ topic, messages });
      await tx.commit();
    }
  } finally {
    await producer.disconnect();
  }
}
