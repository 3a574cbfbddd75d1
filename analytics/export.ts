import { UsageError } from "../core/errors.ts";
import { csvCell } from "./format/csv.ts";
import { rawCell } from "./format/values.ts";
import type { Column } from "./model.ts";
import { parseTime, type ReportParams } from "./options.ts";
import { UNSCORED } from "./reports/segments.ts";
import { iso, type Json, profileQuery, type Query, type ReportSource } from "./source.ts";

/**
 * `report customers --all` (and `--segment`): every matching customer, streamed. Elasticsearch's
 * result window stops a search at 10,000 hits, so the export walks a point in time with
 * `search_after` on `user_id` (unique): one consistent view of the profiles, one page in memory,
 * whatever the number of customers. The figures are the profile's (lifetime), like `customers`.
 */

/** The segments a profile can have (docs/processing.md, "RFM"), plus the unscored purchasers. */
export const SEGMENT_NAMES = [
  "Champions",
  "Loyal",
  "Potential loyalist",
  "New",
  "Promising",
  "Need attention",
  "At risk",
  "Hibernating",
  "Lost",
  "Prospect",
  UNSCORED,
] as const;

export interface ExportFilter {
  segment?: string;
  /** total_spent ≥ this. */
  minSpend?: number;
  /** last_seen < this (epoch ms). */
  lastSeenBefore?: number;
  /** last_seen ≥ this (epoch ms). */
  lastSeenAfter?: number;
}

export interface RawExportFlags {
  segment?: string;
  minSpend?: string;
  lastSeenBefore?: string;
  lastSeenAfter?: string;
}

/** Validates the targeting flags; a wrong one names itself and what it accepts (exit 2). */
export function parseExportFilter(flags: RawExportFlags): ExportFilter {
  const out: ExportFilter = {};
  if (flags.segment !== undefined) {
    const wanted = flags.segment.trim().toLowerCase();
    const found = SEGMENT_NAMES.find((s) => s.toLowerCase() === wanted);
    if (!found)
      throw new UsageError(
        `--segment: "${flags.segment}" is not a segment; expected one of ${SEGMENT_NAMES.map((s) => `"${s}"`).join(", ")}`,
      );
    out.segment = found;
  }
  if (flags.minSpend !== undefined) {
    const n = Number(flags.minSpend);
    if (!/^\d+(\.\d{1,2})?$/.test(flags.minSpend.trim()) || !Number.isFinite(n))
      throw new UsageError(`--min-spend: "${flags.minSpend}" is not an amount; expected e.g. 100 or 99.50`);
    out.minSpend = n;
  }
  for (const [flag, raw, key] of [
    ["--last-seen-before", flags.lastSeenBefore, "lastSeenBefore"],
    ["--last-seen-after", flags.lastSeenAfter, "lastSeenAfter"],
  ] as const) {
    if (raw === undefined) continue;
    const ms = parseTime(raw, false);
    if (ms === undefined)
      throw new UsageError(
        `${flag}: "${raw}" is not a time; expected YYYY-MM-DD, "YYYY-MM-DD HH:MM" (UTC) or ISO-8601 with Z or an offset`,
      );
    out[key] = ms;
  }
  if (
    out.lastSeenAfter !== undefined &&
    out.lastSeenBefore !== undefined &&
    out.lastSeenAfter >= out.lastSeenBefore
  )
    throw new UsageError("--last-seen-after must be before --last-seen-before");
  return out;
}

/**
 * The profiles query of `customers` (top N and export): the range, the targeting filter, and
 * --category/--brand as "bought at least once" (`purchased_categories` / `purchased_brands`, index
 * contract v2; `unknown` = bought something without one), not the top category/brand that the
 * other customer-level reports filter on.
 */
export function exportQuery(p: ReportParams, f: ExportFilter): Query {
  const { category, brand, ...range } = p;
  const base = profileQuery(range) as { bool: { filter: Query[]; must_not?: Query[] } };
  const filter = [...base.bool.filter];
  if (category !== undefined) filter.push({ term: { purchased_categories: category } });
  if (brand !== undefined) filter.push({ term: { purchased_brands: brand } });
  const mustNot = [...(base.bool.must_not ?? [])];
  if (f.segment === UNSCORED) {
    mustNot.push({ exists: { field: "segment" } });
  } else if (f.segment !== undefined) filter.push({ term: { segment: f.segment } });
  if (f.minSpend !== undefined) filter.push({ range: { total_spent: { gte: f.minSpend } } });
  const seen: Record<string, string> = {};
  if (f.lastSeenAfter !== undefined) seen.gte = iso(f.lastSeenAfter);
  if (f.lastSeenBefore !== undefined) seen.lt = iso(f.lastSeenBefore);
  if (Object.keys(seen).length > 0) filter.push({ range: { last_seen: seen } });
  return { bool: { filter, ...(mustNot.length > 0 ? { must_not: mustNot } : {}) } };
}

/** The columns of the export, in order: JSON keys and CSV headers. */
export const EXPORT_COLUMNS: Column[] = [
  { key: "user_id", label: "Customer", kind: "text" },
  { key: "segment", label: "Segment", kind: "text" },
  { key: "rfm_score", label: "RFM", kind: "text" },
  { key: "recency_days", label: "Recency (d)", kind: "int" },
  { key: "total_spent", label: "Spent", kind: "money" },
  { key: "purchases", label: "Purchases", kind: "int" },
  { key: "avg_order_value", label: "AOV", kind: "money" },
  { key: "views", label: "Views", kind: "int" },
  { key: "carts", label: "Carts", kind: "int" },
  { key: "sessions", label: "Sessions", kind: "int" },
  { key: "conversion_rate", label: "Conversion", kind: "pct" },
  { key: "top_category", label: "Top category", kind: "text" },
  { key: "top_brand", label: "Top brand", kind: "text" },
  { key: "first_seen", label: "First seen", kind: "date" },
  { key: "last_seen", label: "Last seen", kind: "date" },
  { key: "last_purchase_at", label: "Last purchase", kind: "date" },
];

export type ExportRow = Record<string, string | number | null>;

function rowOf(hit: Json): ExportRow {
  const s = hit._source ?? {};
  const row: ExportRow = {};
  for (const c of EXPORT_COLUMNS) {
    const v = c.key === "user_id" ? (s.user_id ?? hit._id) : s[c.key];
    row[c.key] = v === undefined || v === null ? null : typeof v === "number" ? v : String(v);
  }
  if (row.segment === null && Number(row.purchases) > 0) row.segment = UNSCORED;
  return row;
}

/** Every matching customer, page by page, in user id order. */
export async function* exportCustomers(
  source: ReportSource,
  p: ReportParams,
  f: ExportFilter,
  pageSize = 1000,
): AsyncGenerator<ExportRow[]> {
  for await (const hits of source.scan(
    "profiles",
    {
      query: exportQuery(p, f),
      sort: [{ user_id: "asc" }],
      _source: EXPORT_COLUMNS.map((c) => c.key),
    },
    "export customers",
    pageSize,
  ))
    yield hits.map(rowOf);
}

/** CSV lines of rows (the header first when asked), RFC 4180 with CRLF, raw values. */
export function csvLines(
  rows: readonly ExportRow[],
  header: boolean,
  columns: readonly Column[] = EXPORT_COLUMNS,
): string {
  const lines = header ? [columns.map((c) => c.key).join(",")] : [];
  for (const r of rows)
    lines.push(
      columns.map((c) => csvCell(rawCell(r[c.key] ?? null, c.kind), typeof r[c.key] === "number")).join(","),
    );
  return lines.length === 0 ? "" : `${lines.join("\r\n")}\r\n`;
}
