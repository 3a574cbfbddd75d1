import { REJECT_REASONS } from "../core/schema/events.ts";
import { dataViewIds } from "./data-views.ts";
import type { DashboardDef, Metric, NumberFormat, PanelDef } from "./lens.ts";

/**
 * capline's dashboards, as typed definitions. docs/kibana.md explains what each panel answers;
 * keep the two in step.
 *
 * Sales documents come in four dimensions (DESIGN.md, "Elasticsearch"): totals are read from
 * `dimension : "all"` and splits from the matching dimension, never summed across dimensions.
 *
 * The stored time range is wide (10 years) because event exports such as REES46 are historical:
 * a dashboard opened right after a run must show the data, not an empty "last 15 minutes".
 */

const ALL = 'dimension : "all"';
const BY = (dimension: "category" | "brand" | "product") => `dimension : "${dimension}"`;
const TIME = { timeFrom: "now-10y", timeTo: "now" };

function sum(field: string, label: string, format?: NumberFormat): Metric {
  return format ? { op: "sum", field, label, format } : { op: "sum", field, label };
}

/** purchases / views. */
const CONVERSION: Metric = {
  op: "ratio",
  label: "Conversion",
  numerator: { op: "sum", field: "purchases" },
  denominator: { op: "sum", field: "views" },
  format: "percent",
};

/** 1 − purchases / carts. */
const ABANDONMENT: Metric = {
  op: "ratio",
  label: "Cart abandonment",
  numerator: { op: "sum", field: "purchases" },
  denominator: { op: "sum", field: "carts" },
  complement: true,
  format: "percent",
};

interface Tile {
  key: string;
  title: string;
  metric: Metric;
  /** Columns of the 48-column grid. @defaultValue 12 */
  w?: number;
}

/** A row of metric tiles, left to right from column 0, 6 rows high. */
function metricRow(dataView: string, query: string | undefined, tiles: readonly Tile[], y = 0): PanelDef[] {
  let x = 0;
  return tiles.map(({ key, title, metric, w = 12 }) => {
    const panel: PanelDef = {
      key,
      title,
      grid: { x, y, w, h: 6 },
      dataView,
      ...(query !== undefined ? { query } : {}),
      chart: { type: "metric", metric },
    };
    x += w;
    return panel;
  });
}

export function dashboardDefs(prefix: string): DashboardDef[] {
  const dv = dataViewIds(prefix);
  return [
    {
      id: `${prefix}-customer-overview`,
      title: "capline · Customer overview",
      description:
        "Customers active in the time range (by last seen): how many, how many bought, what they spent, segments and top spenders.",
      ...TIME,
      panels: [
        ...metricRow(dv.profiles, undefined, [
          {
            key: "customers",
            title: "Customers",
            metric: { op: "count", label: "Customers", format: "integer" },
          },
          {
            key: "purchasers",
            title: "Purchasers",
            metric: { op: "count", label: "Purchasers", filter: "purchases > 0", format: "integer" },
          },
          { key: "revenue", title: "Revenue", metric: sum("total_spent", "Revenue", "number") },
          {
            key: "aov",
            title: "Average order value",
            metric: {
              op: "ratio",
              label: "Average order value",
              numerator: { op: "sum", field: "total_spent" },
              denominator: { op: "sum", field: "purchases" },
              format: "number",
            },
          },
        ]),
        {
          key: "segments",
          title: "Customers by segment",
          grid: { x: 0, y: 6, w: 16, h: 14 },
          dataView: dv.profiles,
          chart: {
            type: "pie",
            shape: "donut",
            groups: [{ op: "terms", field: "segment", label: "Segment", size: 12 }],
            metric: { op: "count", label: "Customers" },
          },
        },
        {
          key: "spend-distribution",
          title: "Spend distribution (customers who bought)",
          grid: { x: 16, y: 6, w: 32, h: 14 },
          dataView: dv.profiles,
          query: "purchases > 0",
          chart: {
            type: "xy",
            series: "bar",
            x: { op: "histogram", field: "total_spent", label: "Total spent" },
            y: [{ op: "count", label: "Customers" }],
          },
        },
        {
          key: "top-customers",
          title: "Top customers by spend",
          grid: { x: 0, y: 20, w: 24, h: 16 },
          dataView: dv.profiles,
          chart: {
            type: "table",
            rows: [{ op: "terms", field: "user_id", label: "Customer", size: 20 }],
            metrics: [
              sum("total_spent", "Total spent", "number"),
              sum("purchases", "Purchases", "integer"),
              sum("sessions", "Sessions", "integer"),
              { op: "max", field: "recency_days", label: "Days since last purchase", format: "integer" },
            ],
          },
        },
        {
          key: "new-customers",
          title: "New customers over time (by first seen)",
          grid: { x: 24, y: 20, w: 24, h: 16 },
          dataView: dv.profilesFirstSeen,
          chart: {
            type: "xy",
            series: "bar_stacked",
            x: { op: "date_histogram", field: "first_seen", label: "First seen" },
            y: [{ op: "count", label: "New customers" }],
          },
        },
      ],
    },
    {
      id: `${prefix}-sales`,
      title: "capline · Sales and revenue",
      description:
        "Revenue and orders over time, by category, brand and product, and when in the week customers buy (UTC).",
      ...TIME,
      panels: [
        {
          key: "revenue-orders",
          title: "Revenue and orders over time",
          grid: { x: 0, y: 0, w: 48, h: 14 },
          dataView: dv.salesDaily,
          query: ALL,
          chart: {
            type: "xy",
            series: "line",
            x: { op: "date_histogram", field: "bucket", label: "Day" },
            y: [sum("revenue", "Revenue", "number"), sum("purchases", "Orders", "integer")],
            rightAxis: ["Orders"],
          },
        },
        {
          key: "by-category",
          title: "Revenue by category (top 15)",
          grid: { x: 0, y: 14, w: 24, h: 16 },
          dataView: dv.salesDaily,
          query: BY("category"),
          chart: {
            type: "xy",
            series: "bar_horizontal",
            x: { op: "terms", field: "key", label: "Category", size: 15 },
            y: [sum("revenue", "Revenue", "number")],
          },
        },
        {
          key: "by-brand",
          title: "Revenue by brand (top 15)",
          grid: { x: 24, y: 14, w: 24, h: 16 },
          dataView: dv.salesDaily,
          query: BY("brand"),
          chart: {
            type: "xy",
            series: "bar_horizontal",
            x: { op: "terms", field: "key", label: "Brand", size: 15 },
            y: [sum("revenue", "Revenue", "number")],
          },
        },
        {
          key: "by-product",
          title: "Top products",
          grid: { x: 0, y: 30, w: 24, h: 16 },
          dataView: dv.salesDaily,
          query: BY("product"),
          chart: {
            type: "table",
            rows: [{ op: "terms", field: "key", label: "Product", size: 25 }],
            metrics: [
              sum("revenue", "Revenue", "number"),
              sum("purchases", "Orders", "integer"),
              sum("views", "Views", "integer"),
            ],
          },
        },
        {
          key: "hour-weekday",
          title: "Revenue by hour of day × day of week (UTC)",
          grid: { x: 24, y: 30, w: 24, h: 16 },
          dataView: dv.salesHourly,
          query: ALL,
          chart: {
            type: "heatmap",
            x: { op: "terms", field: "hour_of_day", label: "Hour of day", size: 24, order: "alphabetical" },
            y: { op: "terms", field: "day_of_week", label: "Day of week", size: 7, order: "alphabetical" },
            value: sum("revenue", "Revenue", "number"),
          },
        },
      ],
    },
    {
      id: `${prefix}-funnel`,
      title: "capline · Conversion funnel",
      description: "Views → carts → purchases over time and by category, conversion and cart abandonment.",
      ...TIME,
      panels: [
        ...metricRow(dv.salesDaily, ALL, [
          { key: "views", title: "Views", metric: sum("views", "Views", "integer"), w: 10 },
          { key: "carts", title: "Add to cart", metric: sum("carts", "Add to cart", "integer"), w: 10 },
          { key: "purchases", title: "Purchases", metric: sum("purchases", "Purchases", "integer"), w: 10 },
          { key: "conversion", title: "Conversion (purchases / views)", metric: CONVERSION, w: 9 },
          {
            key: "abandonment",
            title: "Cart abandonment (1 − purchases / carts)",
            metric: ABANDONMENT,
            w: 9,
          },
        ]),
        {
          key: "funnel-over-time",
          title: "Views, carts and purchases over time",
          grid: { x: 0, y: 6, w: 48, h: 14 },
          dataView: dv.salesDaily,
          query: ALL,
          chart: {
            type: "xy",
            series: "line",
            x: { op: "date_histogram", field: "bucket", label: "Day" },
            y: [
              sum("views", "Views", "integer"),
              sum("carts", "Add to cart", "integer"),
              sum("purchases", "Purchases", "integer"),
            ],
            rightAxis: ["Add to cart", "Purchases"],
          },
        },
        {
          key: "funnel-by-category",
          title: "Funnel by category (top 10 by views)",
          grid: { x: 0, y: 20, w: 28, h: 16 },
          dataView: dv.salesDaily,
          query: BY("category"),
          chart: {
            type: "table",
            rows: [{ op: "terms", field: "key", label: "Category", size: 10 }],
            metrics: [
              sum("views", "Views", "integer"),
              sum("carts", "Add to cart", "integer"),
              sum("purchases", "Purchases", "integer"),
              CONVERSION,
            ],
          },
        },
        {
          key: "abandonment-over-time",
          title: "Cart abandonment over time",
          grid: { x: 28, y: 20, w: 20, h: 16 },
          dataView: dv.salesDaily,
          query: ALL,
          chart: {
            type: "xy",
            series: "line",
            x: { op: "date_histogram", field: "bucket", label: "Day" },
            y: [ABANDONMENT],
          },
        },
      ],
    },
    {
      id: `${prefix}-pipeline-ops`,
      title: "capline · Pipeline operations",
      description:
        "What the pipeline took in and refused: one record per ingest run (kind ingest) and per processing batch (kind process).",
      ...TIME,
      panels: [
        ...metricRow(
          dv.ops,
          'kind : "ingest"',
          (
            [
              ["rows", "Rows read"],
              ["sent", "Events sent"],
              ["rejected", "Rows rejected"],
              ["duplicates", "Duplicate rows"],
            ] as const
          ).map(([field, title]) => ({ key: field, title, metric: sum(field, title, "integer") })),
        ),
        {
          key: "rejected-by-reason",
          title: "Rejected rows by reason",
          grid: { x: 0, y: 6, w: 24, h: 14 },
          dataView: dv.ops,
          query: 'kind : "ingest"',
          chart: {
            type: "xy",
            series: "bar_stacked",
            x: { op: "date_histogram", field: "@timestamp", label: "Run time" },
            // Every reason DESIGN.md defines, so a new reason gets its series without an edit here.
            y: REJECT_REASONS.map((reason) => sum(`rejected_by_reason.${reason}`, reason, "integer")),
          },
        },
        {
          key: "processed-by-sink",
          title: "Events processed per sink",
          grid: { x: 24, y: 6, w: 24, h: 14 },
          dataView: dv.ops,
          query: 'kind : "process"',
          chart: {
            // Each sink takes every event once: lines side by side, not stacked into a double count.
            type: "xy",
            series: "line",
            x: { op: "date_histogram", field: "@timestamp", label: "Batch time" },
            breakdown: { op: "terms", field: "sink", label: "Sink", size: 10 },
            y: [sum("events", "Events", "integer")],
          },
        },
        {
          key: "throughput",
          title: "Ingest throughput (events per second)",
          grid: { x: 0, y: 20, w: 24, h: 12 },
          dataView: dv.ops,
          query: 'kind : "ingest"',
          chart: {
            type: "xy",
            series: "line",
            x: { op: "date_histogram", field: "@timestamp", label: "Run time" },
            y: [{ op: "average", field: "events_per_second", label: "Events per second", format: "number" }],
          },
        },
        {
          key: "dlq",
          title: "Records sent to the DLQ by processing",
          grid: { x: 24, y: 20, w: 24, h: 12 },
          dataView: dv.ops,
          // Every sink's record of a range repeats that range's DLQ count: read one sink's, so
          // each range counts once (the index sink always runs; archiving can be switched off).
          query: 'kind : "process" and sink : "index"',
          chart: {
            type: "xy",
            series: "bar",
            x: { op: "date_histogram", field: "@timestamp", label: "Batch time" },
            y: [sum("dlq", "DLQ records", "integer")],
          },
        },
        {
          key: "runs",
          title: "Ingest runs",
          grid: { x: 0, y: 32, w: 28, h: 14 },
          dataView: dv.ops,
          query: 'kind : "ingest"',
          chart: {
            type: "table",
            rows: [{ op: "terms", field: "file", label: "File", size: 50 }],
            metrics: [
              sum("rows", "Rows", "integer"),
              sum("sent", "Sent", "integer"),
              sum("rejected", "Rejected", "integer"),
              sum("duplicates", "Duplicates", "integer"),
              { op: "max", field: "seconds", label: "Seconds (longest run)", format: "number" },
            ],
          },
        },
        {
          key: "partitions",
          title: "Events processed per partition",
          grid: { x: 28, y: 32, w: 20, h: 14 },
          dataView: dv.ops,
          query: 'kind : "process"',
          chart: {
            type: "xy",
            series: "bar",
            x: { op: "terms", field: "partition", label: "Partition", size: 100, order: "alphabetical" },
            breakdown: { op: "terms", field: "sink", label: "Sink", size: 10 },
            y: [sum("events", "Events", "integer")],
          },
        },
      ],
    },
  ];
}
