/**
 * The integration test's own computation of every report figure, straight from the CSV file,
 * written without the pipeline's or the reports' code: DESIGN.md's row rules (accepted rows only,
 * exact duplicates once), money in integer cents, times as epoch ms, UTC.
 */

export type EventType = "view" | "cart" | "remove_from_cart" | "purchase";

export interface Ev {
  ms: number;
  type: EventType;
  product: string;
  category: string | null;
  brand: string | null;
  cents: number;
  user: string;
  session: string;
}

const TYPES = new Set(["view", "cart", "remove_from_cart", "purchase"]);
const DAY = 86_400_000;
const WEEK = 7 * DAY;

/** Parses the generator's REES46 CSV (no quoted fields) by the row rules. */
export function parseEvents(text: string): { events: Ev[]; rejected: number; duplicates: number } {
  const lines = text.split(/\r?\n/);
  const seen = new Set<string>();
  const events: Ev[] = [];
  let rejected = 0;
  let duplicates = 0;
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    if (seen.has(line)) {
      duplicates++;
      continue;
    }
    seen.add(line);
    const f = line.split(",");
    if (f.length !== 9 || line.includes('"')) {
      rejected++;
      continue;
    }
    const [time, type, product, , category, brand, price, user, session] = f as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const t = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})( UTC)?$/.exec(time);
    const p = /^(\d+)\.(\d{1,2})$/.exec(price);
    if (!time || !type || !product || !user || !price || !t || !TYPES.has(type) || !p) {
      rejected++;
      continue;
    }
    events.push({
      ms: Date.parse(`${t[1]}T${t[2]}Z`),
      type: type as EventType,
      product,
      category: category === "" ? null : category,
      brand: brand === "" ? null : brand,
      cents: Number(p[1]) * 100 + Number((p[2] ?? "0").padEnd(2, "0")),
      user,
      session,
    });
  }
  return { events, rejected, duplicates };
}

export interface Range {
  from?: number;
  to?: number;
}

export const inRange = (ms: number, r: Range) =>
  (r.from === undefined || ms >= r.from) && (r.to === undefined || ms < r.to);

export interface Sums {
  views: number;
  carts: number;
  removes: number;
  purchases: number;
  cents: number;
}

export function sums(events: readonly Ev[]): Sums {
  const s = { views: 0, carts: 0, removes: 0, purchases: 0, cents: 0 };
  for (const e of events) {
    if (e.type === "view") s.views++;
    else if (e.type === "cart") s.carts++;
    else if (e.type === "remove_from_cart") s.removes++;
    else {
      s.purchases++;
      s.cents += e.cents;
    }
  }
  return s;
}

export type Dim = "category" | "brand" | "product";
export const keyOf = (e: Ev, d: Dim) =>
  d === "product" ? e.product : ((d === "category" ? e.category : e.brand) ?? "unknown");

export function byKey(events: readonly Ev[], d: Dim): Map<string, Sums> {
  const groups = new Map<string, Ev[]>();
  for (const e of events) {
    const k = keyOf(e, d);
    groups.set(k, [...(groups.get(k) ?? []), e]);
  }
  return new Map([...groups].map(([k, es]) => [k, sums(es)]));
}

/** Events of the range and of the --category/--brand filter (as the aggregates file them). */
export function select(events: readonly Ev[], r: Range, category?: string, brand?: string): Ev[] {
  return events.filter(
    (e) =>
      inRange(e.ms, r) &&
      (category === undefined || keyOf(e, "category") === category) &&
      (brand === undefined || keyOf(e, "brand") === brand),
  );
}

export interface Customer {
  user: string;
  first: number;
  last: number;
  views: number;
  carts: number;
  purchases: number;
  cents: number;
  /** Epoch ms of the last purchase, null without one. */
  lastPurchase: number | null;
  sessions: Set<string>;
  topCategory: string | null;
  topBrand: string | null;
  /** Category codes / brands of the purchases ("unknown" for none). */
  bought: { category: Set<string>; brand: Set<string> };
  weeks: Set<number>;
}

export function monday(ms: number): number {
  const day = Math.floor(ms / DAY);
  return (day - ((((day + 3) % 7) + 7) % 7)) * DAY;
}

function top(counts: Map<string, number>): string | null {
  let best: string | null = null;
  let n = 0;
  for (const [k, c] of counts) if (c > n || (c === n && best !== null && k < best)) [best, n] = [k, c];
  return best;
}

/** Lifetime customer figures (the profiles), over every accepted event. */
export function customers(events: readonly Ev[]): Map<string, Customer> {
  const out = new Map<string, Customer & { cats: Map<string, number>; brands: Map<string, number> }>();
  for (const e of events) {
    let c = out.get(e.user);
    if (!c) {
      c = {
        user: e.user,
        first: e.ms,
        last: e.ms,
        views: 0,
        carts: 0,
        purchases: 0,
        cents: 0,
        lastPurchase: null,
        sessions: new Set(),
        topCategory: null,
        topBrand: null,
        bought: { category: new Set(), brand: new Set() },
        weeks: new Set(),
        cats: new Map(),
        brands: new Map(),
      };
      out.set(e.user, c);
    }
    c.first = Math.min(c.first, e.ms);
    c.last = Math.max(c.last, e.ms);
    if (e.type === "view") c.views++;
    if (e.type === "cart") c.carts++;
    if (e.type === "purchase") {
      c.purchases++;
      c.cents += e.cents;
      c.lastPurchase = Math.max(c.lastPurchase ?? e.ms, e.ms);
      c.bought.category.add(e.category ?? "unknown");
      c.bought.brand.add(e.brand ?? "unknown");
    }
    if (e.session) c.sessions.add(e.session);
    if (e.category) c.cats.set(e.category, (c.cats.get(e.category) ?? 0) + 1);
    if (e.brand) c.brands.set(e.brand, (c.brands.get(e.brand) ?? 0) + 1);
    c.weeks.add(monday(e.ms));
  }
  for (const c of out.values()) {
    c.topCategory = top(c.cats);
    c.topBrand = top(c.brands);
  }
  return out;
}

/** Customers of a range: activity span overlapping it; --category/--brand on their top ones. */
export function customersIn(
  all: Map<string, Customer>,
  r: Range,
  category?: string,
  brand?: string,
): Customer[] {
  return [...all.values()].filter(
    (c) =>
      (r.to === undefined || c.first < r.to) &&
      (r.from === undefined || c.last >= r.from) &&
      matches(c.topCategory, category) &&
      matches(c.topBrand, brand),
  );
}

/** The `customers` report's selection: a range, and --category/--brand as "bought at least once". */
export function buyersIn(
  all: Map<string, Customer>,
  r: Range,
  category?: string,
  brand?: string,
): Customer[] {
  return [...all.values()].filter(
    (c) =>
      (r.to === undefined || c.first < r.to) &&
      (r.from === undefined || c.last >= r.from) &&
      (category === undefined || c.bought.category.has(category)) &&
      (brand === undefined || c.bought.brand.has(brand)),
  );
}

/** A customer filter: `unknown` selects customers without a top category/brand. */
export const matches = (top: string | null, wanted: string | undefined) =>
  wanted === undefined || (top ?? "unknown") === wanted;

export function cohortsOf(all: Map<string, Customer>, r: Range, category?: string, brand?: string) {
  const chosen = [...all.values()].filter(
    (c) => inRange(c.first, r) && matches(c.topCategory, category) && matches(c.topBrand, brand),
  );
  let last = 0;
  for (const c of chosen) for (const w of c.weeks) last = Math.max(last, w);
  const groups = new Map<number, Customer[]>();
  for (const c of chosen) groups.set(monday(c.first), [...(groups.get(monday(c.first)) ?? []), c]);
  return [...groups.keys()]
    .sort((a, b) => a - b)
    .map((start) => {
      const members = groups.get(start) ?? [];
      const active = new Array<number>(Math.round((last - start) / WEEK) + 1).fill(0);
      for (const c of members)
        for (const w of c.weeks) {
          const i = Math.round((w - start) / WEEK);
          active[i] = (active[i] ?? 0) + 1;
        }
      return { cohort_week: new Date(start).toISOString().slice(0, 10), size: members.length, active };
    });
}

export const cents = (money: number) => Math.round(money * 100);
