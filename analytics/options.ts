import { UsageError } from "../core/errors.ts";
import { didYouMean } from "../core/text.ts";

/**
 * Report options, parsed and validated once. Times are event times, UTC. `from` is inclusive and
 * `to` exclusive; a date-only `--to` means "through the end of that day", as analysts say it.
 */

export const REPORT_NAMES = [
  "overview",
  "revenue",
  "funnel",
  "segments",
  "customers",
  "products",
  "categories",
  "brands",
  "cohorts",
  "hourly",
] as const;
export type ReportName = (typeof REPORT_NAMES)[number];

export const FORMATS = ["table", "json", "csv", "md", "html"] as const;
export type Format = (typeof FORMATS)[number];

export const REVENUE_BY = ["hour", "day", "week", "month"] as const;
export type RevenueBy = (typeof REVENUE_BY)[number];

export const SPLITS = ["category", "brand", "product"] as const;
export type Split = (typeof SPLITS)[number];

/** Profile fields `customers --metric` can rank by (numeric, indexed). */
export const CUSTOMER_METRICS = [
  "total_spent",
  "purchases",
  "views",
  "carts",
  "sessions",
  "avg_order_value",
  "conversion_rate",
  "active_week_count",
] as const;
export type CustomerMetric = (typeof CUSTOMER_METRICS)[number];

/** What leaderboards (`products`, `categories`, `brands`) can be ordered by. */
export const LEADERBOARD_SORTS = ["revenue", "purchases", "views", "carts"] as const;
export type LeaderboardSort = (typeof LEADERBOARD_SORTS)[number];

export interface ReportParams {
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  to?: number;
  top: number;
  category?: string;
  brand?: string;
  by: RevenueBy;
  split?: Split;
  metric: CustomerMetric;
  sort: LeaderboardSort;
  /** overview: compare with the previous period of the same length. */
  compare: Compare;
  /** customers: --segment, --min-spend, --last-seen-before/after (analytics/export.ts). */
  targeting?: {
    segment?: string;
    minSpend?: number;
    lastSeenBefore?: number;
    lastSeenAfter?: number;
  };
}

export interface RawReportFlags {
  from?: string;
  to?: string;
  top?: number;
  category?: string;
  brand?: string;
  by?: string;
  split?: string;
  metric?: string;
  sort?: string;
  compare?: string;
}

export const COMPARE = ["previous", "none"] as const;
export type Compare = (typeof COMPARE)[number];

export const DEFAULT_TOP = 10;
const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?(?: ?(Z|UTC|[+-]\d{2}:?\d{2}))?$/;

/**
 * Parses a `--from`/`--to` value to epoch ms (UTC). Accepted: `YYYY-MM-DD`, `YYYY-MM-DD HH[:MM[:SS]]`
 * (UTC, as the event files write it), ISO-8601 with `Z` or an offset. `end` = the value is an
 * upper bound: a date-only value then means the end of that day. Returns undefined if invalid.
 */
export function parseTime(raw: string, end = false): number | undefined {
  const text = raw.trim();
  const d = DATE_ONLY.exec(text);
  if (d) {
    const ms = Date.UTC(Number(d[1]), Number(d[2]) - 1, Number(d[3]));
    if (!sameCalendar(ms, Number(d[1]), Number(d[2]), Number(d[3]))) return undefined;
    return end ? ms + MS_PER_DAY : ms;
  }
  const t = DATE_TIME.exec(text);
  if (!t) return undefined;
  const [y, mo, da, h, mi, s, frac, zone] = [
    Number(t[1]),
    Number(t[2]),
    Number(t[3]),
    Number(t[4]),
    Number(t[5] ?? 0),
    Number(t[6] ?? 0),
    Number((t[7] ?? "0").padEnd(3, "0")),
    t[8],
  ];
  if (h > 23 || mi > 59 || s > 59) return undefined;
  const local = Date.UTC(y, mo - 1, da, h, mi, s, frac);
  if (!sameCalendar(local, y, mo, da)) return undefined;
  let offsetMin = 0;
  if (zone && zone !== "Z" && zone !== "UTC") {
    const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
    if (!m) return undefined;
    const hours = Number(m[2]);
    const minutes = Number(m[3]);
    if (hours > 23 || minutes > 59) return undefined;
    offsetMin = (m[1] === "-" ? -1 : 1) * (hours * 60 + minutes);
  }
  return local - offsetMin * 60_000;
}

function sameCalendar(ms: number, y: number, m: number, d: number): boolean {
  const date = new Date(ms);
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function oneOf<T extends string>(
  flag: string,
  raw: string | undefined,
  values: readonly T[],
  fallback: T,
): T {
  if (raw === undefined) return fallback;
  if ((values as readonly string[]).includes(raw)) return raw as T;
  throw new UsageError(`${flag}: "${raw}" is not valid; expected one of ${values.join(", ")}`);
}

export function parseReportName(raw: string): ReportName | "all" {
  if (raw === "all" || (REPORT_NAMES as readonly string[]).includes(raw)) return raw as ReportName | "all";
  const guess = didYouMean(raw, [...REPORT_NAMES, "all"]);
  throw new UsageError(
    `unknown report "${raw}"${guess ? ` (did you mean ${guess}?)` : ""}; valid reports: ${REPORT_NAMES.join(", ")}, all`,
  );
}

/** Validates the flags; every message names the flag at fault and what it accepts. */
export function parseParams(flags: RawReportFlags): ReportParams {
  const params: ReportParams = {
    top: flags.top ?? DEFAULT_TOP,
    by: oneOf("--by", flags.by, REVENUE_BY, "day"),
    metric: oneOf("--metric", flags.metric, CUSTOMER_METRICS, "total_spent"),
    sort: oneOf("--sort", flags.sort, LEADERBOARD_SORTS, "revenue"),
    compare: oneOf("--compare", flags.compare, COMPARE, "previous"),
  };
  if (flags.split !== undefined) params.split = oneOf("--split", flags.split, SPLITS, "category");
  for (const [flag, raw, end] of [
    ["--from", flags.from, false],
    ["--to", flags.to, true],
  ] as const) {
    if (raw === undefined) continue;
    const ms = parseTime(raw, end);
    if (ms === undefined)
      throw new UsageError(
        `${flag}: "${raw}" is not a time; expected YYYY-MM-DD, "YYYY-MM-DD HH:MM" (UTC) or ISO-8601 with Z or an offset`,
      );
    // The aggregates are hourly at their finest: a bound inside an hour cannot be honoured exactly.
    if (ms % MS_PER_HOUR !== 0)
      throw new UsageError(
        `${flag}: "${raw}" is not on a whole UTC hour; the sales aggregates are hourly, so give e.g. ${new Date(ms - (ms % MS_PER_HOUR)).toISOString()}`,
      );
    if (flag === "--from") params.from = ms;
    else params.to = ms;
  }
  if (params.from !== undefined && params.to !== undefined && params.from >= params.to)
    throw new UsageError(
      `--from ${new Date(params.from).toISOString()} is not before --to ${new Date(params.to).toISOString()} (--to is exclusive; a date-only --to includes that day)`,
    );
  if (flags.category !== undefined) {
    if (flags.category.trim() === "")
      throw new UsageError("--category: empty; give a category_code or unknown");
    params.category = flags.category;
  }
  if (flags.brand !== undefined) {
    if (flags.brand.trim() === "") throw new UsageError("--brand: empty; give a brand or unknown");
    params.brand = flags.brand;
  }
  return params;
}

/** Whether both bounds fall on UTC midnights, so the daily aggregates can answer. */
export function dayAligned(params: Pick<ReportParams, "from" | "to">): boolean {
  return (
    (params.from === undefined || params.from % MS_PER_DAY === 0) &&
    (params.to === undefined || params.to % MS_PER_DAY === 0)
  );
}
