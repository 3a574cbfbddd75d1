import { afterAll, describe, expect, it } from "vitest";
import { KafkaAdmin, kafkaOptions, TransactionalProducer } from "../../core/kafka/index.ts";
import { testConfig, uniqueName } from "../../test/support/index.ts";
import { sleep } from "../retry.ts";
import type { ConsumedBatch, ConsumerHandlers } from "./consumer.ts";
import { KafkaDispatchConsumer } from "./kafka-consumer.ts";

/**
 * The dispatcher's consumer contract (consumer.ts) kept by the adapter over core/kafka, against the
 * real broker: batches chained by `from`/`next` past transaction markers, commits read back, seek,
 * and a second member joining (the first one's kept partition is announced revoked and assigned).
 */

const config = testConfig();
const options = kafkaOptions(config);
const admin = new KafkaAdmin(options);
const topic = uniqueName("dispatch-consumer");

afterAll(async () => {
  await admin.deleteTopics([topic]).catch(() => undefined);
  await admin.close();
});

interface Member {
  consumer: KafkaDispatchConsumer;
  batches: ConsumedBatch[];
  /** Each call with the number of batches delivered before it. */
  calls: Array<{ kind: "assigned" | "revoked"; partitions: number[]; at: number }>;
}

async function member(groupId: string): Promise<Member> {
  const consumer = new KafkaDispatchConsumer(options, { groupId, topic, maxWaitMs: 100 });
  const out: Member = { consumer, batches: [], calls: [] };
  const handlers: ConsumerHandlers = {
    assigned: async (partitions) => {
      out.calls.push({ kind: "assigned", partitions: [...partitions].sort(), at: out.batches.length });
    },
    revoked: async (partitions) => {
      out.calls.push({ kind: "revoked", partitions: [...partitions].sort(), at: out.batches.length });
    },
    batch: async (batch) => {
      out.batches.push(batch);
    },
    fatal: (error) => {
      throw error;
    },
  };
  await consumer.start(handlers);
  return out;
}

async function until(what: string, done: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}`);
    await sleep(50);
  }
}

/** The last position reached per partition (the `next` of its last batch). */
const reached = (m: Member, p: number) => m.batches.filter((b) => b.partition === p).at(-1)?.next;

describe("KafkaDispatchConsumer (the dispatcher's consumer over core/kafka, real broker)", () => {
  it("chains batches past transaction markers, commits, seeks, and re-announces kept partitions after a rejoin", async () => {
    await admin.createTopic({ topic, partitions: 2, replicationFactor: 1 });
    const producer = new TransactionalProducer(options, { transactionalId: uniqueName("dispatch-tx") });
    try {
      await producer.fence();
      // Three transactions into both partitions: each leaves a commit marker after its records.
      for (let t = 0; t < 3; t++)
        await producer.transact(
          Array.from({ length: 10 }, (_, i) => ({ topic, key: null, value: `t${t}-${i}`, partition: i % 2 })),
        );
    } finally {
      await producer.close();
    }
    const ends = new Map((await admin.offsets(topic)).map((o) => [o.partition, o.high]));
    // 15 records and 3 markers per partition.
    expect([...ends.values()]).toEqual([18, 18]);

    const groupId = uniqueName("dispatch-group");
    const a = await member(groupId);
    try {
      expect(a.calls[0]).toEqual({ kind: "assigned", partitions: [0, 1], at: 0 });
      expect(await a.consumer.committed(0)).toBeUndefined();
      await until("both partitions read to their end", () => reached(a, 0) === 18 && reached(a, 1) === 18);
      for (const p of [0, 1]) {
        const batches = a.batches.filter((b) => b.partition === p);
        // Chained: each batch continues where the previous one ended, the first from the log start.
        expect(batches[0]?.from).toBe(0);
        for (let i = 1; i < batches.length; i++) expect(batches[i]?.from).toBe(batches[i - 1]?.next);
        const messages = batches.flatMap((b) => b.messages);
        expect(messages.map((m) => String(m.value))).toEqual(
          [0, 1, 2].flatMap((t) => Array.from({ length: 5 }, (_, i) => `t${t}-${2 * i + p}`)),
        );
        // Markers are never delivered as messages; the last batch is caught up at the end.
        expect(messages.every((m) => m.offset < 18)).toBe(true);
        expect(batches.at(-1)?.caughtUp).toBe(true);
      }

      await a.consumer.commit(0, 18);
      await a.consumer.commit(1, 6);
      expect(await a.consumer.committed(0)).toBe(18);
      expect(await a.consumer.committed(1)).toBe(6);

      // Seek: the next batch of partition 1 starts at the offset sought.
      const seen = a.batches.length;
      a.consumer.seek(1, 6);
      await until("a batch after the seek", () => a.batches.slice(seen).some((b) => b.partition === 1));
      expect(a.batches.slice(seen).find((b) => b.partition === 1)?.from).toBe(6);

      // A second member joins: the first loses one partition and keeps the other, which starts
      // again from its committed offset, so it is announced revoked and assigned again.
      const callsBefore = a.calls.length;
      const b = await member(groupId);
      try {
        await until("the rebalance reaching the first member", () => a.calls.length >= callsBefore + 2);
        const [revoked, assigned] = a.calls.slice(callsBefore);
        expect(revoked?.kind).toBe("revoked");
        expect(revoked?.partitions).toEqual([0, 1]);
        expect(assigned?.kind).toBe("assigned");
        expect(assigned?.partitions).toHaveLength(1);
        const mine = assigned?.partitions[0] as number;
        const theirs = b.calls.find((c) => c.kind === "assigned")?.partitions;
        expect(theirs).toEqual([1 - mine]);
        // Each partition is read again from the group's commits (18 for 0, 6 for 1) by its new owner.
        const owners = new Map([
          [mine, { m: a, from: assigned?.at ?? 0 }],
          [1 - mine, { m: b, from: 0 }],
        ]);
        const firstAfter = (p: number) => {
          const o = owners.get(p);
          return o?.m.batches.slice(o.from).find((x) => x.partition === p);
        };
        await until("partition 1 read again after the rebalance", () => firstAfter(1) !== undefined);
        expect(firstAfter(1)?.from).toBe(6);
        expect(firstAfter(1)?.messages.map((m) => m.offset)[0]).toBeGreaterThanOrEqual(6);
      } finally {
        await b.consumer.close();
      }
    } finally {
      await a.consumer.close();
    }
  });
});
