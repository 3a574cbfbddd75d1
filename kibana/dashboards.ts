import { dataViewIds } from "./data-views.ts";
import type { DashboardDef, Metric, NumberFormat } from "./lens.ts";

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
        {
          key: "customers",
          title: "Customers",
          grid: { x: 0, y: 0, w: 12, h: 6 },
          dataView: dv.profiles,
          chart: { type: "metric", metric: { op: "count", label: "Customers", format: "integer" } },
        },
        {
          key: "purchasers",
          title: "Purchasers",
          grid: { x: 12, y: 0, w: 12, h: 6 },
          dataView: dv.profiles,
          chart: {
            type: "metric",
            metric: { op: "count", label: "Purchasers", filter: "purchases > 0", format: "integer" },
          },
        },
        {
          key: "revenue",
          title: "Revenue",
          grid: { x: 24, y: 0, w: 12, h: 6 },
          dataView: dv.profiles,
          chart: { type: "metric", metric: sum("total_spent", "Revenue", "number") },
        },
        {
          key: "aov",
          title: "Average order value",
          grid: { x: 36, y: 0, w: 12, h: 6 },
          dataView: dv.profiles,
          chart: {
            type: "metric",
            metric: {
              op: "ratio",
              label: "Average order value",
              numerator: { op: "sum", field: "total_spent" },
              denominator: { op: "sum", field: "purchases" },
              format: "number",
            },
          },
        },
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
        {
          key: "views",
          title: "Views",
          grid: { x: 0, y: 0, w: 10, h: 6 },
          dataView: dv.salesDaily,
          query: ALL,
          chart: { type: "metric", metric: sum("views", "Views", "integer") },
        },
        {
          key: "carts",
          title: "Add to cart",
          grid: { x: 10, y: 0, w: 10, h: 6 },
          dataView: dv.salesDaily,
          query: ALL,
          chart: { type: "metric", metric: sum("carts", "Add to cart", "integer") },
        },
        {
          key: "purchases",
          title: "Purchases",
          grid: { x: 20, y: 0, w: 10, h: 6 },
          dataView: dv.salesDaily,
          query: ALL,
          chart: { type: "metric", metric: sum("purchases", "Purchases", "integer") },
        },
        {
          key: "conversion",
          title: "Conversion (purchases / views)",
          grid: { x: 30, y: 0, w: 9, h: 6 },
          dataView: dv.salesDaily,
          query: ALL,
          chart: {
            type: "metric",
            metric: {
              op: "ratio",
              label: "Conversion",
              numerator: { op: "sum", field: "purchases" },
              denominator: { op: "sum", field: "views" },
              format: "percent",
            },
          },
        },
        {
          key: "abandonment",
          title: "Cart abandonment (1 − purchases / carts)",
          grid: { x: 39, y: 0, w: 9, h: 6 },
          dataView: dv.salesDaily,
          query: ALL,
          chart: {
            type: "metric",
            metric: {
              op: "ratio",
              label: "Cart abandonment",
              numerator: { op: "sum", field: "purchases" },
              denominator: { op: "sum", field: "carts" },
              complement: true,
              format: "percent",
            },
          },
        },
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
              {
                op: "ratio",
                label: "Conversion",
                numerator: { op: "sum", field: "purchases" },
                denominator: { op: "sum", field: "views" },
                format: "percent",
              },
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
            y: [
              {
                op: "ratio",
                label: "Cart abandonment",
                numerator: { op: "sum", field: "purchases" },
                denominator: { op: "sum", field: "carts" },
                complement: true,
                format: "percent",
              },
            ],
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
        {
          key: "rows",
          title: "Rows read",
          grid: { x: 0, y: 0, w: 12, h: 6 },
          dataView: dv.ops,
          query: 'kind : "ingest"',
          chart: { type: "metric", metric: sum("rows", "Rows read", "integer") },
        },
        {
          key: "sent",
          title: "Events sent",
          grid: { x: 12, y: 0, w: 12, h: 6 },
          dataView: dv.ops,
          query: 'kind : "ingest"',
          chart: { type: "metric", metric: sum("sent", "Events sent", "integer") },
        },
        {
          key: "rejected",
          title: "Rows rejected",
          grid: { x: 24, y: 0, w: 12, h: 6 },
          dataView: dv.ops,
          query: 'kind : "ingest"',
          chart: { type: "metric", metric: sum("rejected", "Rows rejected", "integer") },
        },
        {
          key: "duplicates",
          title: "Duplicate rows",
          grid: { x: 36, y: 0, w: 12, h: 6 },
          dataView: dv.ops,
          query: 'kind : "ingest"',
          chart: { type: "metric", metric: sum("duplicates", "Duplicate rows", "integer") },
        },
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
            y: [
              sum("rejected_by_reason.missing_field", "missing_field", "integer"),
              sum("rejected_by_reason.bad_timestamp", "bad_timestamp", "integer"),
              sum("rejected_by_reason.bad_event_type", "bad_event_type", "integer"),
              sum("rejected_by_reason.bad_price", "bad_price", "integer"),
              sum("rejected_by_reason.malformed_row", "malformed_row", "integer"),
            ],
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
