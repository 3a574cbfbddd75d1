import { type CohortBuckets, foldCohorts } from "../math.ts";
import { type Json, profileQuery } from "../source.ts";
import { col, filterNote, type ReportContext, type ReportOutput } from "./common.ts";

/**
 * Weekly cohorts: customers by the ISO week of first_seen (cohort_week) × the weeks they were
 * active (active_weeks holds one Monday per active week). Elasticsearch counts the pairs — a
 * date_histogram over a multi-valued field puts a profile in each of its weeks — and Node only
 * shifts the (bounded) weeks × weeks grid to "weeks since first seen".
 */
export async function cohorts({ source, params: p }: ReportContext): Promise<ReportOutput> {
  const answer = await source.search(
    "profiles",
    {
      size: 0,
      track_total_hits: true,
      query: profileQuery(p, "first_seen"),
      aggs: {
        last: { max: { field: "active_weeks" } },
        cohorts: {
          date_histogram: {
            field: "cohort_week",
            calendar_interval: "week",
            time_zone: "UTC",
            min_doc_count: 1,
          },
          aggs: {
            active: {
              date_histogram: {
                field: "active_weeks",
                calendar_interval: "week",
                time_zone: "UTC",
                min_doc_count: 1,
              },
            },
          },
        },
      },
    },
    "count cohorts",
  );
  const buckets: CohortBuckets[] = ((answer.aggregations?.cohorts?.buckets ?? []) as Json[]).map((b) => ({
    cohort: String(b.key_as_string).slice(0, 10),
    size: Number(b.doc_count),
    active: ((b.active?.buckets ?? []) as Json[]).map((w) => ({
      week: String(w.key_as_string).slice(0, 10),
      customers: Number(w.doc_count),
    })),
  }));
  const last = answer.aggregations?.last?.value_as_string as string | undefined;
  const rows = foldCohorts(buckets, last?.slice(0, 10));
  const weeks = Math.max(0, ...rows.map((r) => r.active.length));
  const weekKeys = Array.from({ length: weeks }, (_, i) => `w${i}`);
  const tableRows = rows.map((r) => ({
    cohort_week: r.cohort_week,
    size: r.size,
    ...Object.fromEntries(weekKeys.map((k, i) => [k, i < r.retention.length ? (r.retention[i] ?? 0) : null])),
  }));
  const customers = Number(answer.hits?.total?.value ?? 0);
  return {
    title: "Weekly cohort retention",
    data: { customers, weeks, cohorts: rows },
    empty: customers === 0,
    sections: [
      {
        id: "retention",
        title: "Retention by first-seen week (share of the cohort active N weeks later)",
        notes: [
          filterNote(p),
          "Cohort = ISO week (Monday, UTC) of first_seen; the range selects customers first seen in it. Week 0 is 100% by definition.",
        ],
        table: {
          columns: [
            col("cohort_week", "Cohort (Monday)", "date"),
            col("size", "Customers", "int"),
            ...weekKeys.map((k, i) => col(k, `W${i}`, "pct")),
          ],
          rows: tableRows,
        },
        chart: {
          type: "heatmap",
          label: "Cohort retention: share of each week's new customers active N weeks later",
          kind: "pct",
          xAxis: "Weeks since first seen",
          legend: "Share active",
          yAxis: "Cohort (first-seen week, Monday)",
          rows: rows.map((r) => r.cohort_week),
          columns: weekKeys.map((_, i) => `W${i}`),
          values: rows.map((r) =>
            weekKeys.map((_, i) => (i < r.retention.length ? (r.retention[i] ?? 0) : null)),
          ),
        },
      },
    ],
  };
}
