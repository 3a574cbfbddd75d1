import { Queue, QueueEvents, Worker } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { testConfig, uniqueName } from "../../test/support/index.ts";
import { createRedis } from "./redis.ts";

describe("BullMQ through Redis smoke", () => {
  const config = testConfig();
  const prefix = uniqueName("smoke-bull");
  const name = uniqueName("queue");
  const connection = createRedis(config);
  const queue = new Queue(name, { connection, prefix });
  const events = new QueueEvents(name, { connection: createRedis(config), prefix });
  const seen: unknown[] = [];
  const worker = new Worker(
    name,
    async (job) => {
      seen.push(job.data);
      return { sum: (job.data as { a: number; b: number }).a + (job.data as { a: number; b: number }).b };
    },
    { connection: createRedis(config), prefix },
  );

  afterAll(async () => {
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    await events.close();
    // obliterate leaves the queue's meta/event keys: remove everything under the prefix.
    const keys = await connection.keys(`${prefix}:*`);
    if (keys.length) await connection.del(...keys);
    await connection.quit();
  });

  it("runs a job in a worker and returns its result", async () => {
    await events.waitUntilReady();
    const job = await queue.add("sum", { a: 2, b: 40 });
    const result = await job.waitUntilFinished(events, 30_000);
    expect(result).toEqual({ sum: 42 });
    expect(seen).toEqual([{ a: 2, b: 40 }]);
    expect(await queue.getJobCounts("completed")).toEqual({ completed: 1 });
  });
});
