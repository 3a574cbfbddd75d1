import { averageOrder, ratio } from "../math.ts";
import type { ColumnKind, Kpi } from "../model.ts";
import type { ReportParams } from "../options.ts";
import {
  iso,
  type Json,
  profileQuery,
  type ReportSource,
  readSums,
  SALES_SUMS,
  salesIndex,
  salesQuery,
  timeRange,
} from "../source.ts";
import { col, filterNote, oneSalesFilter, type ReportContext, type ReportOutput } from "./common.ts";

/** Top keys of a dimension by revenue, inside the range (ignores --category/--brand by nature). */
export function topKeysAgg(dimension: "category" | "brand", size: number, order = "revenue") {
  return {
    filter: { term: { dimension } },
    aggs: {
      keys: {
        terms: {
          field: "key",
          size,
          shard_size: Math.max(size * 10, 500),
          order: [{ [order]: "desc" }, { _key: "asc" }],
        },
        aggs: SALES_SUMS,
      },
    },
  };
}

/** An ISO time without the noise: `2019-10-21`, `2019-10-20T23:00Z`. */
function short(iso: string | null | undefined): string {
  if (!iso) return "–";
  return iso.replace(/T00:00:00(\.000)?Z$/, "").replace(/:00(\.000)?Z$/, "Z");
}

/** The figures of the key-figures table, in its order, with how each reads. */
const FIGURES = [
  ["events", "Events", "int"],
  ["views", "Views", "int"],
  ["carts", "Carts", "int"],
  ["removes", "Removes from cart", "int"],
  ["orders", "Purchases (orders)", "int"],
  ["revenue", "Revenue", "money"],
  ["avg_order_value", "Average order value", "money"],
  ["view_to_cart", "View → cart", "pct"],
  ["cart_to_purchase", "Cart → purchase", "pct"],
  ["view_to_purchase", "View → purchase", "pct"],
  ["customers", "Customers (active in range)", "int"],
  ["purchasers", "Purchasers", "int"],
  ["customer_conversion", "Customer conversion", "pct"],
] as const satisfies ReadonlyArray<readonly [string, string, ColumnKind]>;
type FigureKey = (typeof FIGURES)[number][0];
type Figures = Record<FigureKey, number | null>;

/** The headline cards, a subset of FIGURES. */
const KPIS: readonly FigureKey[] = [
  "revenue",
  "orders",
  "avg_order_value",
  "customers",
  "purchasers",
  "view_to_purchase",
];

function figuresOf(s: ReturnType<typeof readSums>, customers: number, purchasers: number): Figures {
  return {
    events: s.views + s.carts + s.removes + s.purchases,
    views: s.views,
    carts: s.carts,
    removes: s.removes,
    orders: s.purchases,
    revenue: s.revenue,
    avg_order_value: averageOrder(s.revenue, s.purchases),
    view_to_cart: ratio(s.carts, s.views),
    cart_to_purchase: ratio(s.purchases, s.carts),
    view_to_purchase: ratio(s.purchases, s.views),
    customers,
    purchasers,
    customer_conversion: ratio(purchasers, customers),
  };
}

/** The figures of another period (the previous one, for the comparison): two queries. */
async function figuresFor(source: ReportSource, p: ReportParams): Promise<Figures> {
  const [sales, profiles] = await Promise.all([
    source.search(
      salesIndex(p),
      { size: 0, query: salesQuery(p), aggs: SALES_SUMS },
      "sum the previous period",
    ),
    source.search(
      "profiles",
      {
        size: 0,
        track_total_hits: true,
        query: profileQuery(p),
        aggs: { purchasers: { filter: { range: { purchases: { gt: 0 } } } } },
      },
      "count the previous period's customers",
    ),
  ]);
  return figuresOf(
    readSums(sales.aggregations),
    Number(profiles.hits?.total?.value ?? 0),
    Number(profiles.aggregations?.purchasers?.doc_count ?? 0),
  );
}

/** Change of a figure: relative for counts and money, in points for rates; null when undefined. */
export function changeOf(kind: ColumnKind, now: number | null, before: number | null): number | null {
  if (now === null || before === null) return null;
  if (kind === "pct") return now - before;
  return before === 0 ? null : (now - before) / before;
}

export async function overview({ source, params: p }: ReportContext): Promise<ReportOutput> {
  oneSalesFilter(p, "overview");
  const index = salesIndex(p);
  const filtered = p.category !== undefined || p.brand !== undefined;
  const [sales, breakdown, profiles, fresh] = await Promise.all([
    source.search(
      index,
      {
        size: 0,
        query: salesQuery(p),
        aggs: { ...SALES_SUMS, first: { min: { field: "bucket" } }, last: { max: { field: "bucket" } } },
      },
      "sum the sales aggregates",
    ),
    // Top categories and brands: inside the range; with a filter they would only echo it.
    filtered
      ? Promise.resolve(undefined)
      : source.search(
          index,
          {
            size: 0,
            query: { bool: { filter: timeRange("bucket", p) } },
            aggs: { categories: topKeysAgg("category", p.top), brands: topKeysAgg("brand", p.top) },
          },
          "rank categories and brands",
        ),
    source.search(
      "profiles",
      {
        size: 0,
        track_total_hits: true,
        query: profileQuery(p),
        aggs: { purchasers: { filter: { range: { purchases: { gt: 0 } } } } },
      },
      "count customers",
    ),
    source.search(
      "sales-hourly",
      {
        size: 0,
        query: { term: { dimension: "all" } },
        aggs: { newest: { max: { field: "bucket" } }, processed: { max: { field: "updated_at" } } },
      },
      "read freshness",
    ),
  ]);
  const a = sales.aggregations;
  const sums = readSums(a);
  const events = sums.views + sums.carts + sums.removes + sums.purchases;
  const customers = Number(profiles.hits?.total?.value ?? 0);
  const purchasers = Number(profiles.aggregations?.purchasers?.doc_count ?? 0);
  const bucketDay = index === "sales-daily";
  const firstBucket = a.first?.value_as_string ?? null;
  const lastEnd =
    a.last?.value == null
      ? null
      : new Date(Number(a.last.value) + (bucketDay ? 86_400_000 : 3_600_000)).toISOString();
  const leaderboard = (agg: Json) =>
    ((agg?.keys?.buckets ?? []) as Json[]).map((b) => {
      const s = readSums(b);
      return {
        key: String(b.key),
        views: s.views,
        carts: s.carts,
        purchases: s.purchases,
        revenue: s.revenue,
      };
    });
  const topCategories = breakdown ? leaderboard(breakdown.aggregations.categories) : [];
  const topBrands = breakdown ? leaderboard(breakdown.aggregations.brands) : [];
  const data = {
    range: { first_bucket: firstBucket, data_until: lastEnd },
    events: {
      total: events,
      views: sums.views,
      carts: sums.carts,
      removes: sums.removes,
      purchases: sums.purchases,
    },
    revenue: sums.revenue,
    orders: sums.purchases,
    avg_order_value: averageOrder(sums.revenue, sums.purchases),
    conversion: {
      view_to_cart: ratio(sums.carts, sums.views),
      cart_to_purchase: ratio(sums.purchases, sums.carts),
      view_to_purchase: ratio(sums.purchases, sums.views),
    },
    customers,
    purchasers,
    customer_conversion: ratio(purchasers, customers),
    freshness: {
      newest_event_hour: fresh.aggregations?.newest?.value_as_string ?? null,
      last_processed_at: fresh.aggregations?.processed?.value_as_string ?? null,
    },
    top_categories: topCategories,
    top_brands: topBrands,
  };
  const current = figuresOf(sums, customers, purchasers);
  // The previous period of the same length: the one asked, or the data's extent without bounds.
  const start = p.from ?? (firstBucket === null ? undefined : Date.parse(firstBucket));
  const end = p.to ?? (lastEnd === null ? undefined : Date.parse(lastEnd));
  const previousPeriod =
    p.compare === "previous" && start !== undefined && end !== undefined
      ? { from: start - (end - start), to: start }
      : undefined;
  const before = previousPeriod ? await figuresFor(source, { ...p, ...previousPeriod }) : undefined;
  // A previous period without any data (before the first event) has no figures, not zeros.
  const previous =
    before && (before.events ?? 0) + (before.customers ?? 0) === 0
      ? (Object.fromEntries(FIGURES.map(([k]) => [k, null])) as Figures)
      : before;
  const comparison = previous
    ? {
        previous_period: { from: iso(previousPeriod?.from ?? 0), to: iso(previousPeriod?.to ?? 0) },
        previous,
        change: Object.fromEntries(
          FIGURES.map(([k, , kind]) => [k, changeOf(kind, current[k], previous[k])]),
        ),
      }
    : { previous_period: null, previous: null, change: null };
  Object.assign(data, comparison);
  const kpis: Kpi[] = KPIS.map((key) => {
    const [, label, kind] = FIGURES.find((f) => f[0] === key) ?? FIGURES[0];
    return {
      key,
      label,
      kind,
      value: current[key],
      ...(previous ? { previous: previous[key], change: changeOf(kind, current[key], previous[key]) } : {}),
    };
  });
  // One table of mixed kinds: each value is formatted as text once, so every format shows it alike.
  const lbColumns = [
    col("key", "Key"),
    col("views", "Views", "int"),
    col("carts", "Carts", "int"),
    col("purchases", "Purchases", "int"),
    col("revenue", "Revenue", "money"),
  ];
  const compared = previousPeriod
    ? `Compared with the previous period of the same length: ${short(iso(previousPeriod.from))} ≤ t < ${short(iso(previousPeriod.to))}${previous?.events === null ? " (no data then)" : ""}`
    : "No comparison (--compare none, or no data to bound the period)";
  const sections: ReportOutput["sections"] = [
    {
      id: "key_figures",
      title: "Key figures",
      notes: [
        filterNote(p),
        `Data in range: ${short(firstBucket)} ≤ t < ${short(lastEnd)} · newest event hour (all data): ${short(data.freshness.newest_event_hour)} · last processed: ${short(data.freshness.last_processed_at)}`,
        compared,
      ],
      kpis,
      table: {
        columns: [
          { ...col("figure", "Key"), machine: true },
          col("label", "Figure"),
          { ...col("value", "Value", "num"), kindFrom: "kind" },
          ...(previous
            ? [
                { ...col("previous", "Previous period", "num"), kindFrom: "kind" },
                { ...col("change", "Change", "num"), kindFrom: "change_kind" },
              ]
            : []),
        ],
        rows: FIGURES.map(([figure, label, kind]) => ({
          figure,
          label,
          kind,
          value: current[figure],
          ...(previous
            ? {
                previous: previous[figure],
                change: changeOf(kind, current[figure], previous[figure]),
                change_kind: kind === "pct" ? "pts" : "change",
              }
            : {}),
        })),
      },
      chart: {
        type: "bars",
        label: "Events by type",
        axis: "Events",
        categories: "Event type",
        legend: "Events of the type in the range",
        kind: "int",
        items: [
          { label: "view", value: sums.views },
          { label: "cart", value: sums.carts },
          { label: "remove_from_cart", value: sums.removes },
          { label: "purchase", value: sums.purchases },
        ],
      },
    },
  ];
  if (breakdown) {
    sections.push(
      {
        id: "top_categories",
        title: `Top ${p.top} categories by revenue`,
        table: {
          columns: lbColumns.map((c) => (c.key === "key" ? col("key", "Category") : c)),
          rows: topCategories,
        },
        chart: {
          type: "bars",
          label: "Revenue by category",
          axis: "Revenue",
          categories: "Category",
          legend: "Revenue of the category in the range",
          kind: "money",
          items: topCategories.map((c) => ({ label: c.key, value: c.revenue })),
        },
      },
      {
        id: "top_brands",
        title: `Top ${p.top} brands by revenue`,
        table: {
          columns: lbColumns.map((c) => (c.key === "key" ? col("key", "Brand") : c)),
          rows: topBrands,
        },
        chart: {
          type: "bars",
          label: "Revenue by brand",
          axis: "Revenue",
          categories: "Brand",
          legend: "Revenue of the brand in the range",
          kind: "money",
          items: topBrands.map((c) => ({ label: c.key, value: c.revenue })),
        },
      },
    );
  }
  return { title: "Overview", data, sections, empty: events === 0 && customers === 0 };
}
