import { compressSync } from "lz4-napi";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { decodePayload, encodePayload } from "./jobs.ts";
import type { RangeEvent } from "./lake.ts";
import { generateEvents } from "./test/events.ts";

const rows = (n: number): RangeEvent[] => generateEvents(n, 11).map((event, i) => ({ offset: 7 + i, event }));

describe("range payloads in Redis", () => {
  it("decode to the rows stored, in their order, whatever their number of slices", () => {
    for (const n of [0, 1, 999, 1000, 1001, 2500]) {
      const stored = rows(n);
      const payload = encodePayload(stored);
      expect(payload.subarray(0, 2).toString(), `${n} rows`).toBe("M2");
      expect(decodePayload(payload), `${n} rows`).toEqual(stored);
    }
  });

  it("still reads the one-array format (M1) a capline before slices stored", () => {
    const stored = rows(1500);
    const m1 = Buffer.concat([
      Buffer.from("M1"),
      compressSync(new Packr({ useRecords: true, moreTypes: false, structuredClone: false }).pack(stored)),
    ]);
    expect(decodePayload(m1)).toEqual(stored);
  });

  it("refuses bytes in no format it writes", () => {
    expect(() => decodePayload(Buffer.from("M9xyz"))).toThrow(/no format capline writes/);
  });
});
