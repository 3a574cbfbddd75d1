import { describe, expect, it } from "vitest";
import type { CaplineEvent } from "../core/schema/events.ts";
import { mergeSales, salesDeltas } from "./aggregates.ts";
import { mergeProfile, profileDeltas } from "./profiles.ts";
import { addTotal } from "./totals.ts";

/** Issue 12, item 2: a merge never writes null over a total, and refuses non-finite numbers. */

const purchase = (price: number, line: number): CaplineEvent => ({
  event_id: `e${line}`,
  event_time: "2019-10-01T10:00:00.000Z",
  event_type: "purchase",
  product_id: "1",
  category_id: "2",
  category_code: "electronics.smartphone",
  brand: "apple",
  price,
  user_id: "u1",
  user_session: "s1",
  source: { file: "f.csv", line },
});
const range = (first: number, last: number) => ({ topic: "t", partition: 0, first, last });

describe("addTotal", () => {
  it("adds safe integers, a missing total counting as 0", () => {
    expect(addTotal("x", undefined, 5)).toBe(5);
    expect(addTotal("x", 7, 5)).toBe(12);
  });

  it.each([null, Number.NaN, Number.POSITIVE_INFINITY, 1.5, "12"])(
    "refuses a stored total of %s",
    (stored) => {
      expect(() => addTotal("revenue_cents", stored, 1)).toThrow(
        /stored revenue_cents is .*not a whole number/,
      );
    },
  );

  it("refuses a non-finite delta and a sum beyond 2^53", () => {
    expect(() => addTotal("x", 0, Number.POSITIVE_INFINITY)).toThrow(/not a safe whole number/);
    expect(() => addTotal("x", Number.MAX_SAFE_INTEGER, 1)).toThrow(/not a safe whole number/);
  });
});

describe("merges with a poisoned price", () => {
  it("refuse Infinity cents instead of storing null, and keep the day's revenue on a good event", () => {
    const huge = purchase(1e307, 1); // what the audit sent; the ingester now refuses it
    const [sales] = [...salesDeltas([huge], "daily").values()];
    expect(() => mergeSales(undefined, sales as NonNullable<typeof sales>, range(0, 0))).toThrow(
      /revenue_cents/,
    );
    const [profile] = [...profileDeltas([huge]).values()];
    expect(() => mergeProfile(undefined, profile as NonNullable<typeof profile>, range(0, 0))).toThrow(
      /spent_cents/,
    );
    // The audit's sequence without the poison: 13.00, then 10.00 and 7.00: 30.00, never restarted.
    let doc = undefined as ReturnType<typeof mergeSales> | undefined;
    for (const [i, price] of [13, 10, 7].entries()) {
      const [d] = [...salesDeltas([purchase(price, i + 2)], "daily").values()].filter(
        (x) => x.dimension === "all",
      );
      doc = mergeSales(doc ?? undefined, d as NonNullable<typeof d>, range(i + 1, i + 1)) ?? doc;
    }
    expect(doc?.revenue).toBe(30);
  });

  it("refuse to merge into a document whose total was already written as null", () => {
    const [d] = [...salesDeltas([purchase(10, 1)], "daily").values()].filter((x) => x.dimension === "all");
    const delta = d as NonNullable<typeof d>;
    const stored = mergeSales(undefined, delta, range(0, 0));
    const poisoned = JSON.parse(
      JSON.stringify({ ...stored, state: { ...stored?.state, revenue_cents: Infinity } }),
    );
    expect(poisoned.state.revenue_cents).toBeNull();
    expect(() => mergeSales(poisoned, delta, range(1, 1))).toThrow(/stored revenue_cents is null/);
  });
});
