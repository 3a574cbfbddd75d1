/**
 * The arithmetic of the reports, kept pure so unit tests pin it down: ratios, funnel steps,
 * cohort folding and the hour-of-day × day-of-week fold. Elasticsearch does the summing; these
 * functions only combine its (bounded) results.
 */

const MS_PER_DAY = 86_400_000;
const MS_PER_WEEK = 7 * MS_PER_DAY;

/** Money as Elasticsearch sums it (doubles) back to whole cents. */
export function roundCents(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Average order value to the cent: whole cents divided by orders, rounded half up — computed on
 * the cents, since a double quotient (137.295 → 137.29499…) would break half-cent ties downwards.
 */
export function averageOrder(revenue: number, orders: number): number | null {
  return orders === 0 ? null : Math.round(Math.round(revenue * 100) / orders) / 100;
}

/** a / b, or null when b is 0 (a rate of nothing is not 0%). */
export function ratio(a: number, b: number): number | null {
  return b === 0 ? null : a / b;
}

export interface FunnelCounts {
  views: number;
  carts: number;
  purchases: number;
}

export interface FunnelRates {
  view_to_cart: number | null;
  cart_to_purchase: number | null;
  view_to_purchase: number | null;
  /**
   * Share of carts that did not end in a purchase: max(0, 1 − purchases / carts). Purchases can
   * outnumber carts (REES46 records purchases without a cart event), hence the floor at 0.
   */
  cart_abandonment: number | null;
}

export function funnelRates(c: FunnelCounts): FunnelRates {
  const cartToPurchase = ratio(c.purchases, c.carts);
  return {
    view_to_cart: ratio(c.carts, c.views),
    cart_to_purchase: cartToPurchase,
    view_to_purchase: ratio(c.purchases, c.views),
    cart_abandonment: cartToPurchase === null ? null : Math.max(0, 1 - cartToPurchase),
  };
}

/** Customers at each step of the strict customer funnel (from profile counters). */
export interface CustomerFunnelCounts {
  customers: number;
  viewed: number;
  /** Viewed and added to cart. */
  carted: number;
  /** Viewed, added to cart and purchased. */
  purchased: number;
  /** Added to cart (whatever else). */
  any_cart: number;
  /** Added to cart and never purchased. */
  cart_no_purchase: number;
}

export function customerFunnelRates(c: CustomerFunnelCounts): FunnelRates {
  return {
    view_to_cart: ratio(c.carted, c.viewed),
    cart_to_purchase: ratio(c.purchased, c.carted),
    view_to_purchase: ratio(c.purchased, c.viewed),
    cart_abandonment: ratio(c.cart_no_purchase, c.any_cart),
  };
}

/** One cohort as Elasticsearch returns it: first-seen week and customers active per week. */
export interface CohortBuckets {
  /** Monday of the first-seen week, `YYYY-MM-DD`. */
  cohort: string;
  size: number;
  active: Array<{ week: string; customers: number }>;
}

export interface CohortRow {
  cohort_week: string;
  size: number;
  /** Customers active in week 0, 1, 2... after the first-seen week. */
  active: number[];
  /** active[i] / size. */
  retention: number[];
}

function mondayMs(day: string): number {
  const ms = Date.parse(`${day.slice(0, 10)}T00:00:00Z`);
  if (!Number.isFinite(ms)) throw new RangeError(`not a date: "${day}"`);
  return ms;
}

/**
 * Folds (cohort week × active week) counts into (cohort week × weeks since). Rows run to `lastWeek`
 * (the newest week with data) so a cohort's row shows zeros for weeks nobody came back, and stops
 * where the data stops.
 */
export function foldCohorts(cohorts: readonly CohortBuckets[], lastWeek?: string): CohortRow[] {
  const sorted = [...cohorts].sort((a, b) => a.cohort.localeCompare(b.cohort));
  let lastMs = lastWeek === undefined ? Number.NEGATIVE_INFINITY : mondayMs(lastWeek);
  if (lastWeek === undefined)
    for (const c of sorted) for (const a of c.active) lastMs = Math.max(lastMs, mondayMs(a.week));
  return sorted.map((c) => {
    const start = mondayMs(c.cohort);
    const length = Math.max(1, Math.round((lastMs - start) / MS_PER_WEEK) + 1);
    const active = new Array<number>(length).fill(0);
    for (const a of c.active) {
      const offset = Math.round((mondayMs(a.week) - start) / MS_PER_WEEK);
      // Activity before the first-seen week cannot happen (cohort_week is the week of first_seen).
      if (offset < 0) continue;
      while (active.length <= offset) active.push(0);
      active[offset] = (active[offset] ?? 0) + a.customers;
    }
    return {
      cohort_week: c.cohort.slice(0, 10),
      size: c.size,
      active,
      retention: active.map((n) => (c.size === 0 ? 0 : n / c.size)),
    };
  });
}

export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

export interface HourBucket {
  /** Start of the UTC hour, epoch ms. */
  ms: number;
  views: number;
  carts: number;
  removes: number;
  purchases: number;
  revenue: number;
}

export interface HourlyCell {
  /** 0 = Monday ... 6 = Sunday (ISO). */
  weekday: number;
  hour: number;
  events: number;
  views: number;
  carts: number;
  removes: number;
  purchases: number;
  revenue: number;
}

/** One (weekday, hour) cell as Elasticsearch sums it: `day_of_week` 1 = Monday … 7 = Sunday. */
export interface CellBucket {
  day_of_week: number;
  hour_of_day: number;
  views: number;
  carts: number;
  removes: number;
  purchases: number;
  revenue: number;
}

/** Lays (weekday, hour) sums out as all 168 cells, Monday 00h first. */
export function foldCells(buckets: readonly CellBucket[]): HourlyCell[] {
  return foldHourly(
    buckets.map((b) => ({
      // Any hour with that weekday and hour of day: 1970-01-05 was a Monday.
      ms: Date.UTC(1970, 0, 4 + b.day_of_week, b.hour_of_day),
      views: b.views,
      carts: b.carts,
      removes: b.removes,
      purchases: b.purchases,
      revenue: b.revenue,
    })),
  );
}

/** Folds hourly buckets into 7 × 24 cells (UTC), all 168 present, Monday 00h first. */
export function foldHourly(buckets: readonly HourBucket[]): HourlyCell[] {
  const cells: HourlyCell[] = [];
  for (let weekday = 0; weekday < 7; weekday++)
    for (let hour = 0; hour < 24; hour++)
      cells.push({ weekday, hour, events: 0, views: 0, carts: 0, removes: 0, purchases: 0, revenue: 0 });
  for (const b of buckets) {
    const d = new Date(b.ms);
    const weekday = (d.getUTCDay() + 6) % 7;
    const cell = cells[weekday * 24 + d.getUTCHours()];
    if (!cell) continue;
    cell.views += b.views;
    cell.carts += b.carts;
    cell.removes += b.removes;
    cell.purchases += b.purchases;
    cell.events += b.views + b.carts + b.removes + b.purchases;
    cell.revenue += b.revenue;
  }
  for (const c of cells) c.revenue = roundCents(c.revenue);
  return cells;
}
