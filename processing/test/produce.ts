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
  await createTopic(kafka, topic, partitions);
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

/** Creates a topic and waits until every partition has a leader (a loaded broker can take a while). */
export async function createTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: false });
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const meta = await admin.fetchTopicMetadata({ topics: [topic] });
        const parts = meta.topics[0]?.partitions ?? [];
        if (parts.length === partitions && parts.every((p) => p.leader >= 0)) return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) throw new Error(`topic ${topic} has no leaders after 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    await admin.disconnect();
  }
}
