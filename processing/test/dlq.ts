import type { Pipeline } from "./harness.ts";

/** A DLQ record as the dispatcher and the workers write it. */
export interface DlqBody {
  source: { topic: string; partition: number; offset: number };
  raw: string | null;
  reason: string;
  detail: string;
  sink?: string;
  stage?: string;
}

/** The DLQ records of a test pipeline's topic, by key (the DLQ is at-least-once: a key may come twice). */
export async function dlqRecords(pipeline: Pipeline): Promise<Map<string, DlqBody>> {
  const topic = pipeline.config.kafka.dlqTopic;
  const group = `${pipeline.name}-dlq-reader`;
  const admin = pipeline.kafka.admin();
  await admin.connect();
  const end = (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  await admin.disconnect();
  const out = new Map<string, DlqBody>();
  if (end === 0) return out;
  const consumer = pipeline.kafka.consumer({ groupId: group });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`DLQ: read ${seen} of ${end} records in 30 s`)), 30_000);
    consumer
      .run({
        eachMessage: async ({ message }) => {
          seen++;
          out.set(String(message.key), JSON.parse(String(message.value)) as DlqBody);
          if (seen >= end) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  const admin2 = pipeline.kafka.admin();
  await admin2.connect();
  await admin2.deleteGroups([group]).catch(() => undefined);
  await admin2.disconnect();
  return out;
}
