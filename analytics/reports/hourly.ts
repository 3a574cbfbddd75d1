import { type CellBucket, foldCells, roundCents, WEEKDAYS } from "../math.ts";
import { type Json, readSums, SALES_SUMS, salesQuery } from "../source.ts";
import { col, filterNote, oneSalesFilter, type ReportContext, type ReportOutput } from "./common.ts";

/**
 * Activity by hour of day × day of week (UTC). The hourly aggregates carry both, indexed (index
 * contract v2), so Elasticsearch sums the 7 × 24 cells itself with two nested terms
 * aggregations: at most 168 buckets, whatever the length of the range or the size of the data.
 */
export async function hourly({ source, params: p }: ReportContext): Promise<ReportOutput> {
  oneSalesFilter(p, "hourly");
  const answer = await source.search(
    "sales-hourly",
    {
      size: 0,
      query: salesQuery(p),
      aggs: {
        hours_with_data: { cardinality: { field: "bucket", precision_threshold: 40_000 } },
        weekdays: {
          terms: { field: "day_of_week", size: 7 },
          aggs: { hours: { terms: { field: "hour_of_day", size: 24 }, aggs: SALES_SUMS } },
        },
      },
    },
    "sum activity per weekday and hour",
  );
  const buckets: CellBucket[] = ((answer.aggregations?.weekdays?.buckets ?? []) as Json[]).flatMap((d) =>
    ((d.hours?.buckets ?? []) as Json[]).map((h) => ({
      day_of_week: Number(d.key),
      hour_of_day: Number(h.key),
      ...readSums(h),
    })),
  );
  const cells = foldCells(buckets);
  const byHour = Array.from({ length: 24 }, (_, hour) => {
    const of = cells.filter((c) => c.hour === hour);
    return {
      hour,
      events: of.reduce((a, c) => a + c.events, 0),
      views: of.reduce((a, c) => a + c.views, 0),
      purchases: of.reduce((a, c) => a + c.purchases, 0),
      revenue: roundCents(of.reduce((a, c) => a + c.revenue, 0)),
    };
  });
  const byWeekday = WEEKDAYS.map((name, weekday) => {
    const of = cells.filter((c) => c.weekday === weekday);
    return {
      weekday: name,
      events: of.reduce((a, c) => a + c.events, 0),
      views: of.reduce((a, c) => a + c.views, 0),
      purchases: of.reduce((a, c) => a + c.purchases, 0),
      revenue: roundCents(of.reduce((a, c) => a + c.revenue, 0)),
    };
  });
  const hours = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, "0"));
  const grid = (field: "events" | "revenue") =>
    WEEKDAYS.map((_, d) => hours.map((_, h) => cells[d * 24 + h]?.[field] ?? 0));
  const figures = [
    col("events", "Events", "int"),
    col("views", "Views", "int"),
    col("purchases", "Purchases", "int"),
    col("revenue", "Revenue", "money"),
  ];
  const total = byHour.reduce((a, h) => a + h.events, 0);
  return {
    title: "Activity by hour and weekday (UTC)",
    data: {
      hours_with_data: Number(answer.aggregations?.hours_with_data?.value ?? 0),
      by_hour: byHour,
      by_weekday: byWeekday,
      cells: cells.map((c) => ({ ...c, weekday: WEEKDAYS[c.weekday] })),
    },
    empty: total === 0,
    sections: [
      {
        id: "by_hour",
        title: "By hour of day (UTC)",
        notes: [filterNote(p)],
        table: { columns: [col("hour", "Hour", "int"), ...figures], rows: byHour },
        chart: {
          type: "heatmap",
          label: "Events by weekday and hour of day (UTC)",
          kind: "int",
          xAxis: "Hour of day (UTC)",
          yAxis: "Weekday",
          legend: "Events",
          rows: [...WEEKDAYS],
          columns: hours,
          values: grid("events"),
        },
      },
      {
        id: "by_weekday",
        title: "By day of week",
        table: { columns: [col("weekday", "Weekday"), ...figures], rows: byWeekday },
        chart: {
          type: "heatmap",
          label: "Revenue by weekday and hour of day (UTC)",
          kind: "money",
          xAxis: "Hour of day (UTC)",
          yAxis: "Weekday",
          legend: "Revenue",
          rows: [...WEEKDAYS],
          columns: hours,
          values: grid("revenue"),
        },
      },
    ],
  };
}
