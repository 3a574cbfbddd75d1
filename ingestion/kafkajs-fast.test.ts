import { describe, expect, it } from "vitest";
import { createFastRecord, originalRecordEncoder } from "./kafkajs-fast.ts";

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
