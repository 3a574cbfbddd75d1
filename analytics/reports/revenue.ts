import { UsageError } from "../../core/errors.ts";
import { averageOrder } from "../math.ts";
import type { Row } from "../model.ts";
import { dayAligned, type RevenueBy } from "../options.ts";
import { productSeries, rankProducts } from "../product-range.ts";
import { iso, type Json, readSums, SALES_SUMS, salesIndex, salesQuery } from "../source.ts";
import { col, filterNote, oneSalesFilter, type ReportContext, type ReportOutput } from "./common.ts";

const fmtMoney = (v: number) =>
  v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const fmtInt = (v: number) => v.toLocaleString("en-US");

const PERIOD_AXIS: Record<RevenueBy, string> = {
  hour: "Hour (UTC)",
  day: "Day (UTC)",
  week: "Week (starting Monday, UTC)",
  month: "Month (UTC)",
};

/** The label of a period: its start, as short as the interval allows (all UTC). */
export function periodLabel(ms: number, by: RevenueBy): string {
  const s = new Date(ms).toISOString();
  if (by === "hour") return `${s.slice(0, 13)}:00Z`;
  if (by === "month") return s.slice(0, 7);
  return s.slice(0, 10);
}

function histogram(p: ReportContext["params"]) {
  const bounds =
    p.from !== undefined && p.to !== undefined
      ? { extended_bounds: { min: iso(p.from), max: iso(p.to - 1) } }
      : {};
  return {
    date_histogram: {
      field: "bucket",
      calendar_interval: p.by,
      time_zone: "UTC",
      // Periods without sales show as 0 instead of vanishing from the series.
      min_doc_count: 0,
      ...bounds,
    },
    aggs: { purchases: SALES_SUMS.purchases, revenue: SALES_SUMS.revenue },
  };
}

interface Point {
  period: string;
  revenue: number;
  orders: number;
  avg_order_value: number | null;
}

function point(b: Json, by: RevenueBy): Point {
  const s = readSums(b);
  return {
    period: periodLabel(Number(b.key), by),
    revenue: s.revenue,
    orders: s.purchases,
    avg_order_value: averageOrder(s.revenue, s.purchases),
  };
}

export async function revenue({ source, params: p }: ReportContext): Promise<ReportOutput> {
  oneSalesFilter(p, "revenue");
  if (p.split !== undefined && (p.category !== undefined || p.brand !== undefined))
    throw new UsageError(
      "revenue: --split does not combine with --category/--brand (the aggregates have no category × brand or product × category cross)",
    );
  const index = salesIndex(p, p.by === "hour");
  const periodColumn = col(
    "period",
    p.by === "week" ? "Week (Monday)" : p.by[0]?.toUpperCase() + p.by.slice(1),
  );
  const money = [
    col("revenue", "Revenue", "money"),
    col("orders", "Orders", "int"),
    col("avg_order_value", "AOV", "money"),
  ];
  const totalAnswer = await source.search(
    index,
    { size: 0, query: salesQuery(p), aggs: { over: histogram(p), ...SALES_SUMS } },
    "sum revenue over time",
  );
  const totals = readSums(totalAnswer.aggregations);
  const series = ((totalAnswer.aggregations?.over?.buckets ?? []) as Json[]).map((b) => point(b, p.by));
  const total = {
    revenue: totals.revenue,
    orders: totals.purchases,
    avg_order_value: averageOrder(totals.revenue, totals.purchases),
  };
  const empty = totals.views + totals.carts + totals.removes + totals.purchases === 0;
  if (p.split === undefined) {
    return {
      title: `Revenue by ${p.by}`,
      data: { by: p.by, total, series },
      empty,
      sections: [
        {
          id: "series",
          title: `Revenue, orders and AOV by ${p.by}`,
          notes: [filterNote(p), `Total: ${fmtMoney(total.revenue)} from ${fmtInt(total.orders)} orders`],
          table: { columns: [periodColumn, ...money], rows: series as unknown as Row[] },
          chart: {
            type: "lines",
            label: `Revenue by ${p.by}`,
            kind: "money",
            xAxis: PERIOD_AXIS[p.by],
            yAxis: "Revenue",
            x: series.map((s) => s.period),
            series: [{ name: `Revenue per ${p.by}`, values: series.map((s) => s.revenue) }],
          },
        },
      ],
    };
  }
  const split = p.split;
  let keys: Array<{ key: string; revenue: number; orders: number; byPeriod: Map<string, Point> }>;
  if (split === "product" && (p.by === "hour" || !dayAligned(p))) {
    // Products are daily only (index contract v2): hours come from their documents' state.hours.
    const ranked = await rankProducts(source, p, "revenue", p.top);
    const series = await productSeries(
      source,
      p,
      ranked.rows.map((r) => r.key),
      p.by,
    );
    keys = ranked.rows.map((r) => ({
      key: r.key,
      revenue: r.revenue,
      orders: r.purchases,
      byPeriod: new Map(
        [...(series.get(r.key) ?? [])].map(([ms, s]) => {
          const pt = point(
            { key: ms, purchases: { value: s.purchases }, revenue: { value: s.revenue } },
            p.by,
          );
          return [pt.period, pt];
        }),
      ),
    }));
  } else {
    const answer = await source.search(
      salesIndex(p, p.by === "hour"),
      {
        size: 0,
        query: salesQuery(p, split),
        aggs: {
          keys: {
            terms: {
              field: "key",
              size: p.top,
              shard_size: Math.max(p.top * 10, 500),
              order: [{ revenue: "desc" }, { _key: "asc" }],
            },
            aggs: { revenue: SALES_SUMS.revenue, purchases: SALES_SUMS.purchases, over: histogram(p) },
          },
        },
      },
      `split revenue by ${split}`,
    );
    keys = ((answer.aggregations?.keys?.buckets ?? []) as Json[]).map((k) => {
      const byPeriod = new Map<string, Point>();
      for (const b of (k.over?.buckets ?? []) as Json[]) {
        const pt = point(b, p.by);
        byPeriod.set(pt.period, pt);
      }
      const s = readSums(k);
      return { key: String(k.key), revenue: s.revenue, orders: s.purchases, byPeriod };
    });
  }
  // Every key on the same periods as the total, zeros where a key sold nothing.
  const rows = series.flatMap((t) =>
    keys.map((k) => {
      const pt = k.byPeriod.get(t.period);
      return {
        period: t.period,
        key: k.key,
        revenue: pt?.revenue ?? 0,
        orders: pt?.orders ?? 0,
        avg_order_value: pt?.avg_order_value ?? null,
      };
    }),
  );
  return {
    title: `Revenue by ${p.by}, top ${p.top} ${split === "category" ? "categories" : `${split}s`}`,
    data: {
      by: p.by,
      split,
      total,
      series,
      keys: keys.map((k) => ({ key: k.key, revenue: k.revenue, orders: k.orders })),
      rows,
    },
    empty,
    sections: [
      {
        id: "split",
        title: `Revenue by ${p.by} and ${split}`,
        notes: [
          filterNote(p),
          `Total (all ${split === "category" ? "categories" : `${split}s`}): ${fmtMoney(total.revenue)} from ${fmtInt(total.orders)} orders`,
        ],
        table: {
          columns: [periodColumn, col("key", split[0]?.toUpperCase() + split.slice(1)), ...money],
          rows,
        },
        chart: {
          type: "lines",
          label: `Revenue by ${p.by} and ${split}`,
          kind: "money",
          xAxis: PERIOD_AXIS[p.by],
          yAxis: "Revenue",
          x: series.map((s) => s.period),
          series: keys.map((k) => ({
            name: k.key,
            values: series.map((t) => k.byPeriod.get(t.period)?.revenue ?? 0),
          })),
        },
      },
    ],
  };
}
