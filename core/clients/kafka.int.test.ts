import { afterEach, describe, expect, it } from "vitest";
import { testConfig, uniqueName } from "../../test/support/index.ts";
import { createKafka } from "./kafka.ts";

describe("kafkajs smoke", () => {
  const config = testConfig();
  const kafka = createKafka(config);
  const topic = uniqueName("smoke-kafka");
  const admin = kafka.admin();

  afterEach(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it("produces keyed messages and consumes them back in order", async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }] });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const sent = ["a", "b", "c"].map((v, i) => ({ key: "user-1", value: JSON.stringify({ v, i }) }));
    await producer.send({ topic, messages: sent });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName("smoke-group") });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: { key: string; value: string; partition: number }[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${received.length} of 3 messages in 60 s`)),
        60_000,
      );
      consumer
        .run({
          eachMessage: async ({ message, partition }) => {
            received.push({ key: String(message.key), value: String(message.value), partition });
            if (received.length === 3) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    expect(received.map((r) => JSON.parse(r.value).v)).toEqual(["a", "b", "c"]);
    // One key, one partition: that is what keeps a customer's events in order.
    expect(new Set(received.map((r) => r.partition)).size).toBe(1);
    expect(received.every((r) => r.key === "user-1")).toBe(true);
  });
});
