import type { CaplineEvent, EventType } from "../../core/schema/events.ts";

/**
 * Test fixtures: a seeded generator of canonical events and a brute-force reference computation
 * of profiles and aggregates, written without any of processing's merge code, so the tests compare
 * the pipeline's incremental results with an independent whole-data computation.
 */

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TYPES: EventType[] = ["view", "view", "view", "view", "cart", "remove_from_cart", "purchase"];
const CATEGORIES = ["electronics.smartphone", "appliances.kitchen", "apparel.shoes", null];
const BRANDS = ["apple", "samsung", "xiaomi", null, "bosch"];

export function generateEvents(count: number, seed = 1, users = 40, days = 21): CaplineEvent[] {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const base = Date.parse("2019-10-28T00:00:00.000Z");
  const out: CaplineEvent[] = [];
  for (let i = 0; i < count; i++) {
    const user = `5${String(Math.floor(rand() * users)).padStart(18, "0")}`;
    // Spread over `days`, in random order: late and out-of-order events on purpose.
    const ms = base + Math.floor(rand() * days * 86_400_000);
    const cents = Math.floor(rand() * 200_000);
    out.push({
      event_id: `e${seed}-${i}`,
      event_time: new Date(ms).toISOString(),
      event_type: pick(TYPES),
      product_id: `${1000 + Math.floor(rand() * 30)}`,
      category_id: "2053013555631882655",
      category_code: pick(CATEGORIES),
      brand: pick(BRANDS),
      price: cents / 100,
      user_id: user,
      user_session: rand() < 0.05 ? "" : `s-${user}-${Math.floor(rand() * 4)}`,
      source: { file: "test.csv", line: i + 2 },
    });
  }
  return out;
}

export interface ReferenceProfile {
  views: number;
  carts: number;
  removes: number;
  purchases: number;
  total_spent: number;
  first_seen: string;
  last_seen: string;
  sessions: number;
  last_purchase_at: string | null;
  /** Category codes / brands of the purchases, each once, sorted; "unknown" for a purchase without. */
  purchased_categories: string[];
  purchased_brands: string[];
}

/** Profiles computed directly from all events at once. */
export function referenceProfiles(events: readonly CaplineEvent[]): Map<string, ReferenceProfile> {
  const groups = new Map<string, CaplineEvent[]>();
  for (const e of events) groups.set(e.user_id, [...(groups.get(e.user_id) ?? []), e]);
  const out = new Map<string, ReferenceProfile>();
  for (const [user, list] of groups) {
    const times = list.map((e) => e.event_time).sort();
    const purchases = list.filter((e) => e.event_type === "purchase");
    const cents = purchases.reduce((s, e) => s + Math.round(e.price * 100), 0);
    out.set(user, {
      views: list.filter((e) => e.event_type === "view").length,
      carts: list.filter((e) => e.event_type === "cart").length,
      removes: list.filter((e) => e.event_type === "remove_from_cart").length,
      purchases: purchases.length,
      total_spent: cents / 100,
      first_seen: times[0] ?? "",
      last_seen: times[times.length - 1] ?? "",
      sessions: new Set(list.map((e) => e.user_session).filter((s) => s !== "")).size,
      last_purchase_at:
        purchases.length === 0
          ? null
          : (purchases
              .map((e) => e.event_time)
              .sort()
              .pop() ?? null),
      purchased_categories: [...new Set(purchases.map((e) => e.category_code ?? "unknown"))].sort(),
      purchased_brands: [...new Set(purchases.map((e) => e.brand ?? "unknown"))].sort(),
    });
  }
  return out;
}

export interface ReferenceSales {
  views: number;
  carts: number;
  removes: number;
  purchases: number;
  revenue: number;
  /** 1 = Monday … 7 = Sunday (index contract v2). */
  day_of_week: number;
  /** Hourly documents only. */
  hour_of_day?: number;
  /** Daily product documents only: hour → [views, carts, removes, purchases, revenue cents]. */
  hours?: Record<string, number[]>;
  /** Daily product documents only: the alphabetically first brand / category_code of its events. */
  brand?: string;
  category?: string;
}

/**
 * Daily (or hourly) aggregates keyed `bucketISO|dimension|key`, computed from all events. Index
 * contract v2: no product documents in the hourly aggregates; daily product documents carry their
 * hours.
 */
export function referenceSales(events: readonly CaplineEvent[], hourly = false): Map<string, ReferenceSales> {
  const cents = new Map<string, number>();
  const out = new Map<string, ReferenceSales>();
  for (const e of events) {
    const bucket = hourly
      ? `${e.event_time.slice(0, 13)}:00:00.000Z`
      : `${e.event_time.slice(0, 10)}T00:00:00.000Z`;
    const date = new Date(bucket);
    const keys = [
      `${bucket}|all|all`,
      `${bucket}|category|${e.category_code ?? "unknown"}`,
      `${bucket}|brand|${e.brand ?? "unknown"}`,
      ...(hourly ? [] : [`${bucket}|product|${e.product_id}`]),
    ];
    for (const k of keys) {
      const row: ReferenceSales = out.get(k) ?? {
        views: 0,
        carts: 0,
        removes: 0,
        purchases: 0,
        revenue: 0,
        day_of_week: date.getUTCDay() === 0 ? 7 : date.getUTCDay(),
        ...(hourly ? { hour_of_day: date.getUTCHours() } : {}),
        ...(k.includes("|product|") ? { hours: {} } : {}),
      };
      const type = ["view", "cart", "remove_from_cart", "purchase"].indexOf(e.event_type);
      if (e.event_type === "view") row.views++;
      if (e.event_type === "cart") row.carts++;
      if (e.event_type === "remove_from_cart") row.removes++;
      if (e.event_type === "purchase") {
        row.purchases++;
        cents.set(k, (cents.get(k) ?? 0) + Math.round(e.price * 100));
        row.revenue = (cents.get(k) ?? 0) / 100;
      }
      if (row.hours) {
        for (const [field, value] of [
          ["brand", e.brand],
          ["category", e.category_code],
        ] as const)
          if (value !== null && (row[field] === undefined || value < (row[field] as string)))
            row[field] = value;
        const hour = String(Number(e.event_time.slice(11, 13)));
        const h = row.hours[hour] ?? [0, 0, 0, 0, 0];
        h[type] = (h[type] ?? 0) + 1;
        if (e.event_type === "purchase") h[4] = (h[4] ?? 0) + Math.round(e.price * 100);
        row.hours[hour] = h;
      }
      out.set(k, row);
    }
  }
  return out;
}

/** The fields of a stored sales document that `referenceSales` computes. */
export function salesFigures(d: {
  views: number;
  carts: number;
  removes: number;
  purchases: number;
  revenue: number;
  day_of_week?: number;
  hour_of_day?: number;
  state?: { hours?: Record<string, number[]> };
  brand?: string;
  category?: string;
}): ReferenceSales {
  return {
    views: d.views,
    carts: d.carts,
    removes: d.removes,
    purchases: d.purchases,
    revenue: d.revenue,
    day_of_week: d.day_of_week as number,
    ...(d.hour_of_day !== undefined ? { hour_of_day: d.hour_of_day } : {}),
    ...(d.state?.hours !== undefined ? { hours: d.state.hours } : {}),
    ...(d.brand !== undefined ? { brand: d.brand } : {}),
    ...(d.category !== undefined ? { category: d.category } : {}),
  };
}
