import { describe, expect, it } from "vitest";
import { loadConfig } from "./config/index.ts";
import {
  aliasName,
  checkpointTopicOf,
  concreteIndexName,
  consumerGroups,
  cutsKey,
  cutsPattern,
  dispatcherGroupOf,
  dlqMessageKey,
  hdfsPath,
  ingestTransactionalId,
  isolatedNames,
  lakeKey,
  parseLakeDayDir,
  parseLakeKey,
  payloadKey,
  queueKeysPattern,
  rangeId,
  resourceNames,
  seenSetBucketKey,
  seenSetMetaKey,
  seenSetPattern,
  seenSetPrefix,
} from "./names.ts";

describe("resource names", () => {
  it("derives topics, groups and transactional ids from the configured topic and client id", () => {
    expect(checkpointTopicOf("customer-events")).toBe("customer-events.checkpoints");
    expect(dispatcherGroupOf("capline")).toBe("capline-dispatcher");
    expect(consumerGroups("abc")).toEqual(["abc-dispatcher"]);
    const sha = "ab".repeat(32);
    expect(ingestTransactionalId("customer-events", sha)).toBe(`capline-ingest.customer-events.${sha}`);
    // Kafka refuses ids over 249 characters.
    expect(ingestTransactionalId("t".repeat(240), sha)).toHaveLength(249);
  });

  it("names ranges, their payloads and the cut registry under the queue prefix", () => {
    const range = { topic: "ev", partition: 2, first: 10, last: 19 };
    expect(rangeId(range)).toBe("ev+2+10-19");
    expect(payloadKey("capline", range)).toBe("capline:payload:ev+2+10-19");
    expect(cutsKey("capline", "ev", 2)).toBe("capline:cuts:ev:2");
  });

  it("names the seen-set of a partition, its state and its buckets under the queue prefix", () => {
    const prefix = seenSetPrefix("capline", "ev", 2);
    expect(prefix).toBe("capline:seen:ev:2");
    expect(seenSetMetaKey(prefix)).toBe("capline:seen:ev:2:meta");
    expect(seenSetBucketKey(prefix, 18_170, 5)).toBe("capline:seen:ev:2:18170:5");
    expect(seenSetPattern("p*", "ev")).toBe("p\\*:seen:ev:*");
    expect(dlqMessageKey("ev", 2, 41)).toBe("ev+2+41");
  });

  it("takes glob characters of a prefix literally in SCAN patterns", () => {
    expect(queueKeysPattern("capline")).toBe("capline:*");
    expect(queueKeysPattern("a*b?[c]")).toBe("a\\*b\\?\\[c\\]:*");
    expect(cutsPattern("p*", "t?")).toBe("p\\*:cuts:t\\?:*");
  });

  it("names aliases and versioned concrete indices", () => {
    expect(aliasName("capline", "sales-daily")).toBe("capline-sales-daily");
    expect(concreteIndexName("capline", "profiles")).toMatch(/^capline-profiles-v\d+$/);
  });

  it("names lake files by UTC date, topic, partition and offsets, and parses them back", () => {
    const key = lakeKey("2019-10-01", "customer-events", 3, 100, 199);
    expect(key).toBe("events/dt=2019-10-01/customer-events+3+100-199.parquet");
    expect(parseLakeKey(key)).toEqual({
      dt: "2019-10-01",
      topic: "customer-events",
      partition: 3,
      first: 100,
      last: 199,
    });
    expect(parseLakeKey(`capline/${key}`)?.last).toBe(199);
    expect(parseLakeKey(`${key}.tmp`)).toBeUndefined();
    expect(() => lakeKey("2019-1-1", "t", 0, 0, 0)).toThrow(/YYYY-MM-DD/);
    expect(parseLakeDayDir("events/dt=2019-10-01/")).toBe("2019-10-01");
    expect(parseLakeDayDir("dt=2019-10-01")).toBe("2019-10-01");
    expect(parseLakeDayDir("dt=2019-10")).toBeUndefined();
  });

  it("puts lake keys under the HDFS root", () => {
    expect(hdfsPath("/capline", "events/dt=2019-10-01")).toBe("/capline/events/dt=2019-10-01");
    expect(hdfsPath("/capline/", "x")).toBe("/capline/x");
    expect(hdfsPath("/", "x")).toBe("/x");
    expect(hdfsPath("/capline", "")).toBe("/capline");
  });

  it("applies one isolated name to every resource of a configuration", () => {
    const config = loadConfig({ env: isolatedNames("run-1"), root: "/nonexistent" });
    const names = resourceNames(config);
    expect(names).toMatchObject({
      topic: "run-1",
      dlqTopic: "run-1.dlq",
      checkpointTopic: "run-1.checkpoints",
      dispatcherGroup: "run-1-dispatcher",
      queuePrefix: "run-1",
      indexPrefix: "run-1",
      bucket: "run-1",
      hdfsRoot: "/run-1",
    });
    expect(names.alias("ops")).toBe("run-1-ops");
  });
});
