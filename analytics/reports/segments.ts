import { ratio, roundCents } from "../math.ts";
import type { Row } from "../model.ts";
import { type Json, profileQuery } from "../source.ts";
import { col, filterNote, type ReportContext, type ReportOutput } from "./common.ts";

/** Profiles the RFM job has not scored yet have no segment; they are shown under this name. */
export const UNSCORED = "(unscored)";

export async function segments({ source, params: p }: ReportContext): Promise<ReportOutput> {
  const answer = await source.search(
    "profiles",
    {
      size: 0,
      track_total_hits: true,
      query: profileQuery(p),
      aggs: {
        spent: { sum: { field: "total_spent" } },
        segments: {
          terms: {
            field: "segment",
            size: 50,
            missing: UNSCORED,
            order: [{ _count: "desc" }, { _key: "asc" }],
          },
          aggs: {
            spent: { sum: { field: "total_spent" } },
            recency: { avg: { field: "recency_days" } },
            frequency: { avg: { field: "frequency" } },
            monetary: { avg: { field: "monetary" } },
          },
        },
      },
    },
    "size the RFM segments",
  );
  const customers = Number(answer.hits?.total?.value ?? 0);
  const spent = roundCents(Number(answer.aggregations?.spent?.value ?? 0));
  const rows = ((answer.aggregations?.segments?.buckets ?? []) as Json[]).map((b) => {
    const revenue = roundCents(Number(b.spent?.value ?? 0));
    const avg = (k: string) => (b[k]?.value == null ? null : Number(b[k].value));
    return {
      segment: String(b.key),
      customers: Number(b.doc_count),
      customer_share: ratio(Number(b.doc_count), customers),
      revenue,
      revenue_share: ratio(revenue, spent),
      avg_recency_days: avg("recency"),
      avg_frequency: avg("frequency"),
      avg_monetary: avg("monetary") === null ? null : roundCents(avg("monetary") as number),
    };
  });
  return {
    title: "RFM segments",
    data: { customers, revenue: spent, segments: rows },
    empty: customers === 0,
    sections: [
      {
        id: "segments",
        title: "Segments",
        notes: [
          filterNote(p),
          "Customers: profiles active in the range (lifetime figures). Recency in days before the newest event.",
        ],
        table: {
          columns: [
            col("segment", "Segment"),
            col("customers", "Customers", "int"),
            col("customer_share", "% customers", "pct"),
            col("revenue", "Revenue", "money"),
            col("revenue_share", "% revenue", "pct"),
            col("avg_recency_days", "Avg recency (d)", "num"),
            col("avg_frequency", "Avg frequency", "num"),
            col("avg_monetary", "Avg monetary", "money"),
          ],
          rows: rows as unknown as Row[],
        },
        chart: {
          type: "bars",
          label: "Customers per segment",
          axis: "Customers",
          categories: "RFM segment",
          legend: "Customers of the segment",
          kind: "int",
          items: rows.map((r) => ({ label: r.segment, value: r.customers })),
        },
      },
    ],
  };
}
