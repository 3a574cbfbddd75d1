import { afterEach, describe, expect, it, vi } from "vitest";
import {
  crc32c,
  createFastProduceRequest,
  createFastRecord,
  installKafkajsFastPath,
  originalProduceRequest,
  originalRecordEncoder,
  produceDeps,
} from "./kafkajs-fast.ts";

describe("the fast kafkajs record encoder", () => {
  const original = originalRecordEncoder();
  const fast = createFastRecord(original);
  const values: (string | Buffer | null | undefined)[] = [
    null,
    undefined,
    "",
    "a",
    "1515915625519388267",
    "x".repeat(63),
    "x".repeat(64),
    "y".repeat(300),
    "z".repeat(20_000),
    '{"brand":"Löwe 😀 бренд"}',
    Buffer.from([0, 1, 2, 255]),
    Buffer.alloc(0),
  ];

  it("writes exactly the bytes kafkajs writes", () => {
    let cases = 0;
    for (const key of values)
      for (const value of values)
        for (const offsetDelta of [0, 1, 63, 64, 8191, 8192, 123_456])
          for (const timestampDelta of [0, 1, -1, 63, -64, 1_000_000, -1_000_000, 2 ** 31, -(2 ** 33)]) {
            const args = { key, value, offsetDelta, timestampDelta };
            expect(fast(args).buffer.equals(original(args).buffer), JSON.stringify(args).slice(0, 200)).toBe(
              true,
            );
            cases++;
          }
    expect(cases).toBeGreaterThan(9000);
  });

  it("falls back to kafkajs for records with headers", () => {
    const args = { key: "k", value: "v", headers: { h: "1" } };
    expect(fast(args).buffer.equals(original(args).buffer)).toBe(true);
  });
});

describe("the fast kafkajs produce request", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });
  // The gzip codec of the fast path (level 1) is what both sides use once installed.
  installKafkajsFastPath();
  const deps = produceDeps();
  const original = originalProduceRequest();
  const fast = createFastProduceRequest(original, deps);
  const Long = deps.Long as unknown as { fromInt(v: number): unknown; fromString(v: string): unknown };

  const encode = async (fn: typeof fast, args: Parameters<typeof fast>[0]) => {
    const request = fn(args) as { encode(): Promise<{ buffer: Buffer }>; apiKey: number; apiVersion: number };
    return { bytes: (await request.encode()).buffer, apiKey: request.apiKey, apiVersion: request.apiVersion };
  };

  it.each([0, 1])("writes exactly kafkajs's bytes (compression %i)", async (compression) => {
    vi.spyOn(Date, "now").mockReturnValue(1_700_000_000_123);
    const messages = (n: number, seed: number) =>
      Array.from({ length: n }, (_, i) => ({
        key: i % 7 === 0 ? null : String(1_515_915_625_519_388_267n + BigInt(i * seed)),
        value:
          i % 3 === 0 ? Buffer.from(`{"n":${i},"b":"Löwe 😀"}`) : `{"n":${i},"v":"${"x".repeat(i % 200)}"}`,
        partition: seed,
      }));
    const args = {
      acks: -1,
      timeout: 30_000,
      transactionalId: "capline-ingest.t.abc",
      producerId: Long.fromString("123456789012"),
      producerEpoch: 7,
      compression,
      topicData: [
        {
          topic: "events",
          partitions: [
            { partition: 0, firstSequence: 0, messages: messages(1, 1) },
            { partition: 3, firstSequence: 4_000, messages: messages(300, 3) },
          ],
        },
        { topic: "events.dlq", partitions: [{ partition: 1, firstSequence: 12, messages: messages(5, 5) }] },
      ],
    };
    const a = await encode(original, args);
    const b = await encode(fast, args);
    expect(b.apiKey).toBe(a.apiKey);
    expect(b.apiVersion).toBe(a.apiVersion);
    expect(b.bytes.equals(a.bytes)).toBe(true);
  });

  it("leaves messages with timestamps or headers to kafkajs", async () => {
    vi.spyOn(Date, "now").mockReturnValue(1_700_000_000_123);
    const args = {
      acks: 1,
      timeout: 1000,
      compression: 0,
      topicData: [
        {
          topic: "t",
          partitions: [
            {
              partition: 0,
              messages: [
                { key: "a", value: "b", timestamp: "1600000000000" },
                { key: "c", value: "d", headers: { h: "x" } },
              ],
            },
          ],
        },
      ],
    };
    expect((await encode(fast, args)).bytes.equals((await encode(original, args)).bytes)).toBe(true);
  });
});

describe("crc32c", () => {
  it("equals kafkajs's CRC-32C on every length and alignment, and continues across pieces", () => {
    const { crc32C } = produceDeps();
    const data = Buffer.alloc(4099);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    expect(crc32c(Buffer.from("123456789"))).toBe(0xe3069283); // the standard check value
    for (let start = 0; start < 9; start++)
      for (const length of [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4090]) {
        const piece = data.subarray(start, start + length);
        expect(crc32c(piece), `${start}+${length}`).toBe(crc32C(piece));
        const cut = length >> 1;
        expect(crc32c(piece.subarray(cut), crc32c(piece.subarray(0, cut)))).toBe(crc32C(piece));
      }
  });
});
