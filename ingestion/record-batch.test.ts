import { createRequire } from "node:module";
import { gunzipSync } from "node:zlib";
import { Partitioners } from "kafkajs";
import { decompressFrameSync } from "lz4-napi";
import { afterEach, describe, expect, it, vi } from "vitest";
// Registers kafkajs's LZ4 codec, as every capline client does.
import "../core/clients/kafka.ts";
import {
  createFastProduceRequest,
  installKafkajsFastPath,
  originalProduceRequest,
  originalRecordEncoder,
  produceDeps,
} from "./kafkajs-fast.ts";
import {
  BatchBuilder,
  CODEC_GZIP,
  CODEC_LZ4,
  CODEC_NONE,
  compressBatch,
  MAX_BATCH_BYTES,
  MAX_BATCH_RECORDS,
  murmur2,
  partitionOf,
} from "./record-batch.ts";

const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require("kafkajs/src/producer/partitioners/default/murmur2.js") as (
  key: string,
) => number;

const keys = [
  "",
  "a",
  "ab",
  "abc",
  "abcd",
  "abcde",
  "1515915625519388267",
  "1598593070000000030",
  "Löwe",
  "😀",
  "бренд-ä",
  "x".repeat(257),
  ...Array.from({ length: 2000 }, (_, i) => String(1_515_915_625_000_000_000n + BigInt(i * 7919))),
];

describe("murmur2 and the partition of a key", () => {
  it("equals kafkajs's murmur2 (Kafka's Java client) on every key", () => {
    for (const key of keys) expect(murmur2(key), key).toBe(kafkajsMurmur2(key));
  });

  it("gives the partition kafkajs's default partitioner gives", () => {
    for (const partitions of [1, 3, 6, 7]) {
      const partitioner = Partitioners.DefaultPartitioner();
      const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({
        partitionId: i,
        leader: 0,
        partitionErrorCode: 0,
        replicas: [0],
        isr: [0],
      }));
      for (const key of keys) {
        const expected = partitioner({ topic: "t", partitionMetadata, message: { key, value: null } });
        expect(partitionOf(key, partitions), `${key} of ${partitions}`).toBe(expected);
      }
    }
  });
});

describe("BatchBuilder", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });
  const record = originalRecordEncoder();
  const values = ["", "v", '{"brand":"Löwe 😀 бренд"}', "y".repeat(300), "z".repeat(20_000)];

  it("writes exactly the records kafkajs writes (offset delta = position, timestamp delta 0)", () => {
    const builder = new BatchBuilder(3, 16);
    const expected: Buffer[] = [];
    let i = 0;
    for (const key of keys.slice(0, 40))
      for (const value of values) {
        builder.append(key, value);
        expected.push(record({ key, value, offsetDelta: i++, timestampDelta: 0 }).buffer);
      }
    expect(builder.count).toBe(i);
    expect(builder.raw().equals(Buffer.concat(expected))).toBe(true);
    const batch = builder.take();
    expect(batch?.count).toBe(i);
    expect(batch?.partition).toBe(3);
    expect(batch?.codec).toBe(CODEC_NONE);
    expect(Buffer.from(batch?.records ?? []).equals(Buffer.concat(expected))).toBe(true);
    expect(builder.take()).toBeUndefined();
  });

  it("finishes a batch before it would pass MAX_BATCH_RECORDS records or MAX_BATCH_BYTES bytes", () => {
    const builder = new BatchBuilder(0);
    for (let i = 0; i < MAX_BATCH_RECORDS; i++) expect(builder.append("k", "v")).toBeUndefined();
    const full = builder.append("k2", "v2");
    expect(full?.count).toBe(MAX_BATCH_RECORDS);
    expect(builder.count).toBe(1);
    // The record that did not fit starts the next batch, at offset delta 0.
    expect(
      builder.raw().equals(record({ key: "k2", value: "v2", offsetDelta: 0, timestampDelta: 0 }).buffer),
    ).toBe(true);

    const big = new BatchBuilder(1);
    const value = "x".repeat(100_000);
    const batches = [];
    for (let i = 0; i < 30; i++) {
      const done = big.append(String(i), value);
      if (done) batches.push(done);
    }
    const last = big.take();
    if (last) batches.push(last);
    expect(batches.reduce((n, b) => n + b.count, 0)).toBe(30);
    for (const b of batches) expect(b.records.length).toBeLessThanOrEqual(MAX_BATCH_BYTES);
    expect(batches.length).toBe(Math.ceil(30 / Math.floor(MAX_BATCH_BYTES / 100_010)));

    // A record larger than the limit still goes, alone.
    const huge = new BatchBuilder(2);
    huge.append("a", "y".repeat(MAX_BATCH_BYTES + 10));
    expect(huge.append("b", "z")?.count).toBe(1);
  });

  it("is sent by the fast produce request as kafkajs would send the same messages", async () => {
    vi.spyOn(Date, "now").mockReturnValue(1_700_000_000_123);
    installKafkajsFastPath();
    const deps = produceDeps();
    const original = originalProduceRequest();
    const fast = createFastProduceRequest(original, deps);
    const Long = deps.Long as unknown as { fromString(v: string): unknown };
    const messages = keys.slice(0, 300).map((key, i) => ({ key, value: `{"n":${i},"b":"Löwe 😀"}` }));
    const builder = new BatchBuilder(2);
    for (const m of messages) builder.append(m.key, m.value);
    const raw = builder.take();
    if (!raw) throw new Error("empty batch");
    const gz = await compressBatch(raw, CODEC_GZIP);
    expect(gz.codec).toBe(CODEC_GZIP);
    expect(gunzipSync(gz.records).equals(Buffer.from(raw.records))).toBe(true);
    const lz4 = await compressBatch(raw);
    expect(lz4.codec).toBe(CODEC_LZ4);
    expect(decompressFrameSync(Buffer.from(lz4.records)).equals(Buffer.from(raw.records))).toBe(true);
    const args = (compression: number, partitionMessages: unknown[]) => ({
      acks: -1,
      timeout: 30_000,
      transactionalId: "capline-ingest.t.abc",
      producerId: Long.fromString("123456789012"),
      producerEpoch: 7,
      compression,
      topicData: [
        {
          topic: "events",
          partitions: [{ partition: 2, firstSequence: 40, messages: partitionMessages as never[] }],
        },
      ],
    });
    const encode = async (fn: typeof fast, a: Parameters<typeof fast>[0]) =>
      ((await (fn(a) as { encode(): Promise<{ buffer: Buffer }> }).encode()) as { buffer: Buffer }).buffer;
    for (const batch of [raw, gz, lz4]) {
      const stand = Object.assign(new Array(batch.count), { encodedBatch: batch });
      const ours = await encode(fast, args(batch.codec, stand));
      const theirs = await encode(original, args(batch.codec, messages));
      expect(ours.equals(theirs), `codec ${batch.codec}`).toBe(true);
    }
  });
});
