import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode } from "../core/exit-codes.ts";
import { IdempotentProducer, kafkaOptions } from "../core/kafka/index.ts";
import {
  aliasName,
  checkpointTopicOf,
  dispatcherGroupOf,
  indexTemplateName,
  queueKeysPattern,
} from "../core/names.ts";
import { INDEX_NAMES } from "../core/schema/indices.ts";
import { testConfig } from "../test/support/index.ts";
import { describeGroups } from "./kafka.ts";
import { queueKeys } from "./redis.ts";
import type { ResetResult } from "./reset.ts";
import { runSetup, setupTargets } from "./setup.ts";
import { randomEnv, removeAll, runCli, servicesFor } from "./test/fixtures.ts";

/**
 * `capline reset --drop`: an isolated name (a trial, a test) is torn down completely — no topic,
 * index of any mapping version, alias, template, bucket, HDFS folder or queue key is left — while a
 * name that merely starts the same way is untouched.
 */
describe("capline reset --drop", () => {
  const env = randomEnv("drop");
  const config = testConfig(env);
  const services = servicesFor(env);
  const prefix = config.elasticsearch.indexPrefix;
  // Another installation whose names start with this one's.
  const neighbourEnv = {
    ...env,
    ELASTICSEARCH_INDEX_PREFIX: `${prefix}-x`,
    KAFKA_TOPIC: `${config.kafka.topic}-x`,
    KAFKA_DLQ_TOPIC: `${config.kafka.topic}-x.dlq`,
    MINIO_BUCKET: `${config.minio.bucket}-x`,
    HDFS_ROOT: `${config.hdfs.root}-x`,
    QUEUE_PREFIX: `${config.redis.queuePrefix}-x`,
    KAFKA_CLIENT_ID: `${config.kafka.clientId}-x`,
  };
  const neighbour = testConfig(neighbourEnv);
  const neighbourServices = servicesFor(neighbourEnv);
  // A concrete index of an older mapping version, behind no alias.
  const oldIndex = `${aliasName(prefix, "profiles")}-v0`;

  /** Everything of a configuration's names that exists in any store. */
  const remains = async (c: typeof config) => {
    const admin = await services.admin();
    const topics = (await admin.listTopics()).filter((t) =>
      [c.kafka.topic, c.kafka.dlqTopic, checkpointTopicOf(c.kafka.topic)].includes(t),
    );
    const p = c.elasticsearch.indexPrefix;
    const indices = Object.keys(
      await services.es.indices.get({
        index: INDEX_NAMES.flatMap((n) => [aliasName(p, n), `${aliasName(p, n)}-v*`]).join(","),
        ignore_unavailable: true,
        allow_no_indices: true,
      }),
    );
    const templates: string[] = [];
    for (const n of INDEX_NAMES)
      if (await services.es.indices.existsIndexTemplate({ name: indexTemplateName(p, n) }))
        templates.push(indexTemplateName(p, n));
    return {
      topics: topics.sort(),
      group: (await describeGroups(admin, [dispatcherGroupOf(c.kafka.clientId)]))[0]?.state,
      indices: indices.sort(),
      templates,
      bucket: await services.minio.bucketExists(c.minio.bucket),
      hdfs: (await services.hdfs.stat(c.hdfs.root)) !== undefined,
      keys: (await queueKeys(await services.redis(), c.redis.queuePrefix)).length,
    };
  };

  beforeAll(async () => {
    for (const [s, c] of [
      [services, config],
      [neighbourServices, neighbour],
    ] as const)
      expect((await runSetup(s, setupTargets(c))).ok).toBe(true);
    const producer = new IdempotentProducer(kafkaOptions(config));
    await producer
      .send([{ topic: config.kafka.topic, key: "u1", value: "{}" }])
      .finally(() => producer.close());
    const admin = await services.admin();
    await admin.setGroupOffsets(dispatcherGroupOf(config.kafka.clientId), config.kafka.topic, [
      { partition: 0, offset: 1 },
    ]);
    await services.es.indices.create({ index: oldIndex });
    await services.minio.putObject(config.minio.bucket, "events/dt=2019-10-01/a.parquet", Buffer.from("a"));
    await services.hdfs.create(`${config.hdfs.root}/events/x.parquet`, "x");
    await (await services.redis()).set(`${config.redis.queuePrefix}:some:key`, "1");
  });

  afterAll(async () => {
    await removeAll(services, config).catch(() => undefined);
    await removeAll(neighbourServices, neighbour);
    await services.close();
    await neighbourServices.close();
  });

  it("lists the structures themselves with --dry-run, and keeps them", async () => {
    const run = await runCli(["reset", "--drop", "--dry-run", "--json"], env);
    expect(run.code).toBe(ExitCode.OK);
    const plan = JSON.parse(run.stdout) as { drop: boolean; steps: { kind: string; name: string }[] };
    expect(plan.drop).toBe(true);
    const names = (kind: string) => plan.steps.filter((s) => s.kind === kind).map((s) => s.name);
    expect(names("index")).toContain(oldIndex);
    expect(names("index-template").sort()).toEqual(
      INDEX_NAMES.map((n) => indexTemplateName(prefix, n)).sort(),
    );
    expect(names("bucket")).toEqual([config.minio.bucket]);
    expect(names("indices")).toEqual([]);
    expect((await remains(config)).templates.length).toBe(INDEX_NAMES.length);
  });

  it("leaves nothing of the name in any store, and nothing of its neighbour is touched", async () => {
    const neighbourBefore = await remains(neighbour);
    expect(neighbourBefore.indices.length).toBeGreaterThan(0);

    const run = await runCli(["reset", "--drop", "--yes", "--json"], env);
    expect(run.code, run.stderr).toBe(ExitCode.OK);
    const result = JSON.parse(run.stdout) as ResetResult;
    expect(result.drop).toBe(true);
    expect(result.recreated).toEqual([]);
    expect(result.steps.every((s) => s.done)).toBe(true);

    // Topic deletion is asynchronous on the broker: give it a moment to stop listing them.
    const admin = await services.admin();
    for (let i = 0; i < 50 && (await admin.listTopics()).includes(config.kafka.topic); i++)
      await new Promise((r) => setTimeout(r, 200));
    expect(await remains(config)).toEqual({
      topics: [],
      group: "Dead",
      indices: [],
      templates: [],
      bucket: false,
      hdfs: false,
      keys: 0,
    });
    expect(await remains(neighbour)).toEqual(neighbourBefore);
    expect(queueKeysPattern(neighbour.redis.queuePrefix)).not.toBe(
      queueKeysPattern(config.redis.queuePrefix),
    );

    // And the human form says so.
    const again = await runCli(["reset", "--drop", "--yes"], env);
    expect(again.code).toBe(ExitCode.OK);
    expect(again.stdout).toContain("Dropped: nothing of these names is left.");
  });
});
