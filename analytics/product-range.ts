import type { LeaderboardSort, ReportParams, RevenueBy } from "./options.ts";
import {
  iso,
  type Json,
  type Query,
  type ReportSource,
  readSums,
  SALES_SUMS,
  type SalesSums,
  timeRange,
} from "./source.ts";

/**
 * Product figures for any range, exactly, under index contract v2 (docs/decisions.md): products
 * are aggregated per UTC day only, and each daily product document keeps its 24 hourly counts in
 * `state.hours`. A range whose bounds are not whole days is cut into whole days, answered by
 * Elasticsearch aggregations over `sales-daily`, and at most two partial edge days, answered from
 * the `state.hours` of that day's product documents (bounded: one day's products).
 */

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** A partial day: hours [from, to) of the UTC day starting at `day` (epoch ms). */
export interface Edge {
  day: number;
  from: number;
  to: number;
}

export interface DaySplit {
  /** The whole days of the range (bounds on UTC midnights, or open); null when there are none. */
  whole: { from?: number; to?: number } | null;
  edges: Edge[];
}

const floorDay = (ms: number) => Math.floor(ms / DAY) * DAY;

/** Cuts [from, to) into whole UTC days and partial edge days. Bounds are whole hours (options.ts). */
export function splitDays(p: Pick<ReportParams, "from" | "to">): DaySplit {
  const { from, to } = p;
  const edges: Edge[] = [];
  let wholeFrom = from;
  let wholeTo = to;
  if (
    from !== undefined &&
    to !== undefined &&
    floorDay(from) === floorDay(to - 1) &&
    (from % DAY !== 0 || to % DAY !== 0)
  )
    return {
      whole: null,
      edges: [
        { day: floorDay(from), from: (from - floorDay(from)) / HOUR, to: (to - floorDay(from)) / HOUR },
      ],
    };
  if (from !== undefined && from % DAY !== 0) {
    edges.push({ day: floorDay(from), from: (from - floorDay(from)) / HOUR, to: 24 });
    wholeFrom = floorDay(from) + DAY;
  }
  if (to !== undefined && to % DAY !== 0) {
    edges.push({ day: floorDay(to), from: 0, to: (to - floorDay(to)) / HOUR });
    wholeTo = floorDay(to);
  }
  const whole =
    wholeFrom !== undefined && wholeTo !== undefined && wholeFrom >= wholeTo
      ? null
      : {
          ...(wholeFrom !== undefined ? { from: wholeFrom } : {}),
          ...(wholeTo !== undefined ? { to: wholeTo } : {}),
        };
  return { whole, edges };
}

/** Sums with revenue in integer cents, so adding parts stays exact. */
interface Cents {
  views: number;
  carts: number;
  removes: number;
  purchases: number;
  cents: number;
}

const zero = (): Cents => ({ views: 0, carts: 0, removes: 0, purchases: 0, cents: 0 });

function addTo(a: Cents, b: Cents): void {
  a.views += b.views;
  a.carts += b.carts;
  a.removes += b.removes;
  a.purchases += b.purchases;
  a.cents += b.cents;
}

function fromSums(s: SalesSums): Cents {
  return {
    views: s.views,
    carts: s.carts,
    removes: s.removes,
    purchases: s.purchases,
    cents: Math.round(s.revenue * 100),
  };
}

function toSums(c: Cents): SalesSums {
  return {
    views: c.views,
    carts: c.carts,
    removes: c.removes,
    purchases: c.purchases,
    revenue: c.cents / 100,
  };
}

/** `[views, carts, removes, purchases, revenue_cents]` of one hour (processing/aggregates.ts). */
function hourCents(hours: Json, h: number): Cents | undefined {
  const c = hours?.[String(h)];
  if (!Array.isArray(c)) return undefined;
  return {
    views: Number(c[0] ?? 0),
    carts: Number(c[1] ?? 0),
    removes: Number(c[2] ?? 0),
    purchases: Number(c[3] ?? 0),
    cents: Number(c[4] ?? 0),
  };
}

const PRODUCT: Query = { term: { dimension: "product" } };
/** Terms queries accept 65,536 values; key lists are sent in chunks well below. */
const CHUNK = 10_000;

function chunks<T>(list: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += CHUNK) out.push(list.slice(i, i + CHUNK));
  return out;
}

/** Per product, the events of each edge's hours; also which products had any, per edge. */
async function edgeSums(
  source: ReportSource,
  edges: readonly Edge[],
): Promise<{ sums: Map<string, Cents>; keysPerEdge: string[][] }> {
  const sums = new Map<string, Cents>();
  const keysPerEdge: string[][] = [];
  for (const edge of edges) {
    const keys: string[] = [];
    const query = { bool: { filter: [PRODUCT, { term: { bucket: iso(edge.day) } }] } };
    for await (const hits of source.scan(
      "sales-daily",
      { query, sort: [{ key: "asc" }], _source: ["key", "state.hours"] },
      "read the hours of an edge day's product aggregates",
    )) {
      for (const hit of hits) {
        const key = String(hit._source?.key);
        const part = zero();
        for (let h = edge.from; h < edge.to; h++) {
          const c = hourCents(hit._source?.state?.hours, h);
          if (c) addTo(part, c);
        }
        if (part.views + part.carts + part.removes + part.purchases === 0) continue;
        keys.push(key);
        const total = sums.get(key) ?? zero();
        addTo(total, part);
        sums.set(key, total);
      }
    }
    keysPerEdge.push(keys);
  }
  return { sums, keysPerEdge };
}

function wholeQuery(whole: { from?: number; to?: number }, extra: Query[] = []): Query {
  return { bool: { filter: [PRODUCT, ...timeRange("bucket", whole), ...extra] } };
}

export interface ProductRow extends SalesSums {
  key: string;
}

export interface ProductRanking {
  rows: ProductRow[];
  totals: SalesSums;
  /** Products with events in the range (cardinality: exact up to 40,000, approximate beyond). */
  distinct: number;
}

const sortValue = (c: Cents, sort: LeaderboardSort) => (sort === "revenue" ? c.cents : c[sort]);

/**
 * The `top` products of the range by `sort` (ties by key), with their exact sums. The candidates
 * are the whole days' top `top` (Elasticsearch's ranking) and every product of the edge hours: a
 * product that is neither has only whole-day figures, and `top` products rank above it already.
 */
export async function rankProducts(
  source: ReportSource,
  p: Pick<ReportParams, "from" | "to">,
  sort: LeaderboardSort,
  top: number,
): Promise<ProductRanking> {
  const split = splitDays(p);
  const edges = await edgeSums(source, split.edges);
  const whole = new Map<string, Cents>();
  const totals = zero();
  for (const c of edges.sums.values()) addTo(totals, c);
  if (split.whole) {
    const answer = await source.search(
      "sales-daily",
      {
        size: 0,
        query: wholeQuery(split.whole),
        aggs: {
          ...SALES_SUMS,
          keys: {
            terms: {
              field: "key",
              size: top,
              shard_size: Math.max(top * 10, 500),
              order: [{ [sort]: "desc" }, { _key: "asc" }],
            },
            aggs: SALES_SUMS,
          },
        },
      },
      "rank products over whole days",
    );
    addTo(totals, fromSums(readSums(answer.aggregations)));
    for (const b of (answer.aggregations?.keys?.buckets ?? []) as Json[])
      whole.set(String(b.key), fromSums(readSums(b)));
    // The whole-day figures of edge products outside that top.
    const missing = [...edges.sums.keys()].filter((k) => !whole.has(k));
    for (const keys of chunks(missing)) {
      const more = await source.search(
        "sales-daily",
        {
          size: 0,
          query: wholeQuery(split.whole, [{ terms: { key: keys } }]),
          aggs: { keys: { terms: { field: "key", size: keys.length }, aggs: SALES_SUMS } },
        },
        "sum the whole days of edge-day products",
      );
      for (const b of (more.aggregations?.keys?.buckets ?? []) as Json[])
        whole.set(String(b.key), fromSums(readSums(b)));
    }
  }
  const combined = new Map<string, Cents>();
  for (const [key, c] of [...whole, ...edges.sums]) {
    const total = combined.get(key) ?? zero();
    addTo(total, c);
    combined.set(key, total);
  }
  const rows = [...combined]
    .sort(([ka, a], [kb, b]) => sortValue(b, sort) - sortValue(a, sort) || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .slice(0, top)
    .map(([key, c]) => ({ key, ...toSums(c) }));
  // Distinct products: whole days, or an edge day with events in its hours.
  const should: Query[] = [];
  if (split.whole) should.push({ bool: { filter: timeRange("bucket", split.whole) } });
  split.edges.forEach((edge, i) => {
    for (const keys of chunks(edges.keysPerEdge[i] ?? []))
      should.push({ bool: { filter: [{ term: { bucket: iso(edge.day) } }, { terms: { key: keys } }] } });
  });
  let distinct = 0;
  if (should.length > 0) {
    const answer = await source.search(
      "sales-daily",
      {
        size: 0,
        query: { bool: { filter: [PRODUCT], should, minimum_should_match: 1 } },
        aggs: { distinct: { cardinality: { field: "key", precision_threshold: 40_000 } } },
      },
      "count distinct products",
    );
    distinct = Number(answer.aggregations?.distinct?.value ?? 0);
  }
  return { rows, totals: toSums(totals), distinct };
}

/** Start of the period containing `ms` (UTC; weeks start on Monday). */
export function periodStart(ms: number, by: RevenueBy): number {
  if (by === "hour") return Math.floor(ms / HOUR) * HOUR;
  const day = floorDay(ms);
  if (by === "day") return day;
  if (by === "week") return day - ((((Math.floor(day / DAY) + 3) % 7) + 7) % 7) * DAY;
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/**
 * Per product of `keys` and per period start, the exact sums of the range, hour by hour from the
 * `state.hours` of the products' daily documents (bounded by keys × days of the range).
 */
export async function productSeries(
  source: ReportSource,
  p: Pick<ReportParams, "from" | "to">,
  keys: readonly string[],
  by: RevenueBy,
): Promise<Map<string, Map<number, SalesSums>>> {
  const cents = new Map<string, Map<number, Cents>>();
  if (keys.length === 0) return new Map();
  const days = {
    ...(p.from !== undefined ? { from: floorDay(p.from) } : {}),
    ...(p.to !== undefined ? { to: p.to } : {}),
  };
  for await (const hits of source.scan(
    "sales-daily",
    {
      query: wholeQuery(days, [{ terms: { key: [...keys] } }]),
      sort: [{ bucket: "asc" }, { key: "asc" }],
      _source: ["key", "bucket", "state.hours"],
    },
    "read the hours of the top products",
  ))
    for (const hit of hits) {
      const key = String(hit._source?.key);
      const day = Date.parse(String(hit._source?.bucket));
      const periods = cents.get(key) ?? new Map<number, Cents>();
      cents.set(key, periods);
      for (let h = 0; h < 24; h++) {
        const ms = day + h * HOUR;
        if ((p.from !== undefined && ms < p.from) || (p.to !== undefined && ms >= p.to)) continue;
        const c = hourCents(hit._source?.state?.hours, h);
        if (!c) continue;
        const start = periodStart(ms, by);
        const total = periods.get(start) ?? zero();
        addTo(total, c);
        periods.set(start, total);
      }
    }
  return new Map(
    [...cents].map(([k, periods]) => [k, new Map([...periods].map(([ms, c]) => [ms, toSums(c)]))]),
  );
}

/**
 * The brand and category of products, from their daily documents (index contract v2: a product's
 * aggregate names what it is; the alphabetically first when its events disagree). Products
 * aggregated before v2 have none until their next event: null.
 */
export async function productNames(
  source: ReportSource,
  keys: readonly string[],
): Promise<Map<string, { brand: string | null; category: string | null }>> {
  const out = new Map<string, { brand: string | null; category: string | null }>();
  for (const chunk of chunks(keys)) {
    const first = (field: string) => ({ terms: { field, size: 1, order: { _key: "asc" } } });
    const answer = await source.search(
      "sales-daily",
      {
        size: 0,
        query: { bool: { filter: [PRODUCT, { terms: { key: chunk } }] } },
        aggs: {
          keys: {
            terms: { field: "key", size: chunk.length },
            aggs: { brand: first("brand"), category: first("category") },
          },
        },
      },
      "read the products' brand and category",
    );
    for (const b of (answer.aggregations?.keys?.buckets ?? []) as Json[])
      out.set(String(b.key), {
        brand: b.brand?.buckets?.[0]?.key ?? null,
        category: b.category?.buckets?.[0]?.key ?? null,
      });
  }
  return out;
}
