import { describe, expect, it } from "vitest";
import { rangeId } from "../core/names.ts";
import type { CaplineEvent } from "../core/schema/events.ts";
import { mergeSales, type SalesDocument, salesDeltas, salesDocId } from "./aggregates.ts";
import { mergeProfile, type ProfileDocument, profileDeltas, topKey } from "./profiles.ts";
import { generateEvents, referenceProfiles, referenceSales, rng, salesFigures } from "./test/events.ts";
import { dayBucket, hourBucket, isoWeekMonday } from "./time.ts";
import { type OffsetRange, shouldApply } from "./watermark.ts";

const T = "customer-events";

function event(over: Partial<CaplineEvent>): CaplineEvent {
  return {
    event_id: "x",
    event_time: "2019-10-01T10:00:00.000Z",
    event_type: "view",
    product_id: "1",
    category_id: "2",
    category_code: "electronics.smartphone",
    brand: "apple",
    price: 10,
    user_id: "u1",
    user_session: "s1",
    source: { file: "f.csv", line: 2 },
    ...over,
  };
}

function range(partition: number, first: number, last: number): OffsetRange {
  return { topic: T, partition, first, last };
}

function applyProfiles(store: Map<string, ProfileDocument>, events: CaplineEvent[], r: OffsetRange): number {
  let written = 0;
  for (const delta of profileDeltas(events).values()) {
    const next = mergeProfile(store.get(delta.user_id), delta, r);
    if (next) {
      store.set(delta.user_id, next);
      written++;
    }
  }
  return written;
}

function applySales(
  store: Map<string, SalesDocument>,
  events: CaplineEvent[],
  r: OffsetRange,
  hourly = false,
) {
  for (const delta of salesDeltas(events, hourly ? "hourly" : "daily").values()) {
    const next = mergeSales(store.get(delta.id), delta, r);
    if (next) store.set(delta.id, next);
  }
}

describe("time buckets", () => {
  it("buckets by UTC day and hour", () => {
    const ms = Date.parse("2019-10-01T23:59:59.999Z");
    expect(dayBucket(ms)).toBe("2019-10-01T00:00:00.000Z");
    expect(hourBucket(ms)).toBe("2019-10-01T23:00:00.000Z");
  });
  it("finds the ISO week's Monday", () => {
    expect(isoWeekMonday(Date.parse("2019-10-01T12:00:00Z"))).toBe("2019-09-30"); // Tuesday
    expect(isoWeekMonday(Date.parse("2019-09-30T00:00:00Z"))).toBe("2019-09-30"); // Monday
    expect(isoWeekMonday(Date.parse("2019-10-06T23:59:59Z"))).toBe("2019-09-30"); // Sunday
    expect(isoWeekMonday(Date.parse("2019-10-07T00:00:00Z"))).toBe("2019-10-07");
    expect(isoWeekMonday(Date.parse("1969-12-31T00:00:00Z"))).toBe("1969-12-29"); // before epoch
  });
});

describe("watermarks", () => {
  it("applies a range only above the partition's watermark", () => {
    expect(shouldApply(undefined, range(0, 0, 9))).toBe(true);
    expect(shouldApply({ "0": 9 }, range(0, 0, 9))).toBe(false);
    expect(shouldApply({ "0": 9 }, range(0, 5, 8))).toBe(false);
    expect(shouldApply({ "0": 9 }, range(0, 10, 19))).toBe(true);
    expect(shouldApply({ "0": 9 }, range(1, 0, 3))).toBe(true);
    expect(rangeId(range(3, 10, 20))).toBe("customer-events+3+10-20");
  });
});

describe("profiles", () => {
  it("counts brands and category codes named like Object's own properties", () => {
    const names = ["__proto__", "constructor", "toString", "hasOwnProperty"];
    const store = new Map<string, ProfileDocument>();
    applyProfiles(
      store,
      names.map((brand) => event({ brand, category_code: brand })),
      range(0, 0, 3),
    );
    // The stored document goes through JSON (as in Elasticsearch) before the next merge.
    const stored = JSON.parse(JSON.stringify(store.get("u1"))) as ProfileDocument;
    store.set("u1", stored);
    applyProfiles(store, [event({ brand: "__proto__", category_code: "constructor" })], range(0, 4, 4));
    const state = store.get("u1")?.state;
    expect(Object.entries(state?.brands ?? {}).sort()).toEqual(
      [
        ["__proto__", 2],
        ["constructor", 1],
        ["hasOwnProperty", 1],
        ["toString", 1],
      ].sort(),
    );
    expect(Object.entries(state?.categories ?? {}).sort()).toEqual(
      [
        ["__proto__", 1],
        ["constructor", 2],
        ["hasOwnProperty", 1],
        ["toString", 1],
      ].sort(),
    );
    expect(store.get("u1")).toMatchObject({ top_brand: "__proto__", top_category: "constructor" });
  });

  it("counts each event type, money in cents, sessions and times", () => {
    const events = [
      event({ event_type: "view", event_time: "2019-10-02T00:00:00.000Z" }),
      event({ event_type: "view", user_session: "s2", event_time: "2019-10-01T00:00:00.000Z" }),
      event({ event_type: "cart", user_session: "" }),
      event({ event_type: "remove_from_cart" }),
      event({ event_type: "purchase", price: 0.1, event_time: "2019-10-03T00:00:00.000Z" }),
      event({ event_type: "purchase", price: 0.2, brand: "samsung", category_code: null }),
    ];
    const store = new Map<string, ProfileDocument>();
    applyProfiles(store, events, range(0, 0, 5));
    const p = store.get("u1");
    expect(p).toMatchObject({
      views: 2,
      carts: 1,
      removes: 1,
      purchases: 2,
      total_spent: 0.3, // 0.1 + 0.2 in floating point would be 0.30000000000000004
      avg_order_value: 0.15,
      sessions: 2,
      first_seen: "2019-10-01T00:00:00.000Z",
      last_seen: "2019-10-03T00:00:00.000Z",
      last_purchase_at: "2019-10-03T00:00:00.000Z",
      conversion_rate: 1,
      top_category: "electronics.smartphone",
      top_brand: "apple",
      active_weeks: ["2019-09-30"],
      active_week_count: 1,
      cohort_week: "2019-09-30",
      frequency: 2,
      monetary: 0.3,
      segment: null,
    });
    expect(p?.state.wm).toEqual({ "0": 5 });
  });

  it("gives zero conversion and order value without views or purchases", () => {
    const store = new Map<string, ProfileDocument>();
    applyProfiles(store, [event({ event_type: "cart" })], range(0, 0, 0));
    expect(store.get("u1")).toMatchObject({ conversion_rate: 0, avg_order_value: 0, last_purchase_at: null });
  });

  it("breaks top_category/top_brand ties by the smallest key and ignores nulls", () => {
    expect(topKey({ b: 2, a: 2, c: 1 })).toBe("a");
    expect(topKey({ z: 3, a: 2 })).toBe("z");
    expect(topKey({})).toBeNull();
    const store = new Map<string, ProfileDocument>();
    applyProfiles(store, [event({ brand: null, category_code: null })], range(0, 0, 0));
    expect(store.get("u1")).toMatchObject({ top_brand: null, top_category: null });
  });

  it("keeps the set of categories and brands bought: purchases only, unknown for none, each once", () => {
    const store = new Map<string, ProfileDocument>();
    applyProfiles(
      store,
      [
        event({ event_type: "view", category_code: "apparel.shoes", brand: "nike" }),
        event({ event_type: "cart", category_code: "apparel.shoes", brand: "nike" }),
        event({ event_type: "purchase", category_code: "b.b", brand: "zeta" }),
        event({ event_type: "purchase", category_code: null, brand: "" }),
      ],
      range(0, 0, 3),
    );
    expect(store.get("u1")).toMatchObject({
      purchased_categories: ["b.b", "unknown"],
      purchased_brands: ["unknown", "zeta"],
    });
    applyProfiles(
      store,
      [event({ event_type: "purchase", category_code: "a.a", brand: "zeta" })],
      range(1, 0, 0),
    );
    // The same range again (a redelivery) changes nothing; a new one adds to the sorted sets.
    applyProfiles(
      store,
      [event({ event_type: "purchase", category_code: "c.c", brand: "x" })],
      range(1, 0, 0),
    );
    expect(store.get("u1")).toMatchObject({
      purchased_categories: ["a.a", "b.b", "unknown"],
      purchased_brands: ["unknown", "zeta"],
    });
    // A customer without a purchase has empty sets, never a missing field.
    applyProfiles(store, [event({ user_id: "u2", event_type: "view" })], range(2, 0, 0));
    expect(store.get("u2")).toMatchObject({ purchased_categories: [], purchased_brands: [] });
  });

  it("ignores the same range twice and an older range", () => {
    const store = new Map<string, ProfileDocument>();
    const events = [event({ event_type: "purchase", price: 5 })];
    expect(applyProfiles(store, events, range(2, 10, 19))).toBe(1);
    const after = structuredClone(store.get("u1"));
    expect(applyProfiles(store, events, range(2, 10, 19))).toBe(0);
    expect(applyProfiles(store, events, range(2, 0, 9))).toBe(0);
    expect(store.get("u1")).toEqual(after);
    expect(applyProfiles(store, events, range(2, 20, 29))).toBe(1);
    expect(store.get("u1")?.total_spent).toBe(10);
  });

  it("keeps the RFM fields that the RFM job set", () => {
    const store = new Map<string, ProfileDocument>();
    applyProfiles(store, [event({})], range(0, 0, 0));
    const p = store.get("u1") as ProfileDocument;
    store.set("u1", { ...p, r: 5, f: 4, m: 3, rfm_score: "543", segment: "Champions", recency_days: 2 });
    applyProfiles(store, [event({})], range(0, 1, 1));
    expect(store.get("u1")).toMatchObject({
      r: 5,
      f: 4,
      m: 3,
      rfm_score: "543",
      segment: "Champions",
      views: 2,
    });
  });
});

describe("aggregates", () => {
  it("files null category and brand under unknown, revenue from purchases only", () => {
    const deltas = salesDeltas(
      [
        event({ category_code: null, brand: null, event_type: "purchase", price: 19.99 }),
        event({ event_type: "view", price: 1000 }),
      ],
      "daily",
    );
    const b = "2019-10-01T00:00:00.000Z";
    expect(deltas.get(salesDocId(b, "category", "unknown"))).toMatchObject({
      purchases: 1,
      revenueCents: 1999,
    });
    expect(deltas.get(salesDocId(b, "all", "all"))).toMatchObject({
      views: 1,
      purchases: 1,
      revenueCents: 1999,
    });
    expect(deltas.get(salesDocId(b, "brand", "apple"))).toMatchObject({ views: 1, revenueCents: 0 });
    expect(deltas.size).toBe(6); // all, 2 categories, 2 brands, 1 product
  });

  it("hashes keys that would make an _id too long", () => {
    const id = salesDocId("2019-10-01T00:00:00.000Z", "brand", "x".repeat(600));
    expect(Buffer.byteLength(id)).toBeLessThanOrEqual(512);
    expect(id).toContain("sha256:");
  });

  it("keeps a watermark per partition", () => {
    const store = new Map<string, SalesDocument>();
    const e = [event({ event_type: "purchase", price: 1.1 })];
    applySales(store, e, range(0, 0, 0));
    applySales(store, e, range(1, 0, 0));
    applySales(store, e, range(1, 0, 0));
    applySales(store, e, range(0, 0, 0));
    const doc = store.get(salesDocId("2019-10-01T00:00:00.000Z", "all", "all"));
    expect(doc).toMatchObject({ purchases: 2, revenue: 2.2 });
    expect(doc?.state.wm).toEqual({ "0": 0, "1": 0 });
  });
});

/**
 * The exactly-once property on random data: events spread over partitions by user, cut into
 * random ranges, applied partition-interleaved in a random order with redeliveries of already
 * applied ranges at random moments. The result must equal the whole-data reference to the cent.
 */
describe("exactly-once merge under redelivery and interleaving", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`seed ${seed}`, () => {
      const rand = rng(seed * 7919);
      const events = generateEvents(3000, seed, 60);
      const partitions = 4;
      const perPartition: CaplineEvent[][] = Array.from({ length: partitions }, () => []);
      for (const e of events) perPartition[Number(BigInt(e.user_id) % BigInt(partitions))]?.push(e);
      // Cut each partition into ranges of random length.
      const ranges: Array<Array<{ r: OffsetRange; events: CaplineEvent[] }>> = perPartition.map((list, p) => {
        const out: Array<{ r: OffsetRange; events: CaplineEvent[] }> = [];
        let i = 0;
        while (i < list.length) {
          const n = 1 + Math.floor(rand() * 200);
          out.push({ r: range(p, i, Math.min(i + n, list.length) - 1), events: list.slice(i, i + n) });
          i += n;
        }
        return out;
      });
      const profiles = new Map<string, ProfileDocument>();
      const daily = new Map<string, SalesDocument>();
      const hourly = new Map<string, SalesDocument>();
      const next = ranges.map(() => 0);
      const applyRange = (x: { r: OffsetRange; events: CaplineEvent[] }) => {
        applyProfiles(profiles, x.events, x.r);
        applySales(daily, x.events, x.r);
        applySales(hourly, x.events, x.r, true);
      };
      for (;;) {
        const open = next.map((n, p) => (n < (ranges[p]?.length ?? 0) ? p : -1)).filter((p) => p >= 0);
        if (open.length === 0) break;
        const p = open[Math.floor(rand() * open.length)] as number;
        const list = ranges[p] ?? [];
        applyRange(list[next[p] as number] as { r: OffsetRange; events: CaplineEvent[] });
        next[p] = (next[p] as number) + 1;
        // A redelivery of any range already applied (a retry, a replay after a crash).
        if (rand() < 0.3) {
          const old = list[Math.floor(rand() * (next[p] as number))];
          if (old) applyRange(old);
        }
      }
      const want = referenceProfiles(events);
      expect(profiles.size).toBe(want.size);
      for (const [user, ref] of want) {
        const got = profiles.get(user);
        expect({
          views: got?.views,
          carts: got?.carts,
          removes: got?.removes,
          purchases: got?.purchases,
          total_spent: got?.total_spent,
          first_seen: got?.first_seen,
          last_seen: got?.last_seen,
          sessions: got?.sessions,
          last_purchase_at: got?.last_purchase_at,
          purchased_categories: got?.purchased_categories,
          purchased_brands: got?.purchased_brands,
        }).toEqual(ref);
      }
      for (const [store, ref] of [
        [daily, referenceSales(events)],
        [hourly, referenceSales(events, true)],
      ] as const) {
        expect(store.size).toBe(ref.size);
        for (const [id, want] of ref) {
          const got = store.get(id);
          expect(got && salesFigures(got)).toEqual(want);
        }
      }
    });
  }
});
