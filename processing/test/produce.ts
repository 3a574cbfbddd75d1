import { KafkaAdmin, type KafkaOptions, TransactionalProducer } from "../../core/kafka/index.ts";
import type { CaplineEvent } from "../../core/schema/events.ts";

/** Creates a topic and produces events in transactions (as the ingester does), key = user_id. */
export async function produceEvents(
  kafka: KafkaOptions,
  topic: string,
  partitions: number,
  events: readonly CaplineEvent[],
  options: { poison?: string[]; batch?: number } = {},
): Promise<void> {
  await createTopic(kafka, topic, partitions);
  const producer = new TransactionalProducer(kafka, { transactionalId: `${topic}-test-producer` });
  const batch = options.batch ?? 1000;
  try {
    await producer.fence();
    for (let i = 0; i < events.length; i += batch) {
      const messages = events
        .slice(i, i + batch)
        .map((e) => ({ topic, key: e.user_id, value: JSON.stringify(e) }));
      if (i === 0)
        for (const raw of options.poison ?? []) messages.push({ topic, key: "poison", value: raw });
      await producer.transact(messages);
    }
  } finally {
    await producer.close();
  }
}

/** Creates a topic (when missing) and waits until every partition has a leader and answers. */
export async function createTopic(kafka: KafkaOptions, topic: string, partitions: number): Promise<void> {
  const admin = new KafkaAdmin(kafka);
  try {
    await admin.createTopic({ topic, partitions, replicationFactor: 1 }, { ifMissing: true });
  } finally {
    await admin.close();
  }
}
