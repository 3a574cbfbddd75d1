import { exportQuery } from "../export.ts";
import type { Column, Row } from "../model.ts";
import type { CustomerMetric } from "../options.ts";
import type { Json } from "../source.ts";
import { col, filterNote, type ReportContext, type ReportOutput } from "./common.ts";

/** The profile fields the report shows (never `state`, the processing bookkeeping). */
const FIELDS: Column[] = [
  { ...col("user_id", "Customer"), keep: true },
  col("total_spent", "Spent", "money"),
  col("purchases", "Purchases", "int"),
  col("avg_order_value", "AOV", "money"),
  col("views", "Views", "int"),
  col("carts", "Carts", "int"),
  col("sessions", "Sessions", "int"),
  col("conversion_rate", "Conversion", "pct"),
  col("active_week_count", "Active weeks", "int"),
  col("segment", "Segment"),
  col("top_category", "Top category"),
  col("first_seen", "First seen", "date"),
  col("last_seen", "Last seen", "date"),
];

const LABELS: Record<CustomerMetric, string> = {
  total_spent: "spend",
  purchases: "purchases",
  views: "views",
  carts: "carts",
  sessions: "sessions",
  avg_order_value: "average order value",
  conversion_rate: "conversion rate",
  active_week_count: "active weeks",
};

const METRIC_AXIS: Record<CustomerMetric, string> = {
  total_spent: "Total spent",
  purchases: "Purchases",
  views: "Views",
  carts: "Carts",
  sessions: "Sessions",
  avg_order_value: "Average order value",
  conversion_rate: "Conversion (purchases / views)",
  active_week_count: "Active weeks",
};

export async function customers({ source, params: p }: ReportContext): Promise<ReportOutput> {
  // A sorted top-N search: Elasticsearch returns N documents, whatever the number of profiles.
  const answer = await source.search(
    "profiles",
    {
      size: p.top,
      track_total_hits: true,
      query: exportQuery(p, p.targeting ?? {}),
      sort: [{ [p.metric]: { order: "desc" } }, { user_id: { order: "asc" } }],
      _source: FIELDS.map((f) => f.key).concat(["top_brand", "r", "f", "m", "recency_days"]),
    },
    `rank customers by ${p.metric}`,
  );
  const total = Number(answer.hits?.total?.value ?? 0);
  const rows = ((answer.hits?.hits ?? []) as Json[]).map((h, i) => {
    const s = h._source ?? {};
    return {
      rank: i + 1,
      user_id: String(s.user_id ?? h._id),
      total_spent: Number(s.total_spent ?? 0),
      purchases: Number(s.purchases ?? 0),
      avg_order_value: Number(s.avg_order_value ?? 0),
      views: Number(s.views ?? 0),
      carts: Number(s.carts ?? 0),
      sessions: Number(s.sessions ?? 0),
      conversion_rate: Number(s.conversion_rate ?? 0),
      active_week_count: Number(s.active_week_count ?? 0),
      segment: s.segment ?? null,
      rfm: s.r == null ? null : `${s.r}${s.f}${s.m}`,
      recency_days: s.recency_days ?? null,
      top_category: s.top_category ?? null,
      top_brand: s.top_brand ?? null,
      first_seen: String(s.first_seen ?? "").replace(".000Z", "Z"),
      last_seen: String(s.last_seen ?? "").replace(".000Z", "Z"),
    };
  });
  return {
    title: `Top ${p.top} customers by ${LABELS[p.metric]}`,
    data: { metric: p.metric, customers_in_range: total, customers: rows },
    empty: total === 0,
    sections: [
      {
        id: "top_customers",
        title: `Top ${p.top} customers by ${LABELS[p.metric]}`,
        notes: [
          filterNote(p),
          ...(p.category !== undefined || p.brand !== undefined
            ? ["Category and brand: customers who bought it at least once."]
            : []),
          `${total.toLocaleString("en-US")} customers in the range; lifetime profile figures.`,
        ],
        table: { columns: [col("rank", "Rank", "int"), ...FIELDS], rows: rows as unknown as Row[] },
        chart: {
          type: "bars",
          label: `Top customers by ${LABELS[p.metric]}`,
          axis: METRIC_AXIS[p.metric],
          categories: "Customer (user id)",
          legend: `${METRIC_AXIS[p.metric]} per customer (lifetime)`,
          kind:
            p.metric === "total_spent" || p.metric === "avg_order_value"
              ? "money"
              : p.metric === "conversion_rate"
                ? "pct"
                : "int",
          items: rows.map((r) => ({ label: r.user_id, value: Number(r[p.metric]) })),
        },
      },
    ],
  };
}
