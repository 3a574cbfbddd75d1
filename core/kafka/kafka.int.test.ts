import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { Consumer, FetchIsolationLevels, Producer, stringSerializers } from "@platformatic/kafka";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testConfig, uniqueName } from "../../test/support/index.ts";
import { PROJECT_ROOT } from "../config/index.ts";
import { CaplineError, ServiceUnavailableError } from "../errors.ts";
import {
  type Assignment,
  GroupConsumer,
  IdempotentProducer,
  KafkaAdmin,
  kafkaOptions,
  type PartitionBatch,
  readCommittedPartition,
  TransactionalProducer,
  waitForKafka,
} from "./index.ts";

/** The face against the real broker of the local stack: every topic and group is this file's own. */

const config = testConfig();
const options = kafkaOptions(config);
const admin = new KafkaAdmin(options);
const topics: string[] = [];

function newTopic(prefix: string): string {
  const topic = uniqueName(prefix);
  topics.push(topic);
  return topic;
}

async function createTopic(
  topic: string,
  partitions: number,
  configs?: Record<string, string>,
): Promise<void> {
  await admin.createTopic({ topic, partitions, replicationFactor: 1, ...(configs ? { configs } : {}) });
}

beforeAll(async () => {
  await waitForKafka(options);
});

afterAll(async () => {
  const existing = new Set(await admin.listTopics());
  await admin.deleteTopics(topics.filter((t) => existing.has(t))).catch(() => undefined);
  await admin.close();
});

/** Everything committed in a topic, per partition, read through the group consumer. */
async function consumeAll(
  topic: string,
  groupId: string,
  expected: number,
  consumerOptions: { maxBytesPerPartition?: number } = {},
): Promise<{ batches: PartitionBatch[]; assignments: Assignment[] }> {
  const batches: PartitionBatch[] = [];
  const assignments: Assignment[] = [];
  let count = 0;
  let done: () => void = () => undefined;
  let failed: (error: Error) => void = () => undefined;
  const finished = new Promise<void>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  const consumer = new GroupConsumer(
    options,
    { groupId, topic, maxWaitMs: 100, ...consumerOptions },
    {
      onAssignment: (a) => {
        assignments.push(a);
      },
      onBatch: async (batch) => {
        batches.push(batch);
        count += batch.messages.length;
        if (count >= expected) done();
      },
      onError: failed,
    },
  );
  const timer = setTimeout(() => failed(new Error(`only ${count} of ${expected} messages in 60 s`)), 60_000);
  try {
    await consumer.start();
    if (expected === 0) done();
    await finished;
  } finally {
    clearTimeout(timer);
    await consumer.stop();
  }
  return { batches, assignments };
}

describe("core/kafka against the real broker", () => {
  it("creates, describes and deletes topics, with their own settings", async () => {
    const topic = newTopic("kadmin");
    await createTopic(topic, 3, { "cleanup.policy": "compact", "segment.ms": "3600000" });
    expect(await admin.createTopic({ topic, partitions: 3, replicationFactor: 1 }, { ifMissing: true })).toBe(
      "exists",
    );
    const described = await admin.describeTopic(topic);
    expect(described?.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(described?.partitions.every((p) => p.leader >= 0)).toBe(true);
    expect(described?.replicationFactor).toBe(1);
    expect(await admin.topicConfigs(topic)).toEqual({ "cleanup.policy": "compact", "segment.ms": "3600000" });
    expect(await admin.offsets(topic)).toEqual([
      { partition: 0, low: 0, high: 0 },
      { partition: 1, low: 0, high: 0 },
      { partition: 2, low: 0, high: 0 },
    ]);
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.length).toBeGreaterThan(0);
    expect(cluster.controller).toBeGreaterThanOrEqual(0);
    await admin.deleteTopics([topic]);
    expect(await admin.describeTopic(topic)).toBeUndefined();
  });

  it("partitions keys exactly as kafkajs (the Java client's murmur2) did, and sends LZ4 batches", async () => {
    const fixture = JSON.parse(
      readFileSync(new URL("./fixtures/kafkajs-partitions.json", import.meta.url), "utf8"),
    ) as {
      counts: number[];
      keys: Array<[string, ...number[]]>;
    };
    const topic = newTopic("kpart");
    await createTopic(topic, 6);
    const producer = new IdempotentProducer(options);
    try {
      await producer.send(fixture.keys.map(([key]) => ({ topic, key, value: `value of ${key}` })));
    } finally {
      await producer.close();
    }
    const { batches } = await consumeAll(topic, uniqueName("kpart-group"), fixture.keys.length);
    const at = fixture.counts.indexOf(6) + 1;
    const expected = new Map(fixture.keys.map((row) => [row[0], row[at]]));
    const got = new Map(
      batches.flatMap((b) => b.messages.map((m) => [m.key?.toString("utf8"), b.partition])),
    );
    expect(got).toEqual(expected);

    // On the wire: every data batch of the topic is LZ4 (codec 3 in the attributes' low bits).
    const raw = new Consumer({
      clientId: "capline-test",
      bootstrapBrokers: [...options.brokers],
      groupId: uniqueName("raw"),
    });
    try {
      const metadata = await raw.metadata({ topics: [topic] });
      const meta = metadata.topics.get(topic);
      const response = await raw.fetch({
        node: meta?.partitions[0]?.leader ?? 0,
        topics: [
          {
            topicId: meta?.id ?? "",
            partitions: [0, 1, 2, 3, 4, 5].map((partition) => ({
              partition,
              fetchOffset: 0n,
              partitionMaxBytes: 1 << 20,
              currentLeaderEpoch: -1,
              lastFetchedEpoch: -1,
            })),
          },
        ],
        maxWaitTime: 0,
        isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
      });
      const codecs = response.responses.flatMap((t) =>
        t.partitions.flatMap((p) => (p.records ?? []).map((b) => b.attributes & 0x07)),
      );
      expect(codecs.length).toBeGreaterThan(0);
      expect(new Set(codecs)).toEqual(new Set([3]));
    } finally {
      await raw.close(true);
    }
  });

  it("makes a transaction visible whole or not at all, and fences an earlier producer of the same id", async () => {
    const topic = newTopic("ktxn");
    await createTopic(topic, 2);
    const transactionalId = uniqueName("ktxn-id");
    const first = new TransactionalProducer(options, { transactionalId });
    const second = new TransactionalProducer(options, { transactionalId });
    try {
      await first.fence();
      const stats = await first.transact(
        Array.from({ length: 50 }, (_, i) => ({ topic, key: `k${i}`, value: `committed ${i}` })),
      );
      expect(stats).toMatchObject({ messages: 50, requests: 1 });
      await second.fence();
      const refused = await first
        .transact([{ topic, key: "k", value: "from the fenced producer" }])
        .catch((e) => e);
      expect(refused).toBeInstanceOf(CaplineError);
      expect((refused as CaplineError).code).toBe("CONFLICT");
      await second.transact([{ topic, key: "k", value: "from the new producer" }]);
    } finally {
      await first.close();
      await second.close();
    }
    const { batches } = await consumeAll(topic, uniqueName("ktxn-group"), 51);
    const values = batches.flatMap((b) => b.messages.map((m) => m.value?.toString()));
    expect(values).toHaveLength(51);
    expect(values).not.toContain("from the fenced producer");
    expect(values).toContain("from the new producer");
  });

  it("never delivers aborted records, even when a fetch ends inside an aborted transaction", async () => {
    // The shape @platformatic/kafka 2.12's own consumer gets wrong: aborted transactions larger
    // than one fetch answer, several per producer, between committed ones.
    const topic = newTopic("kabort");
    await createTopic(topic, 1);
    const transactionalId = uniqueName("kabort-id");
    const pad = "x".repeat(300);
    const batch = (label: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        topic,
        key: `k${i}`,
        value: `${label}-${i}-${pad}-${Math.random()}`,
      }));
    const producer = new TransactionalProducer(options, { transactionalId });
    await producer.fence();
    const expected: string[] = [];
    const commit = async (label: string, n: number) => {
      const messages = batch(label, n);
      await producer.transact(messages);
      expected.push(...messages.map((m) => m.value));
    };
    const otherId = uniqueName("kabort-other");
    const abort = async (label: string, n: number) => {
      // Another producer's transaction, aborted (the client's own API: the face only commits).
      const other = new Producer({
        clientId: "capline-test",
        bootstrapBrokers: [...options.brokers],
        idempotent: true,
        // One id for both: two aborted transactions of one producer in the partition.
        transactionalId: otherId,
        // As core/kafka does: without -1/-1, the client cannot take a transactional id over.
        producerId: -1n,
        producerEpoch: -1,
        serializers: stringSerializers,
        compression: "lz4",
      });
      const txn = await other.beginTransaction();
      const messages = batch(label, n);
      for (let i = 0; i < messages.length; i += 2000)
        await txn.send({ messages: messages.slice(i, i + 2000) });
      await txn.abort();
      await other.close();
    };
    try {
      await commit("c1", 3000);
      await abort("aborted1", 8000);
      await commit("c2", 3000);
      await abort("aborted2", 8000);
      await commit("c3", 100);
    } finally {
      await producer.close();
    }
    const { batches } = await consumeAll(topic, uniqueName("kabort-group"), expected.length, {
      maxBytesPerPartition: 256 << 10,
    });
    const values = batches.flatMap((b) => b.messages.map((m) => m.value?.toString() ?? ""));
    expect(values.filter((v) => v.startsWith("aborted"))).toEqual([]);
    expect(values).toEqual(expected);
    // The last batch ends at the end of committed data: nothing left, markers included.
    const last = batches[batches.length - 1];
    expect(last?.lag).toBe(0);
    expect(last?.nextOffset).toBe((await admin.offsets(topic, { readCommitted: true }))[0]?.high);

    const read: string[] = [];
    await readCommittedPartition(options, topic, 0, (r) => read.push(r.value?.toString() ?? ""), {
      maxBytes: 256 << 10,
    });
    expect(read).toEqual(expected);
  });

  it("pauses, resumes, seeks and commits per partition, and starts from the committed offsets", async () => {
    const topic = newTopic("kgroup");
    await createTopic(topic, 2);
    const producer = new TransactionalProducer(options, { transactionalId: uniqueName("kgroup-id") });
    await producer.fence();
    await producer.transact(
      Array.from({ length: 40 }, (_, i) => ({ topic, key: null, value: `p${i % 2}-${i}`, partition: i % 2 })),
    );
    await producer.close();
    const groupId = uniqueName("kgroup-group");
    const seen: Array<[number, string]> = [];
    const assignments: Assignment[] = [];
    let consumer: GroupConsumer | undefined;
    let sought = false;
    const waitFor = async (check: () => boolean) => {
      const deadline = Date.now() + 30_000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out; seen ${JSON.stringify(seen)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    consumer = new GroupConsumer(
      options,
      { groupId, topic, maxWaitMs: 100 },
      {
        onAssignment: (a) => {
          assignments.push(a);
          consumer?.pause(1);
        },
        onBatch: async (b) => {
          for (const m of b.messages) seen.push([b.partition, m.value?.toString() ?? ""]);
          if (b.partition === 0 && !sought) {
            sought = true;
            // Read partition 0 again from offset 15.
            consumer?.seek(0, 15);
          }
        },
        onError: (error) => {
          throw error;
        },
      },
    );
    try {
      await consumer.start();
      expect(assignments[0]?.assigned).toEqual([
        { partition: 0, committed: -1, position: 0 },
        { partition: 1, committed: -1, position: 0 },
      ]);
      await waitFor(() => seen.filter(([p]) => p === 0).length >= 25);
      expect(seen.every(([p]) => p === 0)).toBe(true);
      expect(seen.filter(([p]) => p === 0).map(([, v]) => v)).toEqual([
        ...Array.from({ length: 20 }, (_, i) => `p0-${2 * i}`),
        ...Array.from({ length: 5 }, (_, i) => `p0-${2 * (i + 15)}`),
      ]);
      expect(consumer.isPaused(1)).toBe(true);
      consumer.resume(1);
      await waitFor(() => seen.filter(([p]) => p === 1).length >= 20);
      await consumer.commit([
        { partition: 0, offset: 7 },
        { partition: 1, offset: 3 },
      ]);
      expect(await consumer.committed([0, 1])).toEqual(
        new Map([
          [0, 7],
          [1, 3],
        ]),
      );
    } finally {
      await consumer.stop();
    }
    expect(await admin.committedOffsets(groupId, topic)).toEqual(
      new Map([
        [0, 7],
        [1, 3],
      ]),
    );
    // A new member of the group starts where the group committed.
    const again = await consumeAll(topic, groupId, 40 - 7 - 3);
    expect(again.assignments[0]?.assigned).toEqual([
      { partition: 0, committed: 7, position: 7 },
      { partition: 1, committed: 3, position: 3 },
    ]);
    expect((await admin.describeGroups([groupId]))[0]).toMatchObject({ groupId, members: 0 });
    await admin.resetGroupToEarliest(groupId, topic);
    expect(await admin.committedOffsets(groupId, topic)).toEqual(
      new Map([
        [0, 0],
        [1, 0],
      ]),
    );
    await admin.deleteGroups([groupId, uniqueName("never-existed")]);
    expect((await admin.describeGroups([groupId]))[0]?.state).toBe("Dead");
  });

  it("leaves nothing behind that keeps a stopped member's process alive", async () => {
    // The stop's time limits were plain sleeps raced against the work: they outlived it and held
    // every stopping `capline process` open for the rest of the budget (2 s, cut by the CLI).
    const topic = newTopic("kstop");
    await createTopic(topic, 1);
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "core/kafka/fixtures/stop-and-exit.ts", topic, uniqueName("kstop-group")],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, KAFKA_BROKERS: config.kafka.brokers.join(","), LOG_LEVEL: "warn" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    let stoppedAt: number | undefined;
    child.stdout.on("data", (b: Buffer) => {
      stdout += b.toString();
      if (stdout.includes("stopped")) stoppedAt ??= Date.now();
    });
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), 50_000);
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    clearTimeout(killer);
    expect({ code, stdout, stderr }).toMatchObject({ code: 0, stdout: "stopped\n" });
    // Its stop budget is 30 s: anything it left would keep it alive about that long.
    expect(Date.now() - (stoppedAt ?? 0)).toBeLessThan(10_000);
  }, 60_000);

  it("names the brokers when none answers", async () => {
    const down = kafkaOptions(testConfig({ KAFKA_BROKERS: "127.0.0.1:1", KAFKA_CONNECT_TIMEOUT_MS: "1000" }));
    const error = await waitForKafka(down).catch((e) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as Error).message).toMatch(
      /^Kafka is not reachable at 127\.0\.0\.1:1: .*KAFKA_CONNECT_TIMEOUT_MS/,
    );
    const adminDown = new KafkaAdmin({ ...down, retries: 0 });
    const listed = await adminDown.listTopics().catch((e) => e);
    await adminDown.close();
    expect(listed).toBeInstanceOf(ServiceUnavailableError);
    expect((listed as Error).message).toMatch(/^Kafka is not reachable at 127\.0\.0\.1:1: list topics: /);
  });
});
