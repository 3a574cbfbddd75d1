import { KafkaAdmin, readCommittedPartition } from "../../core/kafka/index.ts";
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
  const admin = new KafkaAdmin(pipeline.kafka);
  const partitions = await admin.offsets(topic).finally(() => admin.close());
  const out = new Map<string, DlqBody>();
  for (const { partition, low, high } of partitions) {
    if (high <= low) continue;
    await readCommittedPartition(pipeline.kafka, topic, partition, (record) => {
      out.set(String(record.key), JSON.parse(String(record.value)) as DlqBody);
    });
  }
  return out;
}
