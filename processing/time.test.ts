import { describe, expect, it } from "vitest";
import { rng } from "./test/events.ts";
import { canonicalMillis, toMillis } from "./time.ts";

describe("toMillis", () => {
  it("reads the canonical form by hand exactly as Date.parse does, over 200,000 random instants of years 0000-9999", () => {
    const rand = rng(7);
    const min = Date.parse("0000-01-01T00:00:00.000Z");
    const max = Date.parse("9999-12-31T23:59:59.999Z");
    let byHand = 0;
    for (let i = 0; i < 200_000; i++) {
      const ms = Math.floor(min + rand() * (max - min));
      const iso = new Date(ms).toISOString();
      if (canonicalMillis(iso) !== undefined) byHand++;
      expect(toMillis(iso), iso).toBe(ms);
    }
    // Days up to the 28th (about 92% of all days) take the hand-written path.
    expect(byHand).toBeGreaterThan(180_000);
  });

  it.each([
    ["2020-02-29T12:00:00.000Z"],
    ["2019-10-01T00:00:00Z"],
    ["2019-10-01T02:00:00.000+02:00"],
    ["1969-12-31T23:59:59.999Z"],
    ["2000-01-01T00:00:00.000Z"],
    ["1900-03-01T00:00:00.000Z"],
  ])("%s equals Date.parse", (iso) => {
    expect(toMillis(iso)).toBe(Date.parse(iso));
  });

  it.each([
    ["2019-13-01T00:00:00.000Z"],
    ["2019-10-0xT00:00:00.000Z"],
    ["2019-10-01T24:00:00.000Z"],
    ["yesterday"],
  ])("%s is not taken by hand", (iso) => {
    expect(canonicalMillis(iso)).toBeUndefined();
    if (!Number.isFinite(Date.parse(iso))) expect(() => toMillis(iso)).toThrow(RangeError);
  });
});
