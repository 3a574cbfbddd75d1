import { randomUUID } from "node:crypto";
import type { Client } from "@elastic/elasticsearch";
import type * as Minio from "minio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createElasticsearch } from "../core/clients/elasticsearch.ts";
import { createMinio } from "../core/clients/minio.ts";
import { createWebHdfs, type WebHdfsClient } from "../core/clients/webhdfs.ts";
import { loadConfig } from "../core/config/index.ts";
import type { CaplineEvent } from "../core/schema/events.ts";
import { configuredIndexSettings, ensureIndices } from "../setup/elasticsearch.ts";
import { archiveRange, hdfsStore, minioStore } from "./archive-sink.ts";
import { indexRange } from "./index-sink.ts";
import { generateEvents } from "./test/events.ts";
import { cutRanges } from "./test/ranges.ts";
import { deleteTestIndices, hdfsTree, minioFiles, readParquetFiles } from "./test/stores.ts";
import { verifyIndexedDocuments } from "./test/verify.ts";

const config = loadConfig();
const id = randomUUID();
const topic = `t-${id}`;
const events = generateEvents(4000, 11, 80);
const ranges = cutRanges(topic, events, 3, 250);
const hdfsEvents = generateEvents(3000, 12, 80, 3);
const hdfsRanges = cutRanges(topic, hdfsEvents, 3, 500);

describe("index sink against Elasticsearch", () => {
  const es: Client = createElasticsearch(config);
  const prefix = `capline-test-${id}`;

  beforeAll(async () => {
    await ensureIndices(es, prefix, configuredIndexSettings(config));
  });
  afterAll(async () => {
    await deleteTestIndices(es, prefix);
    await es.close();
  });

  it("applies every range exactly once under redelivery and concurrent partitions", async () => {
    // Partitions run concurrently (they share aggregate documents: real 409 conflicts), each in
    // order; every range is delivered twice, and an older range again after a newer one.
    const results = await Promise.all(
      ranges.map(async (list) => {
        let skippedRedeliveries = 0;
        for (const [n, r] of list.entries()) {
          await indexRange(es, prefix, r.range, r.rows);
          const again = await indexRange(es, prefix, r.range, r.rows);
          skippedRedeliveries += again.profiles.written + again.daily.written + again.hourly.written;
          const older = list[n - 1];
          if (older) await indexRange(es, prefix, older.range, older.rows);
        }
        return skippedRedeliveries;
      }),
    );
    expect(results).toEqual([0, 0, 0]); // a redelivery writes nothing

    await verifyIndexedDocuments(es, prefix, events);
  });
});

async function checkLake(files: Map<string, Buffer>, events: CaplineEvent[]) {
  expect(
    [...files.keys()].filter((k) => !/^events\/dt=\d{4}-\d{2}-\d{2}\/[^/]+\+\d+\+\d+-\d+\.parquet$/.test(k)),
  ).toEqual([]);
  const rows = await readParquetFiles(files);
  // Every event exactly once, in the file of its UTC date, with its partition and offset.
  expect(rows.length).toBe(events.length);
  const byId = new Map(rows.map((r) => [r.event_id, r]));
  expect(byId.size).toBe(events.length);
  for (const e of events) {
    const row = byId.get(e.event_id);
    expect(row?.event_time).toBe(e.event_time);
    expect(row?.price).toBe(e.price);
    expect(row?.dt).toBe(e.event_time.slice(0, 10));
  }
}

describe("archive sink", () => {
  it("writes every event once to MinIO, rewrites identically on redelivery", async () => {
    const minio: Minio.Client = createMinio(config);
    const bucket = `capline-test-${id}`.slice(0, 63);
    await minio.makeBucket(bucket, config.minio.region);
    try {
      const store = minioStore(minio, bucket);
      for (const list of ranges)
        for (const r of list) {
          const first = await archiveRange([store], topic, r.range.partition, r.rows);
          expect(first.files.reduce((n, f) => n + f.rows, 0)).toBe(r.rows.length);
          // A redelivery finds its files in place and writes nothing.
          expect((await archiveRange([store], topic, r.range.partition, r.rows)).files).toEqual([]);
        }
      await checkLake(await minioFiles(minio, bucket), events);
    } finally {
      const files = await minioFiles(minio, bucket, "");
      if (files.size > 0) await minio.removeObjects(bucket, [...files.keys()]);
      await minio.removeBucket(bucket);
    }
  });

  it("writes every event once to HDFS (temporary name, then rename), encoded once for both stores", async () => {
    const hdfs: WebHdfsClient = createWebHdfs(config);
    const root = `/capline-test-${id}`;
    try {
      const store = hdfsStore(hdfs, root);
      const seen = new Map<string, Buffer>();
      const recording = {
        name: "minio" as const,
        put: async (key: string, bytes: Buffer) => void seen.set(key, bytes),
        existing: async (): Promise<Array<[number, number]>> => [],
      };
      // HDFS writes cost a NameNode round trip each: a few days of data in larger ranges.
      for (const list of hdfsRanges)
        for (const r of list) await archiveRange([store, recording], topic, r.range.partition, r.rows);
      const again = hdfsRanges[0]?.[0];
      if (again)
        expect((await archiveRange([store], topic, again.range.partition, again.rows)).files).toEqual([]);
      const { visible: files, hidden } = await hdfsTree(hdfs, root);
      expect(hidden).toEqual([]); // no temporary file left behind
      await checkLake(files, hdfsEvents);
      expect([...files.keys()].sort()).toEqual([...seen.keys()].sort());
      for (const [key, bytes] of files) expect(bytes.equals(seen.get(key) ?? Buffer.alloc(0))).toBe(true);
    } finally {
      await hdfs.delete(root, { recursive: true }).catch(() => undefined);
    }
  });
});
