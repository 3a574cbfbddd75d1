import { type CaplineEvent, UNKNOWN_KEY } from "../core/schema/events.ts";
import { NO_PURCHASE_SEGMENT } from "./rfm.ts";
import { isoMillis, isoWeekMonday, toMillis } from "./time.ts";
import { addTotal } from "./totals.ts";
import { advance, type OffsetRange, shouldApply, type Watermarks } from "./watermark.ts";

/**
 * Customer profiles: what one range of events adds to each customer (a delta), how a delta is
 * merged into the stored document (exactly once, guarded by watermarks), and the derived fields.
 * Every merge is commutative (sums, min/max, set unions), so the final document does not depend
 * on the order in which partitions' ranges arrive, only on which ranges were applied.
 */

/** What a range adds to one customer. Money in integer cents, times in epoch ms. */
export interface ProfileDelta {
  user_id: string;
  views: number;
  carts: number;
  removes: number;
  purchases: number;
  spentCents: number;
  firstMs: number;
  lastMs: number;
  lastPurchaseMs: number | null;
  sessions: Set<string>;
  categories: Map<string, number>;
  brands: Map<string, number>;
  weeks: Set<string>;
  /** category_code of each purchase (`unknown` for none), and brand: "bought at least once". */
  purchasedCategories: Set<string>;
  purchasedBrands: Set<string>;
}

/** Bookkeeping kept in the document's `state` (stored, not indexed). */
export interface ProfileState {
  wm: Watermarks;
  spent_cents: number;
  /** Distinct non-empty user_session values, sorted. */
  sessions: string[];
  /** Events per category_code (null codes are not counted). */
  categories: Record<string, number>;
  /** Events per brand (null brands are not counted). */
  brands: Record<string, number>;
}

/** Fields the periodic RFM job owns; a merge keeps them as they are. */
export interface RfmFields {
  recency_days: number | null;
  r: number | null;
  f: number | null;
  m: number | null;
  rfm_score: string | null;
  segment: string | null;
}

export interface ProfileDocument extends RfmFields {
  user_id: string;
  first_seen: string;
  last_seen: string;
  views: number;
  carts: number;
  removes: number;
  purchases: number;
  total_spent: number;
  avg_order_value: number;
  sessions: number;
  last_purchase_at: string | null;
  top_category: string | null;
  top_brand: string | null;
  conversion_rate: number;
  /**
   * The category codes and brands of the customer's purchases, sorted, each once (`unknown` for a
   * purchase without one, as the aggregates file it): index contract v2, targeting "bought X".
   * Absent on documents written before it until `capline setup` fills them from the lake.
   */
  purchased_categories: string[];
  purchased_brands: string[];
  /** Mondays (YYYY-MM-DD) of the ISO weeks with activity, sorted. */
  active_weeks: string[];
  active_week_count: number;
  cohort_week: string;
  frequency: number;
  monetary: number;
  updated_at: string;
  state: ProfileState;
}

/** Integer cents of a price: the unit every sum is kept in. */
export function toCents(price: number): number {
  return Math.round(price * 100);
}

export function fromCents(cents: number): number {
  return Math.round(cents) / 100;
}

function bump(map: Map<string, number>, key: string | null): void {
  if (key === null || key === "") return;
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** One delta per customer of the events given (one range). */
export function profileDeltas(events: readonly CaplineEvent[]): Map<string, ProfileDelta> {
  const out = new Map<string, ProfileDelta>();
  for (const e of events) {
    const ms = toMillis(e.event_time);
    let d = out.get(e.user_id);
    if (!d) {
      d = {
        user_id: e.user_id,
        views: 0,
        carts: 0,
        removes: 0,
        purchases: 0,
        spentCents: 0,
        firstMs: ms,
        lastMs: ms,
        lastPurchaseMs: null,
        sessions: new Set(),
        categories: new Map(),
        brands: new Map(),
        weeks: new Set(),
        purchasedCategories: new Set(),
        purchasedBrands: new Set(),
      };
      out.set(e.user_id, d);
    }
    switch (e.event_type) {
      case "view":
        d.views++;
        break;
      case "cart":
        d.carts++;
        break;
      case "remove_from_cart":
        d.removes++;
        break;
      case "purchase":
        d.purchases++;
        d.spentCents += toCents(e.price);
        d.lastPurchaseMs = d.lastPurchaseMs === null ? ms : Math.max(d.lastPurchaseMs, ms);
        d.purchasedCategories.add(purchasedKey(e.category_code));
        d.purchasedBrands.add(purchasedKey(e.brand));
        break;
    }
    if (ms < d.firstMs) d.firstMs = ms;
    if (ms > d.lastMs) d.lastMs = ms;
    if (e.user_session !== "") d.sessions.add(e.user_session);
    bump(d.categories, e.category_code);
    bump(d.brands, e.brand);
    d.weeks.add(isoWeekMonday(ms));
  }
  return out;
}

/** The key a purchase files under in `purchased_*`: the code or brand, `unknown` when empty. */
export function purchasedKey(value: string | null): string {
  return value === null || value === "" ? UNKNOWN_KEY : value;
}

/** The key with the highest count; ties go to the smallest key (so every run picks the same). */
export function topKey(counts: Record<string, number>): string | null {
  let best: string | null = null;
  let bestCount = 0;
  for (const [key, count] of Object.entries(counts)) {
    if (count > bestCount || (count === bestCount && best !== null && key < best)) {
      best = key;
      bestCount = count;
    }
  }
  return best;
}

/**
 * The sorted union of a sorted list and some values. Most merges add nothing new (a customer's
 * sessions and weeks repeat from range to range): then the list is returned as it is, found by
 * binary search instead of a Set of everything and a sort on every merge. Never modified in place:
 * documents share it.
 */
function sortedUnion(a: readonly string[], b: Iterable<string>): string[] {
  const added: string[] = [];
  for (const value of b) if (!sortedHas(a, value)) added.push(value);
  if (added.length === 0) return a as string[];
  return [...new Set([...a, ...added])].sort();
}

function sortedHas(list: readonly string[], value: string): boolean {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const at = list[mid] as string;
    if (at === value) return true;
    if (at < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * Counts keyed by brand or category code: user data, so a key may be `constructor` or
 * `__proto__`. A prototype-less record counts those like any other name (on `{}` the first
 * would read an inherited function and the second would be swallowed by the prototype setter).
 */
function addCounts(a: Record<string, number>, b: Map<string, number>): Record<string, number> {
  const out = Object.assign(Object.create(null) as Record<string, number>, a);
  for (const [key, n] of b) out[key] = (Object.hasOwn(out, key) ? (out[key] ?? 0) : 0) + n;
  return out;
}

const NO_RFM: Readonly<RfmFields> = {
  recency_days: null,
  r: null,
  f: null,
  m: null,
  rfm_score: null,
  segment: null,
};

/**
 * Merges a range's delta into a stored profile (or creates it). Returns `null` when the document
 * already contains the range (watermark at or above `range.last`): nothing to write.
 */
export function mergeProfile(
  current: ProfileDocument | undefined,
  delta: ProfileDelta,
  range: OffsetRange,
  now: Date = new Date(),
): ProfileDocument | null {
  if (current && !shouldApply(current.state.wm, range)) return null;
  const firstMs = current ? Math.min(toMillis(current.first_seen), delta.firstMs) : delta.firstMs;
  const lastMs = current ? Math.max(toMillis(current.last_seen), delta.lastMs) : delta.lastMs;
  const previousPurchase = current?.last_purchase_at ? toMillis(current.last_purchase_at) : null;
  const lastPurchaseMs =
    previousPurchase === null
      ? delta.lastPurchaseMs
      : delta.lastPurchaseMs === null
        ? previousPurchase
        : Math.max(previousPurchase, delta.lastPurchaseMs);
  const state: ProfileState = {
    wm: advance(current?.state.wm, range),
    spent_cents: addTotal("spent_cents", current?.state.spent_cents, delta.spentCents),
    sessions: sortedUnion(current?.state.sessions ?? [], delta.sessions),
    categories: addCounts(current?.state.categories ?? {}, delta.categories),
    brands: addCounts(current?.state.brands ?? {}, delta.brands),
  };
  const weeks = sortedUnion(current?.active_weeks ?? [], delta.weeks);
  const counts = {
    views: (current?.views ?? 0) + delta.views,
    carts: (current?.carts ?? 0) + delta.carts,
    removes: (current?.removes ?? 0) + delta.removes,
    purchases: (current?.purchases ?? 0) + delta.purchases,
  };
  const rfm: RfmFields = current
    ? {
        recency_days: current.recency_days,
        r: current.r,
        f: current.f,
        m: current.m,
        rfm_score: current.rfm_score,
        segment: current.segment,
      }
    : { ...NO_RFM };
  // Without a purchase a customer is a prospect; a first purchase leaves the segment to the next
  // RFM run (which scores purchasers only).
  if (rfm.segment === null || rfm.segment === NO_PURCHASE_SEGMENT)
    rfm.segment = counts.purchases === 0 ? NO_PURCHASE_SEGMENT : null;
  return {
    user_id: delta.user_id,
    first_seen: isoMillis(firstMs),
    last_seen: isoMillis(lastMs),
    ...counts,
    ...derivedProfileFields(counts, state),
    last_purchase_at: lastPurchaseMs === null ? null : isoMillis(lastPurchaseMs),
    purchased_categories: sortedUnion(current?.purchased_categories ?? [], delta.purchasedCategories),
    purchased_brands: sortedUnion(current?.purchased_brands ?? [], delta.purchasedBrands),
    active_weeks: weeks,
    active_week_count: weeks.length,
    cohort_week: isoWeekMonday(firstMs),
    ...rfm,
    updated_at: now.toISOString(),
    state,
  };
}

/** The fields computed from the counters: one definition for the merge and for tests. */
export function derivedProfileFields(
  counts: { views: number; purchases: number },
  state: ProfileState,
): Pick<
  ProfileDocument,
  | "total_spent"
  | "avg_order_value"
  | "sessions"
  | "top_category"
  | "top_brand"
  | "conversion_rate"
  | "frequency"
  | "monetary"
> {
  const total = fromCents(state.spent_cents);
  return {
    total_spent: total,
    avg_order_value: counts.purchases === 0 ? 0 : Math.round(state.spent_cents / counts.purchases) / 100,
    sessions: state.sessions.length,
    top_category: topKey(state.categories),
    top_brand: topKey(state.brands),
    // purchases / views, 0 without views (a purchase without a recorded view can exceed 1).
    conversion_rate: counts.views === 0 ? 0 : counts.purchases / counts.views,
    frequency: counts.purchases,
    monetary: total,
  };
}
