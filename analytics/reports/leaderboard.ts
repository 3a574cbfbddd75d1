import { ratio } from "../math.ts";
import type { Row } from "../model.ts";
import { type Json, readSums, SALES_SUMS, salesIndex, salesQuery } from "../source.ts";
import { col, filterNote, noFilters, type ReportContext, type ReportOutput } from "./common.ts";

type Board = "product" | "category" | "brand";

const NAMES: Record<Board, { report: string; title: string; label: string }> = {
  product: { report: "products", title: "Products", label: "Product" },
  category: { report: "categories", title: "Categories", label: "Category" },
  brand: { report: "brands", title: "Brands", label: "Brand" },
};

/** `products`, `categories` and `brands`: one dimension of the aggregates ranked by --sort. */
export function leaderboard(dimension: Board) {
  const names = NAMES[dimension];
  return async ({ source, params: p }: ReportContext): Promise<ReportOutput> => {
    noFilters(
      p,
      names.report,
      "the aggregates of one dimension do not know the others; use overview/revenue/funnel",
    );
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
      `rank ${names.report}`,
    );
    const totals = readSums(answer.aggregations);
    const rows = ((answer.aggregations?.keys?.buckets ?? []) as Json[]).map((b, i) => {
      const s = readSums(b);
      return {
        rank: i + 1,
        key: String(b.key),
        views: s.views,
        carts: s.carts,
        removes: s.removes,
        purchases: s.purchases,
        revenue: s.revenue,
        conversion: ratio(s.purchases, s.views),
        cart_rate: ratio(s.carts, s.views),
        revenue_share: ratio(s.revenue, totals.revenue),
      };
    });
    const distinct = Number(answer.aggregations?.distinct?.value ?? 0);
    return {
      title: `${names.title} by ${p.sort}`,
      data: { dimension, sort: p.sort, distinct_keys: distinct, total_revenue: totals.revenue, rows },
      empty: totals.views + totals.carts + totals.removes + totals.purchases === 0,
      sections: [
        {
          title: `Top ${p.top} ${names.report} by ${p.sort}`,
          notes: [
            filterNote(p),
            `${distinct} ${names.report} with events in the range; total revenue ${totals.revenue.toFixed(2)}`,
          ],
          table: {
            columns: [
              col("rank", "#", "int"),
              col("key", names.label),
              col("views", "Views", "int"),
              col("carts", "Carts", "int"),
              col("purchases", "Purchases", "int"),
              col("revenue", "Revenue", "money"),
              col("conversion", "Conversion", "pct"),
              col("revenue_share", "% revenue", "pct"),
            ],
            rows: rows as unknown as Row[],
          },
          chart: {
            type: "bars",
            label: `${names.title} by ${p.sort}`,
            kind: p.sort === "revenue" ? "money" : "int",
            items: rows.map((r) => ({ label: r.key, value: r[p.sort] })),
          },
        },
      ],
    };
  };
}
