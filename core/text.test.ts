import { describe, expect, it } from "vitest";
import { count, didYouMean, num } from "./text.ts";

describe("counted nouns", () => {
  it("uses the singular for exactly one, the plural otherwise, with thousands separators", () => {
    expect(count(1, "event")).toBe("1 event");
    expect(count(0, "event")).toBe("0 events");
    expect(count(2, "event")).toBe("2 events");
    expect(count(12_345, "row")).toBe("12,345 rows");
    expect(count(1, "index", "indices")).toBe("1 index");
    expect(count(3, "index", "indices")).toBe("3 indices");
    expect(num(1_234_567)).toBe("1,234,567");
    expect(num(999)).toBe("999");
  });
});

describe("did you mean", () => {
  const reports = [
    "overview",
    "revenue",
    "funnel",
    "segments",
    "customers",
    "products",
    "categories",
    "brands",
    "cohorts",
    "hourly",
    "all",
  ];
  it("finds the report a typo meant, and nothing for a word far from all", () => {
    expect(didYouMean("overveiw", reports)).toBe("overview");
    expect(didYouMean("revnue", reports)).toBe("revenue");
    expect(didYouMean("cust", reports)).toBe("customers");
    expect(didYouMean("Brand", reports)).toBe("brands");
    expect(didYouMean("pizza", reports)).toBeUndefined();
    expect(didYouMean("x", reports)).toBeUndefined();
  });
});
