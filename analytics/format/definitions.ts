import type { ReportMeta, ReportResult } from "../model.ts";

/**
 * What a reader needs to know to read the figures: one short definition per derived figure and per
 * RFM segment, shared by the HTML and Markdown reports (docs/reports.md has the long form). The
 * segment definitions follow the grid of docs/processing.md, "RFM".
 */

export interface Definition {
  term: string;
  text: string;
}

export const FIGURE_DEFINITIONS: readonly Definition[] = [
  { term: "Events", text: "views + add-to-cart + remove-from-cart + purchase events, by event time (UTC)." },
  { term: "Orders", text: "purchase events (the data has no order id: one purchased line is one order)." },
  { term: "Revenue", text: "sum of the prices of purchase events." },
  { term: "AOV (average order value)", text: "revenue / orders." },
  {
    term: "Conversion",
    text: "view → cart = carts / views; cart → purchase = purchases / carts; view → purchase = purchases / views. Customer conversion = purchasers / customers.",
  },
  {
    term: "Cart abandonment",
    text: "events: 1 − purchases / carts (at least 0); customers: customers who added to cart and never bought / customers who added to cart.",
  },
  {
    term: "Customers of a period",
    text: "customers whose activity (first seen … last seen) overlaps the period; their spend and counts are lifetime figures. Purchasers: those with a purchase.",
  },
  {
    term: "Retention (cohorts)",
    text: "share of the customers first seen in a week (Monday, UTC) who were active N weeks later; week 0 is 100 %.",
  },
  {
    term: "Change",
    text: "against the previous period of the same length, just before this one: relative (%) for counts and amounts, in percentage points (pt) for rates.",
  },
  {
    term: "RFM scores",
    text: "R (recency: days since the last purchase, counted to the newest event in the data), F (frequency: purchases) and M (monetary: total spent), each 1–5 by quintile over customers with a purchase; 5 is best.",
  },
];

export const SEGMENT_DEFINITIONS: readonly Definition[] = [
  { term: "Champions", text: "bought recently and often: R 5, F 4–5." },
  { term: "Loyal", text: "buy often, fairly recently: R 3–4, F 4–5." },
  { term: "Potential loyalist", text: "recent customers with a few purchases: R 4–5, F 2–3." },
  { term: "New", text: "bought very recently, once or so: R 5, F 1." },
  { term: "Promising", text: "recent, one purchase or so: R 4, F 1." },
  { term: "Need attention", text: "middling recency, few purchases: R 3, F 1–3." },
  { term: "At risk", text: "bought often, but long ago: R 1–2, F 3–5." },
  { term: "Hibernating", text: "long ago and rarely: R 2 with F 1–2, or R 1 with F 2." },
  { term: "Lost", text: "long ago, once: R 1, F 1." },
  { term: "Prospect", text: "no purchase yet (not scored)." },
  { term: "(unscored)", text: "a purchaser the RFM job has not scored yet (it runs every few minutes)." },
];

/** Which definitions a set of reports needs (segments only where segments are shown). */
export function definitionsFor(results: readonly ReportResult[]): {
  figures: Definition[];
  segments: Definition[];
} {
  const names = new Set(results.map((r) => r.report));
  const segments = names.has("segments") || names.has("customers") ? [...SEGMENT_DEFINITIONS] : [];
  return { figures: [...FIGURE_DEFINITIONS], segments };
}

/** The header facts of a report: dataset, period, comparison, generation time, zone, currency. */
export function headerFacts(meta: ReportMeta): Array<{ term: string; text: string }> {
  const day = (iso: string) => iso.replace(/T00:00:00(\.000)?Z$/, "").replace(/:00(\.000)?Z$/, "Z");
  const from = meta.period.from === null ? "first event" : day(meta.period.from);
  const to = meta.period.to === null ? "last event" : day(meta.period.to);
  return [
    { term: "Dataset", text: `topic ${meta.dataset.topic} · indices ${meta.dataset.index_prefix}-*` },
    { term: "Period", text: `${from} ≤ event time < ${to}` },
    {
      term: "Compared with",
      text:
        meta.compare === "none"
          ? "nothing (--compare none)"
          : meta.previous_period
            ? `${day(meta.previous_period.from)} ≤ event time < ${day(meta.previous_period.to)} (the period of the same length before)`
            : "the previous period of the same length (overview only)",
    },
    { term: "Generated", text: meta.generated_at.replace(/\.\d{3}Z$/, "Z").replace("T", " ") },
    { term: "Time zone", text: "UTC (event times and every period)" },
    {
      term: "Currency",
      text: meta.currency ?? "none given (amounts are plain numbers; set --currency or REPORT_CURRENCY)",
    },
  ];
}
