import { ratio } from "../math.ts";
import type { Row } from "../model.ts";
import type { ReportParams } from "../options.ts";
import { productNames, rankProducts } from "../product-range.ts";
import {
  type Json,
  type ReportSource,
  readSums,
  SALES_SUMS,
  type SalesSums,
  salesIndex,
  salesQuery,
} from "../source.ts";
import { col, filterNote, noFilters, type ReportContext, type ReportOutput } from "./common.ts";

type Board = "product" | "category" | "brand";

const NAMES: Record<Board, { report: string; title: string; label: string }> = {
  product: { report: "products", title: "Products", label: "Product" },
  category: { report: "categories", title: "Categories", label: "Category" },
  brand: { report: "brands", title: "Brands", label: "Brand" },
};

const SORT_AXIS = { revenue: "Revenue", purchases: "Purchases", views: "Views", carts: "Carts" } as const;

interface Ranking {
  totals: SalesSums;
  distinct: number;
  rows: Array<SalesSums & { key: string }>;
}

/** Categories and brands: one aggregation over the daily or hourly aggregates. */
async function rankKeys(
  source: ReportSource,
  p: ReportParams,
  dimension: "category" | "brand",
): Promise<Ranking> {
  const answer = await source.search(
    salesIndex(p),
    {
      size: 0,
      query: salesQuery(p, dimension),
      aggs: {
        ...SALES_SUMS,
        // Exact up to 40,000 distinct keys (the HyperLogLog threshold), approximate beyond.
        distinct: { cardinality: { field: "key", precision_threshold: 40_000 } },
        keys: {
          terms: {
            field: "key",
            size: p.top,
            shard_size: Math.max(p.top * 10, 500),
            order: [{ [p.sort]: "desc" }, { _key: "asc" }],
          },
          aggs: SALES_SUMS,
        },
      },
    },
    `rank ${dimension === "category" ? "categories" : "brands"}`,
  );
  return {
    totals: readSums(answer.aggregations),
    distinct: Number(answer.aggregations?.distinct?.value ?? 0),
    rows: ((answer.aggregations?.keys?.buckets ?? []) as Json[]).map((b) => ({
      key: String(b.key),
      ...readSums(b),
    })),
  };
}

/**
 * `products`, `categories` and `brands`: one dimension of the aggregates ranked by --sort.
 * Products are daily only (index contract v2): analytics/product-range.ts answers any range.
 */
export function leaderboard(dimension: Board) {
  const labels = NAMES[dimension];
  return async ({ source, params: p }: ReportContext): Promise<ReportOutput> => {
    noFilters(
      p,
      labels.report,
      "the aggregates of one dimension do not know the others; use overview/revenue/funnel",
    );
    const ranking =
      dimension === "product"
        ? await rankProducts(source, p, p.sort, p.top)
        : await rankKeys(source, p, dimension);
    const totals = ranking.totals;
    const rows = ranking.rows.map((s, i) => ({
      rank: i + 1,
      key: s.key,
      views: s.views,
      carts: s.carts,
      removes: s.removes,
      purchases: s.purchases,
      revenue: s.revenue,
      conversion: ratio(s.purchases, s.views),
      cart_rate: ratio(s.carts, s.views),
      revenue_share: ratio(s.revenue, totals.revenue),
    }));
    const distinct = ranking.distinct;
    // A product id alone tells a reader nothing: its brand and category beside it.
    const names =
      dimension === "product"
        ? await productNames(
            source,
            rows.map((r) => r.key),
          )
        : undefined;
    const named = names
      ? rows.map((r) => ({
          ...r,
          brand: names.get(r.key)?.brand ?? null,
          category: names.get(r.key)?.category ?? null,
        }))
      : rows;
    return {
      title: `${labels.title} by ${p.sort}`,
      data: { dimension, sort: p.sort, distinct_keys: distinct, total_revenue: totals.revenue, rows: named },
      empty: totals.views + totals.carts + totals.removes + totals.purchases === 0,
      sections: [
        {
          id: `top_${labels.report}`,
          title: `Top ${p.top} ${labels.report} by ${p.sort}`,
          notes: [
            filterNote(p),
            `${distinct.toLocaleString("en-US")} ${labels.report} with events in the range; total revenue ${totals.revenue.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`,
          ],
          table: {
            columns: [
              col("rank", "Rank", "int"),
              col("key", labels.label),
              ...(names ? [col("brand", "Brand"), col("category", "Category")] : []),
              col("views", "Views", "int"),
              col("carts", "Carts", "int"),
              col("purchases", "Purchases", "int"),
              col("revenue", "Revenue", "money"),
              col("conversion", "Conversion", "pct"),
              col("revenue_share", "% revenue", "pct"),
            ],
            rows: named as unknown as Row[],
          },
          chart: {
            type: "bars",
            label: `${labels.title} by ${p.sort}`,
            axis: SORT_AXIS[p.sort],
            categories: labels.label,
            legend: `${SORT_AXIS[p.sort]} in the range`,
            kind: p.sort === "revenue" ? "money" : "int",
            items: named.map((r) => ({
              label: "brand" in r && r.brand ? `${r.key} · ${r.brand}` : r.key,
              value: r[p.sort],
            })),
          },
        },
      ],
    };
  };
}
