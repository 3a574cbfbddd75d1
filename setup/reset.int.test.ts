import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis } from "../core/clients/redis.ts";
import { ExitCode } from "../core/exit-codes.ts";
import type { SnakeKeys } from "../core/json/index.ts";
import { GroupConsumer, IdempotentProducer, kafkaOptions } from "../core/kafka/index.ts";
import {
  aliasName,
  checkpointTopicOf,
  concreteIndexName,
  consumerGroup,
  dlqReplayTopicOf,
  ingestIdPrefix,
  QUEUES,
} from "../core/names.ts";
import { INDEX_NAMES } from "../core/schema/indices.ts";
import { testConfig } from "../test/support/index.ts";
import { countMessages, describeGroups, describeTopic } from "./kafka.ts";
import { listIncompleteUploads, listObjectNames } from "./minio.ts";
import { queueKeys } from "./redis.ts";
import { executeReset, planReset, type ResetPlan, resetTargets } from "./reset.ts";
import { runSetup, setupTargets } from "./setup.ts";
import { randomEnv, removeAll, runCli, runCliOnTerminal, servicesFor } from "./test/fixtures.ts";

describe("capline reset", () => {
  const env = randomEnv("reset");
  const config = testConfig(env);
  const services = servicesFor(env);
  const checkpoints = checkpointTopicOf(config.kafka.topic);
  const group = consumerGroup(config.kafka.clientId, "dispatcher");
  // The checkpoint group of a file an ingester before capline 0.2 completed (named by its SHA-256).
  const fileGroup = `${ingestIdPrefix(config.kafka.topic)}${"ab".repeat(32)}`;
  const prefix = config.elasticsearch.indexPrefix;

  /** What each store holds under the test's names, counted independently of reset's own plan. */
  const holdings = async () => {
    const admin = await services.admin();
    await services.es.indices.refresh({ index: INDEX_NAMES.map((n) => aliasName(prefix, n)).join(",") });
    const docs: Record<string, number> = {};
    for (const n of INDEX_NAMES) docs[n] = (await services.es.count({ index: aliasName(prefix, n) })).count;
    return {
      events: await countMessages(admin, config.kafka.topic),
      dlq: await countMessages(admin, config.kafka.dlqTopic),
      checkpoints: await countMessages(admin, checkpoints),
      group: (await describeGroups(admin, [group]))[0]?.state,
      fileGroup: (await describeGroups(admin, [fileGroup]))[0]?.state,
      docs,
      objects: (await listObjectNames(services.minio, config.minio.bucket)).length,
      uploads: (await listIncompleteUploads(services.minio, config.minio.bucket)).length,
      hdfs: (await services.hdfs.contentSummary(config.hdfs.root)).fileCount,
      redisKeys: (await queueKeys(await services.redis(), config.redis.queuePrefix)).length,
    };
  };

  beforeAll(async () => {
    expect((await runSetup(services, setupTargets(config))).ok).toBe(true);
    const admin = await services.admin();
    // The ingester's checkpoint topic is compacted: reset must keep that setting.
    await admin.createTopic({
      topic: checkpoints,
      partitions: 1,
      replicationFactor: 1,
      configs: { "cleanup.policy": "compact" },
    });
    const producer = new IdempotentProducer(kafkaOptions(config));
    try {
      await producer.send(
        Array.from({ length: 7 }, (_, i) => ({
          topic: config.kafka.topic,
          key: `u${i}`,
          value: `{"i":${i}}`,
        })),
      );
      await producer.send([
        { topic: config.kafka.dlqTopic, key: null, value: "bad row", partition: 0 },
        { topic: config.kafka.dlqTopic, key: null, value: "bad 2", partition: 1 },
      ]);
      await producer.send([{ topic: checkpoints, key: "file.csv", value: '{"line":10}' }]);
    } finally {
      await producer.close();
    }
    await admin.setGroupOffsets(group, config.kafka.topic, [{ partition: 0, offset: 1 }]);
    // A checkpoint group as capline before 0.2 kept per file: reset still deletes such groups.
    await admin.setGroupOffsets(fileGroup, checkpoints, [{ partition: 0, offset: 1 }]);

    await services.es.index({
      index: aliasName(prefix, "profiles"),
      id: "u1",
      document: { user_id: "u1", views: 3 },
      refresh: true,
    });
    await services.es.index({
      index: aliasName(prefix, "sales-daily"),
      document: { bucket: "2019-10-01", dimension: "all", key: "all", views: 1 },
      refresh: true,
    });
    for (const name of ["events/dt=2019-10-01/a.parquet", "events/dt=2019-10-02/b.parquet"])
      await services.minio.putObject(config.minio.bucket, name, Buffer.from(name));
    // A writer killed mid-upload leaves a multipart upload behind: reset aborts it too.
    await services.minio.initiateNewMultipartUpload(
      config.minio.bucket,
      "events/dt=2019-10-03/c.parquet",
      {},
    );
    expect(await listIncompleteUploads(services.minio, config.minio.bucket)).toEqual([
      "events/dt=2019-10-03/c.parquet",
    ]);
    await services.hdfs.writeAtomically(`${config.hdfs.root}/events/dt=2019-10-01/a.parquet`, "a");
    await services.hdfs.create(`${config.hdfs.root}/top.txt`, "b");
    const queue = new Queue(QUEUES.archive, {
      connection: createRedis(config),
      prefix: config.redis.queuePrefix,
    });
    await queue.add("batch", { from: 0, to: 6 });
    await queue.close();
  });

  afterAll(async () => {
    await removeAll(services, config);
    await services.close();
  });

  const loaded = {
    events: 7,
    dlq: 2,
    checkpoints: 1,
    group: "Empty",
    fileGroup: "Empty",
    docs: { profiles: 1, "sales-daily": 1, "sales-hourly": 0, ops: 0 },
    objects: 2,
    hdfs: 2,
  };

  it("lists what would go with --dry-run and deletes nothing", async () => {
    const before = await holdings();
    expect(before).toMatchObject(loaded);
    expect(before.redisKeys).toBeGreaterThan(0);

    const run = await runCli(["reset", "--dry-run", "--json"], env);
    expect(run.code).toBe(ExitCode.OK);
    const plan = JSON.parse(run.stdout) as SnakeKeys<ResetPlan> & { dry_run: boolean };
    expect(plan.dry_run).toBe(true);
    const count = (kind: string, name: string) =>
      plan.steps.find((s) => s.kind === kind && s.name === name)?.count;
    expect(count("topic", config.kafka.topic)).toBe(7);
    expect(count("topic", config.kafka.dlqTopic)).toBe(2);
    expect(count("topic", checkpoints)).toBe(1);
    expect(plan.steps.filter((s) => s.kind === "consumer-group")).toMatchObject([
      { name: group, present: true },
      { name: fileGroup, present: true },
    ]);
    expect(count("index", concreteIndexName(prefix, "profiles"))).toBe(1);
    expect(count("objects", config.minio.bucket)).toBe(2);
    expect(count("hdfs", config.hdfs.root)).toBe(2);
    expect(count("redis-keys", `${config.redis.queuePrefix}:*`)).toBe(before.redisKeys);

    const human = await runCli(["reset", "--dry-run"], env);
    expect(human.code).toBe(ExitCode.OK);
    expect(human.stdout).toContain("nothing is deleted");
    expect(human.stdout).toMatch(new RegExp(`topic\\s+${config.kafka.topic}\\s+7 messages`));

    expect(await holdings()).toEqual(before);
  });

  it("refuses without --yes when there is no terminal to ask on (exit 2), deleting nothing", async () => {
    const before = await holdings();
    const run = await runCli(["reset"], env);
    expect(run.code).toBe(ExitCode.USAGE);
    expect(run.stderr).toContain("pass --yes to confirm");
    expect(await holdings()).toEqual(before);
  });

  it("asks on a terminal, and a 'no' deletes nothing (exit 130)", async () => {
    const before = await holdings();
    const run = await runCliOnTerminal(["reset"], env, "n\n");
    expect(run.code).toBe(ExitCode.ABORTED);
    expect(run.stdout).toContain("capline reset will delete:");
    expect(run.stdout).toMatch(new RegExp(`topic\\s+${config.kafka.topic}\\s+7 messages`));
    expect(run.stdout).toContain("Delete all of this? [y/N]");
    expect(run.stdout).toContain("reset cancelled; nothing was deleted");
    expect(await holdings()).toEqual(before);
  });

  it("refuses while consumers are attached to capline's group (exit 5), deleting nothing", async () => {
    const consumer = new GroupConsumer(
      kafkaOptions(config),
      { groupId: group, topic: config.kafka.dlqTopic },
      { onAssignment: () => undefined, onBatch: async () => undefined, onError: () => undefined },
    );
    await consumer.start();
    try {
      const admin = await services.admin();
      for (let i = 0; i < 100 && (await describeGroups(admin, [group]))[0]?.members === 0; i++)
        await new Promise((r) => setTimeout(r, 200));
      const before = await holdings();
      const run = await runCli(["reset", "--yes"], env);
      expect(run.code).toBe(ExitCode.CONFLICT);
      expect(run.stderr).toContain(`${group} (1 consumers`);
      expect(run.stderr).toContain("nothing was deleted");
      expect({ ...(await holdings()), group: "" }).toEqual({ ...before, group: "" });
    } finally {
      await consumer.stop();
    }
  });

  it("empties every store and leaves the structures ready to use", async () => {
    const admin = await services.admin();
    const targets = resetTargets(config);
    expect(targets.topics).toEqual([
      config.kafka.topic,
      config.kafka.dlqTopic,
      checkpoints,
      dlqReplayTopicOf(config.kafka.topic),
    ]);
    const plan = await planReset(services, targets);
    const result = await executeReset(services, targets, plan);
    expect(result.steps.every((s) => s.done)).toBe(true);

    expect(await holdings()).toEqual({
      events: 0,
      dlq: 0,
      checkpoints: 0,
      group: "Dead",
      fileGroup: "Dead",
      docs: { profiles: 0, "sales-daily": 0, "sales-hourly": 0, ops: 0 },
      objects: 0,
      uploads: 0,
      hdfs: 0,
      redisKeys: 0,
    });
    // Same topic shapes and settings as before; indices, aliases, bucket and HDFS root still there.
    expect(await describeTopic(admin, config.kafka.topic)).toMatchObject({ partitions: 3 });
    expect(await describeTopic(admin, config.kafka.dlqTopic)).toMatchObject({ partitions: 3 });
    expect(await admin.topicConfigs(checkpoints)).toEqual({ "cleanup.policy": "compact" });
    const again = await runSetup(services, setupTargets(config));
    expect(again.counts).toEqual({ created: 0, unchanged: 16, migrated: 0, differs: 0 });
    expect(await services.minio.bucketExists(config.minio.bucket)).toBe(true);
    expect((await services.hdfs.getFileStatus(config.hdfs.root)).type).toBe("DIRECTORY");

    // The new topic takes writes at once.
    const producer = new IdempotentProducer(kafkaOptions(config));
    await producer
      .send([{ topic: config.kafka.topic, key: "u1", value: "{}" }])
      .finally(() => producer.close());
    expect(await countMessages(admin, config.kafka.topic)).toBe(1);
  });
});
