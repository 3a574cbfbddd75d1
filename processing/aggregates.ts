import { createHash } from "node:crypto";
import { type CaplineEvent, UNKNOWN_KEY } from "../core/schema/events.ts";
import type { Dimension } from "../core/schema/indices.ts";
import { fromCents, toCents } from "./profiles.ts";
import { dayBucket, hourBucket, hourOfDay, isoWeekday, MS_PER_DAY, MS_PER_HOUR, toMillis } from "./time.ts";
import { addTotal } from "./totals.ts";
import { advance, type OffsetRange, shouldApply, type Watermarks } from "./watermark.ts";

/**
 * Sales aggregates: one document per (bucket, dimension, key) in `sales-daily` and
 * `sales-hourly`. Every partition touches the same documents (the `all` key of a day, a popular
 * category), so each document keeps a watermark per partition.
 *
 * Index contract v2 (docs/decisions.md): `sales-hourly` has no `product` dimension (it was nearly
 * one document per event); a daily product document keeps its 24 hourly counts in `state.hours`
 * instead, so a range that is not made of whole days is still answered exactly. Every document
 * carries `day_of_week` (and hourly ones `hour_of_day`) of its UTC bucket, indexed, so the hour ×
 * weekday views need no script.
 */

export type Granularity = "daily" | "hourly";

export interface SalesCounts {
  views: number;
  carts: number;
  removes: number;
  purchases: number;
  revenueCents: number;
}

/** One hour of a daily product document: `[views, carts, removes, purchases, revenue_cents]`. */
export type HourCounts = [number, number, number, number, number];
/** Hour of day (UTC, `"0"`..`"23"`) → counts; hours without events are absent. */
export type HourlyCounts = Record<string, HourCounts>;

export interface SalesDelta extends SalesCounts {
  /** The document id: deterministic, so re-applying a range addresses the same document. */
  id: string;
  bucket: string;
  granularity: Granularity;
  dimension: Dimension;
  key: string;
  /** Daily product documents only. */
  hours?: HourlyCounts;
  /** Daily product documents only: the product's brand and category_code (see `firstOf`). */
  brand?: string;
  category?: string;
}

export interface SalesState {
  wm: Watermarks;
  revenue_cents: number;
  /** Daily product documents only. */
  hours?: HourlyCounts;
  /**
   * Forget runs whose decrement this document holds (processing/forget/): the marker that makes a
   * rerun after a kill skip it. Every merge keeps it.
   */
  forgotten?: string[];
}

export interface SalesDocument {
  bucket: string;
  dimension: Dimension;
  key: string;
  views: number;
  carts: number;
  removes: number;
  purchases: number;
  revenue: number;
  /** 1 = Monday … 7 = Sunday, of the UTC bucket. */
  day_of_week: number;
  /** 0–23, of the UTC bucket; hourly documents only. */
  hour_of_day?: number;
  /** Daily product documents: the product's brand and category_code, when its events have one. */
  brand?: string;
  category?: string;
  updated_at: string;
  state: SalesState;
}

/** Elasticsearch refuses `_id`s above 512 bytes; long keys are hashed instead. */
const MAX_ID_BYTES = 512;

export function salesDocId(bucket: string, dimension: Dimension, key: string): string {
  const id = `${bucket}|${dimension}|${key}`;
  if (Buffer.byteLength(id) <= MAX_ID_BYTES) return id;
  return `${bucket}|${dimension}|sha256:${createHash("sha256").update(key).digest("hex")}`;
}

/** The (dimension, key) pairs an event counts under; `product` (last) only in the daily aggregates. */
export function dimensionKeys(e: CaplineEvent): Array<[Dimension, string]> {
  return [
    ["all", "all"],
    ["category", e.category_code ?? UNKNOWN_KEY],
    ["brand", e.brand ?? UNKNOWN_KEY],
    ["product", e.product_id],
  ];
}

/** The events of a range grouped by the aggregate document they count in. */
export interface SalesGroup<E> {
  id: string;
  bucket: string;
  granularity: Granularity;
  dimension: Dimension;
  key: string;
  items: E[];
}

export function groupSales<E>(
  items: readonly E[],
  eventOf: (item: E) => CaplineEvent,
  granularity: Granularity,
): Map<string, SalesGroup<E>> {
  const unit = granularity === "daily" ? MS_PER_DAY : MS_PER_HOUR;
  // Hourly documents have no product dimension (index contract v2): the first three keys only.
  const dimensionCount = granularity === "daily" ? 4 : 3;
  const out = new Map<string, SalesGroup<E>>();
  // By bucket number, then dimension, then key: the id string (and its byte length) is made
  // once per document, not once per event and dimension, which showed in the profile.
  const buckets = new Map<number, Map<Dimension, Map<string, SalesGroup<E>>>>();
  for (const item of items) {
    const e = eventOf(item);
    const n = Math.floor(toMillis(e.event_time) / unit);
    let dimensions = buckets.get(n);
    if (!dimensions) {
      dimensions = new Map();
      buckets.set(n, dimensions);
    }
    const pairs = dimensionKeys(e);
    for (let i = 0; i < dimensionCount; i++) {
      const [dimension, key] = pairs[i] as [Dimension, string];
      let keys = dimensions.get(dimension);
      if (!keys) {
        keys = new Map();
        dimensions.set(dimension, keys);
      }
      const group = keys.get(key);
      if (group) group.items.push(item);
      else {
        const bucket = granularity === "daily" ? dayBucket(n * unit) : hourBucket(n * unit);
        const id = salesDocId(bucket, dimension, key);
        const made = { id, bucket, granularity, dimension, key, items: [item] };
        keys.set(key, made);
        out.set(id, made);
      }
    }
  }
  return out;
}

/** The delta of some events to one aggregate document. */
export function salesDelta(
  group: Omit<SalesGroup<unknown>, "items">,
  events: readonly CaplineEvent[],
): SalesDelta {
  const d: SalesDelta = {
    id: group.id,
    bucket: group.bucket,
    granularity: group.granularity,
    dimension: group.dimension,
    key: group.key,
    views: 0,
    carts: 0,
    removes: 0,
    purchases: 0,
    revenueCents: 0,
  };
  for (const e of events) addEvent(d, e);
  if (group.dimension === "product") {
    const hours: HourlyCounts = {};
    for (const e of events) {
      const h = String(hourOfDay(toMillis(e.event_time)));
      const c = hours[h] ?? [0, 0, 0, 0, 0];
      hours[h] = c;
      d.brand = firstOf(d.brand, e.brand);
      d.category = firstOf(d.category, e.category_code);
      if (e.event_type === "view") c[0]++;
      else if (e.event_type === "cart") c[1]++;
      else if (e.event_type === "remove_from_cart") c[2]++;
      else if (e.event_type === "purchase") {
        c[3]++;
        c[4] += toCents(e.price);
      }
    }
    d.hours = hours;
  }
  return d;
}

/**
 * The alphabetically first of two optional names: a product's brand and category are one value in
 * real exports; when the data has several, the smallest wins, whatever order the events come in.
 */
export function firstOf(a: string | undefined, b: string | null | undefined): string | undefined {
  if (b === null || b === undefined) return a;
  return a === undefined || b < a ? b : a;
}

/** `current` plus `delta`, hour by hour. */
export function addHours(current: HourlyCounts | undefined, delta: HourlyCounts): HourlyCounts {
  const out: HourlyCounts = { ...current };
  for (const [h, c] of Object.entries(delta)) {
    const was = out[h];
    out[h] = was ? [was[0] + c[0], was[1] + c[1], was[2] + c[2], was[3] + c[3], was[4] + c[4]] : c;
  }
  return out;
}

export function salesDeltas(
  events: readonly CaplineEvent[],
  granularity: Granularity,
): Map<string, SalesDelta> {
  const out = new Map<string, SalesDelta>();
  for (const group of groupSales(events, (e) => e, granularity).values())
    out.set(group.id, salesDelta(group, group.items));
  return out;
}

function addEvent(c: SalesCounts, e: CaplineEvent): void {
  switch (e.event_type) {
    case "view":
      c.views++;
      break;
    case "cart":
      c.carts++;
      break;
    case "remove_from_cart":
      c.removes++;
      break;
    case "purchase":
      c.purchases++;
      c.revenueCents += toCents(e.price);
      break;
  }
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

/** Merges a delta into a stored aggregate; `null` when the range is already in it. */
export function mergeSales(
  current: SalesDocument | undefined,
  delta: SalesDelta,
  range: OffsetRange,
  now: Date = new Date(),
): SalesDocument | null {
  if (current && !shouldApply(current.state.wm, range)) return null;
  const revenueCents = addTotal("revenue_cents", current?.state.revenue_cents, delta.revenueCents);
  const bucketMs = toMillis(delta.bucket);
  return {
    bucket: delta.bucket,
    dimension: delta.dimension,
    key: delta.key,
    views: (current?.views ?? 0) + delta.views,
    carts: (current?.carts ?? 0) + delta.carts,
    removes: (current?.removes ?? 0) + delta.removes,
    purchases: (current?.purchases ?? 0) + delta.purchases,
    revenue: fromCents(revenueCents),
    day_of_week: isoWeekday(bucketMs),
    ...(delta.granularity === "hourly" ? { hour_of_day: hourOfDay(bucketMs) } : {}),
    ...optional("brand", firstOf(current?.brand, delta.brand)),
    ...optional("category", firstOf(current?.category, delta.category)),
    updated_at: now.toISOString(),
    state: {
      wm: advance(current?.state.wm, range),
      revenue_cents: revenueCents,
      ...(delta.hours ? { hours: addHours(current?.state.hours, delta.hours) } : {}),
      ...(current?.state.forgotten ? { forgotten: current.state.forgotten } : {}),
    },
  };
}
