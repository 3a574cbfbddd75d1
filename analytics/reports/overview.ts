import { displayCell } from "../format/values.ts";
import { ratio, roundCents } from "../math.ts";
import {
  type Json,
  profileQuery,
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
    avg_order_value: sums.purchases === 0 ? null : roundCents(sums.revenue / sums.purchases),
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
  const figures = [
    { figure: "Events", value: events, kind: "int" },
    { figure: "Views", value: sums.views, kind: "int" },
    { figure: "Carts", value: sums.carts, kind: "int" },
    { figure: "Removes from cart", value: sums.removes, kind: "int" },
    { figure: "Purchases (orders)", value: sums.purchases, kind: "int" },
    { figure: "Revenue", value: sums.revenue, kind: "money" },
    { figure: "Average order value", value: data.avg_order_value, kind: "money" },
    { figure: "View → cart", value: data.conversion.view_to_cart, kind: "pct" },
    { figure: "Cart → purchase", value: data.conversion.cart_to_purchase, kind: "pct" },
    { figure: "View → purchase", value: data.conversion.view_to_purchase, kind: "pct" },
    { figure: "Customers (active in range)", value: customers, kind: "int" },
    { figure: "Purchasers", value: purchasers, kind: "int" },
    { figure: "Customer conversion", value: data.customer_conversion, kind: "pct" },
  ] as const;
  // One table of mixed kinds: each value is formatted as text once, so every format shows it alike.
  const lbColumns = [
    col("key", "Key"),
    col("views", "Views", "int"),
    col("carts", "Carts", "int"),
    col("purchases", "Purchases", "int"),
    col("revenue", "Revenue", "money"),
  ];
  const sections: ReportOutput["sections"] = [
    {
      title: "Key figures",
      notes: [
        filterNote(p),
        `Data in range: ${short(firstBucket)} ≤ t < ${short(lastEnd)} · newest event hour (all data): ${short(data.freshness.newest_event_hour)} · last processed: ${short(data.freshness.last_processed_at)}`,
      ],
      table: {
        columns: [col("figure", "Figure"), col("value", "Value", "text")],
        rows: figures.map((f) => ({
          figure: f.figure,
          value: displayCell(f.value, f.kind),
        })),
      },
      chart: {
        type: "bars",
        label: "Events by type",
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
        title: `Top ${p.top} categories by revenue`,
        table: {
          columns: lbColumns.map((c) => (c.key === "key" ? col("key", "Category") : c)),
          rows: topCategories,
        },
        chart: {
          type: "bars",
          label: "Revenue by category",
          kind: "money",
          items: topCategories.map((c) => ({ label: c.key, value: c.revenue })),
        },
      },
      {
        title: `Top ${p.top} brands by revenue`,
        table: {
          columns: lbColumns.map((c) => (c.key === "key" ? col("key", "Brand") : c)),
          rows: topBrands,
        },
        chart: {
          type: "bars",
          label: "Revenue by brand",
          kind: "money",
          items: topBrands.map((c) => ({ label: c.key, value: c.revenue })),
        },
      },
    );
  }
  return { title: "Overview", data, sections, empty: events === 0 && customers === 0 };
}
