import { describe, expect, it } from "vitest";
import { parseRangeId, rangeId } from "../../core/names.ts";
import type { CaplineEvent } from "../../core/schema/events.ts";
import { groupSales, mergeSales, type SalesDocument, salesDelta } from "../aggregates.ts";
import { generateEvents, referenceSales, rng, salesFigures } from "../test/events.ts";
import type { OffsetRange } from "../watermark.ts";
import {
  type Decrement,
  daysBetween,
  type ForgottenRow,
  isEmptySales,
  planDecrements,
  type SalesIndexName,
  subtractSales,
  uniqueRows,
} from "./plan.ts";
import { retentionFloor } from "./retention.ts";
import { forgetRunId } from "./run.ts";
import { forgetHash, scoreOf } from "./tombstones.ts";

const T = "customer-events";
type Store = Map<string, SalesDocument>;

/** Events as a real export has them: one brand and category per product. */
function events(count: number, seed: number, users: number): CaplineEvent[] {
  const brands = ["apple", "samsung", null, "bosch"];
  const categories = ["electronics.smartphone", null, "apparel.shoes"];
  return generateEvents(count, seed, users, 5).map((e) => {
    const p = Number(e.product_id);
    return {
      ...e,
      brand: brands[p % brands.length] ?? null,
      category_code: categories[p % categories.length] ?? null,
    };
  });
}

/** Merges a range's rows into the stores as the index sink does (whole range, watermark-guarded). */
function mergeRange(
  stores: Record<SalesIndexName, Store>,
  range: OffsetRange,
  rows: readonly ForgottenRow[],
): void {
  for (const [index, granularity] of [
    ["sales-daily", "daily"],
    ["sales-hourly", "hourly"],
  ] as const) {
    for (const group of groupSales(rows, (r) => r.event, granularity).values()) {
      const next = mergeSales(
        stores[index].get(group.id),
        salesDelta(
          group,
          group.items.map((r) => r.event),
        ),
        range,
      );
      if (next) stores[index].set(group.id, next);
    }
  }
}

function emptyStores(): Record<SalesIndexName, Store> {
  return { "sales-daily": new Map(), "sales-hourly": new Map() };
}

/** Applies decrements (and the deletion of emptied documents) as the forget run does. */
function applyPlan(stores: Record<SalesIndexName, Store>, plan: readonly Decrement[], runId: string): void {
  for (const d of plan) {
    const doc = stores[d.index].get(d.id);
    if (!doc) continue;
    const next = subtractSales(doc, d, runId);
    if (next) stores[d.index].set(d.id, next);
  }
  for (const d of plan) {
    const doc = stores[d.index].get(d.id);
    if (doc && isEmptySales(doc)) stores[d.index].delete(d.id);
  }
}

function figures(store: Store): Map<string, ReturnType<typeof salesFigures>> {
  const out = new Map<string, ReturnType<typeof salesFigures>>();
  for (const [id, d] of store) out.set(id, salesFigures(d));
  return out;
}

describe("forget: aggregate decrements", () => {
  it("equal an independent computation over the remaining events, whatever is merged yet (random)", () => {
    for (let seed = 1; seed <= 60; seed++) {
      const rand = rng(seed * 7919);
      const all = events(600, seed, 12);
      const partitions = 3;
      // Each user in one partition (key = user_id), offsets in order.
      const byPartition: ForgottenRow[][] = Array.from({ length: partitions }, () => []);
      for (const e of all) {
        const p = Number(e.user_id.slice(-3)) % partitions;
        const list = byPartition[p] as ForgottenRow[];
        list.push({ partition: p, offset: list.length, event: e });
      }
      const users = [...new Set(all.map((e) => e.user_id))];
      const forgotten = new Set(users.filter(() => rand() < 0.3));
      const stores = emptyStores();
      // Ranges of each partition; a random number of them merged before the forget.
      const later: Array<[OffsetRange, ForgottenRow[]]> = [];
      for (const [p, rows] of byPartition.entries()) {
        const size = 20 + Math.floor(rand() * 80);
        const ranges: Array<[OffsetRange, ForgottenRow[]]> = [];
        for (let first = 0; first < rows.length; first += size) {
          const part = rows.slice(first, first + size);
          ranges.push([{ topic: T, partition: p, first, last: first + part.length - 1 }, part]);
        }
        const merged = Math.floor(rand() * (ranges.length + 1));
        for (const [r, part] of ranges.slice(0, merged)) mergeRange(stores, r, part);
        later.push(...ranges.slice(merged));
      }
      // The plan reads the watermarks now; the rows come from everywhere (lake and in flight).
      const rows = byPartition.flat().filter((r) => forgotten.has(r.event.user_id));
      const plan = planDecrements(rows, (index, id) => stores[index].get(id)?.state.wm);
      applyPlan(stores, plan, "run1");
      // A rerun after a kill changes nothing.
      applyPlan(stores, plan, "run1");
      // The rest of the ranges arrive with the forgotten customers dropped (the forget list).
      for (const [r, part] of later)
        mergeRange(
          stores,
          r,
          part.filter((x) => !forgotten.has(x.event.user_id)),
        );
      const remaining = all.filter((e) => !forgotten.has(e.user_id));
      expect(figures(stores["sales-daily"]), `seed ${seed} daily`).toEqual(referenceSales(remaining));
      expect(figures(stores["sales-hourly"]), `seed ${seed} hourly`).toEqual(referenceSales(remaining, true));
    }
  });

  it("leave out documents that do not exist and rows past the watermark", () => {
    const e = events(1, 3, 1)[0] as CaplineEvent;
    const rows: ForgottenRow[] = [
      { partition: 0, offset: 5, event: e },
      { partition: 0, offset: 9, event: { ...e, event_id: "b", event_type: "purchase", price: 1.1 } },
    ];
    expect(planDecrements(rows, () => undefined)).toEqual([]);
    const plan = planDecrements(rows, () => ({ "0": 5 }));
    expect(plan.every((d) => d.views === 1 && d.purchases === 0 && d.revenueCents === 0)).toBe(
      e.event_type === "view",
    );
    expect(planDecrements(rows, () => ({ "1": 100 }))).toEqual([]);
    expect(planDecrements(rows, () => ({ "0": 9 })).find((d) => d.id.includes("|all|"))?.purchases).toBe(1);
  });

  it("refuse to take out more than a document holds, and mark the run", () => {
    const doc: SalesDocument = {
      bucket: "2019-10-01T00:00:00.000Z",
      dimension: "product",
      key: "1",
      views: 2,
      carts: 0,
      removes: 0,
      purchases: 1,
      revenue: 3.5,
      day_of_week: 2,
      updated_at: "x",
      state: { wm: { "0": 10 }, revenue_cents: 350, hours: { "3": [2, 0, 0, 1, 350] } },
    };
    const d: Decrement = {
      index: "sales-daily",
      id: "x",
      views: 1,
      carts: 0,
      removes: 0,
      purchases: 1,
      revenueCents: 350,
      hours: { "3": [1, 0, 0, 1, 350] },
    };
    const after = subtractSales(doc, d, "r1");
    expect(after).toMatchObject({
      views: 1,
      purchases: 0,
      revenue: 0,
      state: { revenue_cents: 0, forgotten: ["r1"] },
    });
    expect(after?.state.hours).toEqual({ "3": [1, 0, 0, 0, 0] });
    expect(after?.state.wm).toEqual({ "0": 10 });
    expect(after && subtractSales(after, d, "r1")).toBeNull();
    expect(() => after && subtractSales(after, d, "r2")).toThrow(
      /forget would take 350 from revenue_cents 0/,
    );
    expect(isEmptySales({ views: 0, carts: 0, removes: 0, purchases: 0 })).toBe(true);
    expect(isEmptySales({ views: 0, carts: 0, removes: 1, purchases: 0 })).toBe(false);
  });

  it("the pipeline's merge keeps the run marks", () => {
    const e = events(1, 4, 1)[0] as CaplineEvent;
    const group = [...groupSales([e], (x) => x, "daily").values()][0];
    if (!group) throw new Error("no group");
    const first = mergeSales(undefined, salesDelta(group, [e]), {
      topic: T,
      partition: 0,
      first: 0,
      last: 0,
    });
    if (!first) throw new Error("no merge");
    const marked = { ...first, state: { ...first.state, forgotten: ["r1"] } };
    const next = mergeSales(marked, salesDelta(group, [e]), { topic: T, partition: 0, first: 1, last: 1 });
    expect(next?.state.forgotten).toEqual(["r1"]);
  });
});

describe("forget: small helpers", () => {
  it("days between two instants, both included", () => {
    expect(daysBetween("2019-10-30T23:00:00.000Z", "2019-11-02T01:00:00.000Z")).toEqual([
      "2019-10-30",
      "2019-10-31",
      "2019-11-01",
      "2019-11-02",
    ]);
    expect(daysBetween("2019-10-30T00:00:00.000Z", "2019-10-30T23:59:59.999Z")).toEqual(["2019-10-30"]);
    expect(daysBetween("nonsense", "2019-10-30T00:00:00.000Z")).toEqual([]);
  });

  it("rows of a range in flight that is in the lake too count once", () => {
    const e = events(1, 5, 1)[0] as CaplineEvent;
    expect(
      uniqueRows([
        { partition: 1, offset: 3, event: e },
        { partition: 0, offset: 3, event: e },
        { partition: 1, offset: 3, event: e },
      ]).map((r) => [r.partition, r.offset]),
    ).toEqual([
      [0, 3],
      [1, 3],
    ]);
  });

  it("run ids depend on the set of customers only; hashes and scores", () => {
    expect(forgetRunId(["b", "a", "a"])).toBe(forgetRunId(["a", "b"]));
    expect(forgetRunId(["a"])).not.toBe(forgetRunId(["a", "b"]));
    expect(forgetRunId(["a"])).toMatch(/^[0-9a-f]{16}$/);
    expect(forgetHash("512475445")).toMatch(/^[0-9a-f]{64}$/);
    expect(forgetHash("512475445")).not.toContain("512475445");
    expect(scoreOf("inf")).toBe(Number.POSITIVE_INFINITY);
    expect(scoreOf("1733100000000")).toBe(1733100000000);
  });

  it("range ids parse back from payload keys and job ids", () => {
    const r = { topic: "customer-events.v2", partition: 4, first: 100, last: 199 };
    expect(parseRangeId(`capline:payload:${rangeId(r)}`)).toEqual(r);
    expect(parseRangeId(rangeId(r))).toEqual(r);
    expect(parseRangeId("capline:payload:nonsense")).toBeUndefined();
  });
});

describe("forget: how long the forget list keeps a customer", () => {
  it("the topic's retention when longer than the floor, forever for -1, the floor when unset", () => {
    const day = 86_400_000;
    expect(retentionFloor(undefined, 7 * day)).toBe(7 * day);
    expect(retentionFloor(String(30 * day), 7 * day)).toBe(30 * day);
    expect(retentionFloor(String(day), 7 * day)).toBe(7 * day);
    expect(retentionFloor("-1", 7 * day)).toBe(Number.POSITIVE_INFINITY);
    expect(retentionFloor(String(day), Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(retentionFloor("nonsense", 7 * day)).toBe(7 * day);
  });
});
