import { afterAll, describe, expect, it } from "vitest";
import { ExitCode } from "../core/exit-codes.ts";
import type { SnakeKeys } from "../core/json/index.ts";
import { aliasName, concreteIndexName } from "../core/names.ts";
import { INDEX_NAMES } from "../core/schema/indices.ts";
import { testConfig } from "../test/support/index.ts";
import { describeTopic } from "./kafka.ts";
import type { SetupReport } from "./report.ts";
import { runSetup, setupTargets } from "./setup.ts";
import { indexSnapshot, randomEnv, removeAll, runCli, servicesFor } from "./test/fixtures.ts";

describe("capline setup", () => {
  const env = randomEnv("setup");
  const config = testConfig(env);
  const services = servicesFor(env);

  afterAll(async () => {
    await removeAll(services, config);
    await services.close();
  });

  const snapshot = async () => {
    const admin = await services.admin();
    return {
      topics: [
        await describeTopic(admin, config.kafka.topic),
        await describeTopic(admin, config.kafka.dlqTopic),
      ],
      topicMeta: [...(await admin.describeTopics([config.kafka.topic, config.kafka.dlqTopic])).values()].sort(
        (a, b) => a.topic.localeCompare(b.topic),
      ),
      es: await indexSnapshot(services.es, config.elasticsearch.indexPrefix),
      bucket: (await services.minio.listBuckets()).find((b) => b.name === config.minio.bucket),
      hdfs: await services.hdfs.getFileStatus(config.hdfs.root),
    };
  };

  it("creates everything on the first run, and the second run changes nothing", async () => {
    const first = await runSetup(services, setupTargets(config));
    expect(first.ok).toBe(true);
    expect(first.counts).toEqual({ created: 16, unchanged: 0, migrated: 0, differs: 0 });
    const byKind = (r: SetupReport, kind: string) =>
      r.items.filter((i) => i.kind === kind).map((i) => i.name);
    expect(byKind(first, "topic")).toEqual([config.kafka.topic, config.kafka.dlqTopic]);
    expect(byKind(first, "alias")).toEqual(
      INDEX_NAMES.map((n) => aliasName(config.elasticsearch.indexPrefix, n)),
    );

    // What exists now is what capline asked for.
    const admin = await services.admin();
    expect(await describeTopic(admin, config.kafka.topic)).toEqual({
      topic: config.kafka.topic,
      partitions: 3,
      replicationFactor: 1,
    });
    expect((await describeTopic(admin, config.kafka.dlqTopic))?.partitions).toBe(3);
    const profiles = concreteIndexName(config.elasticsearch.indexPrefix, "profiles");
    const mapping = await services.es.indices.getMapping({
      index: aliasName(config.elasticsearch.indexPrefix, "profiles"),
    });
    expect(Object.keys(mapping)).toEqual([profiles]);
    expect(mapping[profiles]?.mappings.dynamic).toBe("strict");
    expect(mapping[profiles]?.mappings.properties?.user_id).toEqual({ type: "keyword", ignore_above: 1024 });
    expect(await services.minio.bucketExists(config.minio.bucket)).toBe(true);
    expect((await services.hdfs.getFileStatus(config.hdfs.root)).type).toBe("DIRECTORY");

    const before = await snapshot();
    const second = await runSetup(services, setupTargets(config));
    expect(second.ok).toBe(true);
    expect(second.changed).toBe(false);
    expect(second.counts).toEqual({ created: 0, unchanged: 16, migrated: 0, differs: 0 });
    // Index uuids and creation dates, template bodies, topic partitions and leaders, the bucket's
    // creation date and the HDFS folder's id and times: all identical.
    expect(await snapshot()).toEqual(before);
  });

  it("brings a changed refresh interval in line in place (a dynamic setting, not a conflict)", async () => {
    const prefix = config.elasticsearch.indexPrefix;
    const index = concreteIndexName(prefix, "sales-daily");
    const uuid = async () =>
      (await services.es.indices.getSettings({ index, flat_settings: true }))[index]?.settings?.[
        "index.uuid"
      ];
    const before = await uuid();
    const slower = setupTargets(testConfig({ ...env, ELASTICSEARCH_REFRESH_INTERVAL: "30s" }));
    const changed = await runSetup(services, slower);
    expect(changed.ok).toBe(true);
    const item = changed.items.find((i) => i.kind === "index" && i.name === index);
    expect(item).toMatchObject({ status: "unchanged", detail: `refresh_interval 5s → 30s` });
    const template = changed.items.find(
      (i) => i.kind === "index-template" && i.name === aliasName(prefix, "sales-daily"),
    );
    expect(template).toMatchObject({ status: "unchanged", detail: `refresh_interval 5s → 30s` });
    const settings = await services.es.indices.getSettings({ index, flat_settings: true });
    expect(settings[index]?.settings?.["index.refresh_interval"]).toBe("30s");
    expect(await uuid()).toBe(before);
    // And back: the configured default again, nothing left to change afterwards.
    await runSetup(services, setupTargets(config));
    const again = await runSetup(services, setupTargets(config));
    expect(
      again.items.every((i) => i.status === "unchanged" && i.detail?.startsWith("refresh") !== true),
    ).toBe(true);
  });

  it("says so on the command line too (--json, exit 0)", async () => {
    const run = await runCli(["setup", "--json"], env);
    expect(run.code).toBe(ExitCode.OK);
    const report = JSON.parse(run.stdout) as SnakeKeys<SetupReport>;
    expect(report.counts).toEqual({ created: 0, unchanged: 16, migrated: 0, differs: 0 });
    const human = await runCli(["setup"], env);
    expect(human.code).toBe(ExitCode.OK);
    expect(human.stdout).toContain("Everything was in place already (16 items); nothing changed.");
  });
});

describe("capline setup against an index whose mapping differs", () => {
  const env = randomEnv("conflict");
  const config = testConfig(env);
  const services = servicesFor(env);
  const prefix = config.elasticsearch.indexPrefix;

  afterAll(async () => {
    await removeAll(services, config);
    await services.close();
  });

  it("names each differing field and exits CONFLICT, changing nothing", async () => {
    const index = concreteIndexName(prefix, "profiles");
    await services.es.indices.create({
      index,
      aliases: { [aliasName(prefix, "profiles")]: {} },
      mappings: {
        dynamic: "strict",
        properties: {
          user_id: { type: "keyword", ignore_above: 1024 },
          views: { type: "keyword" },
          colour: { type: "text" },
        },
      },
    });
    const before = await services.es.indices.getMapping({ index });

    const run = await runCli(["setup", "--json"], env);
    expect(run.code).toBe(ExitCode.CONFLICT);
    const report = JSON.parse(run.stdout) as SnakeKeys<SetupReport>;
    const item = report.items.find((i) => i.kind === "index" && i.name === index);
    expect(item?.status).toBe("differs");
    expect(item?.differences).toContain("views: expected type long, found keyword");
    expect(item?.differences).toContain("colour: not expected (found text)");
    expect(item?.differences).toContain("segment: missing (expected keyword)");
    // The other indices were still created; only the conflicting one differs.
    expect(report.counts.differs).toBe(1);
    expect(report.items.filter((i) => i.kind === "index" && i.status === "created")).toHaveLength(3);

    const human = await runCli(["setup"], env);
    expect(human.code).toBe(ExitCode.CONFLICT);
    expect(human.stdout).toMatch(new RegExp(`!\\s+Elasticsearch\\s+index\\s+${index}\\s+differs`));
    expect(human.stdout).toContain("      - views: expected type long, found keyword");

    expect(await services.es.indices.getMapping({ index })).toEqual(before);
  });
});

describe("capline setup with a service down", () => {
  it("names the service and its address and exits 4", async () => {
    const env = { ...randomEnv("down"), KAFKA_BROKERS: "127.0.0.1:1", KAFKA_CONNECT_TIMEOUT_MS: "1000" };
    const run = await runCli(["setup"], env);
    expect(run.code).toBe(ExitCode.UNAVAILABLE);
    expect(run.stderr).toContain("capline: Kafka is not reachable at 127.0.0.1:1");
  });

  it("reset names Redis and its address when it is down, before deleting anything (exit 4)", async () => {
    const env = { ...randomEnv("down"), REDIS_URL: "redis://127.0.0.1:1" };
    const run = await runCli(["reset", "--yes"], env);
    expect(run.code).toBe(ExitCode.UNAVAILABLE);
    expect(run.stderr).toContain(
      "capline: Redis is not reachable at redis://127.0.0.1:1: connect: connect ECONNREFUSED",
    );
    expect(run.stderr).not.toContain("Unhandled error event");
  });
});
