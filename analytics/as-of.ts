import { UsageError } from "../core/errors.ts";
import { UNKNOWN_KEY } from "../core/schema/events.ts";
import type { LakeColumn, LakeReader } from "../processing/lake-reader.ts";
import { NO_PURCHASE_SEGMENT, type RfmInput, scoreRfm } from "../processing/rfm.ts";
import type { ExportFilter, ExportRow } from "./export.ts";
import type { Column } from "./model.ts";
import type { ReportParams } from "./options.ts";
import { NoDataError } from "./source.ts";

/**
 * `report customers --all --as-of DATE`: every customer's RFM segment, scores and recency as they
 * were at the end of DATE (UTC), computed from the events of the lake up to that date only
 * (docs/reports.md, "RFM as of a date"). The profiles cannot answer it: they hold lifetime figures,
 * not a dated history, and the RFM job rescoring them moves every segment as new events arrive.
 *
 * The same definition as the RFM job (processing/rfm.ts, the one scoring function), applied to the
 * data as it stood: the purchasers among the customers seen by then, recency measured from the
 * newest event time up to the end of the date. So for the last day of the data it gives the
 * segments of the profiles, and an event dated after the date never changes the answer, however
 * late it arrives. An event dated on or before it that arrives later does: it belongs to the
 * history of that date (the answer is a function of the events with an event time up to the date).
 */

export interface AsOf {
  /** YYYY-MM-DD, UTC. */
  date: string;
  /** The end of that day: events before this instant count. */
  endMs: number;
}

const DAY_MS = 86_400_000;

/** Validates `--as-of`: a calendar date, `YYYY-MM-DD` (the end of that UTC day). */
export function parseAsOf(raw: string): AsOf {
  const text = raw.trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== text)
    throw new UsageError(
      `--as-of: "${raw}" is not a date; expected YYYY-MM-DD (segments as of the end of that UTC day), e.g. 2019-10-15`,
    );
  return { date: text, endMs: ms + DAY_MS };
}

/** The columns of the export as of a date: every figure is as of that date (JSON keys, CSV header). */
export const AS_OF_COLUMNS: Column[] = [
  { key: "user_id", label: "Customer", kind: "text" },
  { key: "segment", label: "Segment", kind: "text" },
  { key: "rfm_score", label: "RFM", kind: "text" },
  { key: "r", label: "R", kind: "int" },
  { key: "f", label: "F", kind: "int" },
  { key: "m", label: "M", kind: "int" },
  { key: "recency_days", label: "Recency (d)", kind: "int" },
  { key: "total_spent", label: "Spent", kind: "money" },
  { key: "purchases", label: "Purchases", kind: "int" },
  { key: "avg_order_value", label: "AOV", kind: "money" },
  { key: "views", label: "Views", kind: "int" },
  { key: "carts", label: "Carts", kind: "int" },
  { key: "conversion_rate", label: "Conversion", kind: "pct" },
  { key: "first_seen", label: "First seen", kind: "date" },
  { key: "last_seen", label: "Last seen", kind: "date" },
  { key: "last_purchase_at", label: "Last purchase", kind: "date" },
];

/** One customer's history up to the date. Money in integer cents, times in epoch ms. */
interface Acc {
  first: number;
  last: number;
  views: number;
  carts: number;
  purchases: number;
  cents: number;
  lastPurchase: number;
  /** Bought the --category / --brand asked, by then. */
  boughtCategory: boolean;
  boughtBrand: boolean;
}

export interface AsOfResult {
  rows: ExportRow[];
  /** The newest event time up to the end of the date: what recency is measured from (ISO). */
  recencyFrom: string;
  /** Lake rows read, and UTC days. */
  lakeRows: number;
  days: number;
}

/** Every customer seen by the end of `asOf`, with RFM as of then, filtered, in user id order. */
export async function asOfCustomers(
  reader: LakeReader,
  asOf: AsOf,
  p: ReportParams,
  f: ExportFilter,
): Promise<AsOfResult> {
  const days = await reader.days();
  const firstDay = days[0];
  const lastDay = days[days.length - 1];
  if (firstDay === undefined || lastDay === undefined)
    throw new NoDataError(`the lake (${reader.store.name}) holds no events of ${reader.topic}`);
  if (asOf.date < firstDay || asOf.date > lastDay)
    throw new UsageError(
      `--as-of ${asOf.date}: outside the data, which covers ${firstDay} to ${lastDay} (UTC event dates in the lake); give a date in that range`,
    );
  const columns: LakeColumn[] = ["user_id", "event_type", "event_time", "price"];
  if (p.category !== undefined) columns.push("category_code");
  if (p.brand !== undefined) columns.push("brand");

  const people = new Map<string, Acc>();
  let newest = Number.NEGATIVE_INFINITY;
  let lakeRows = 0;
  const read = days.filter((d) => d <= asOf.date);
  for (const dt of read)
    for await (const rows of reader.rows(dt, columns)) {
      for (const row of rows) {
        const ms = Number(row.event_time);
        // dt is the UTC date of the event time, so every row of these days is before the end.
        if (!(ms < asOf.endMs)) continue;
        lakeRows++;
        const user = String(row.user_id);
        let a = people.get(user);
        if (!a) {
          a = {
            first: ms,
            last: ms,
            views: 0,
            carts: 0,
            purchases: 0,
            cents: 0,
            lastPurchase: Number.NEGATIVE_INFINITY,
            boughtCategory: false,
            boughtBrand: false,
          };
          people.set(user, a);
        }
        if (ms < a.first) a.first = ms;
        if (ms > a.last) a.last = ms;
        if (ms > newest) newest = ms;
        if (row.event_type === "view") a.views++;
        else if (row.event_type === "cart") a.carts++;
        else if (row.event_type === "purchase") {
          a.purchases++;
          a.cents += Math.round(Number(row.price) * 100);
          if (ms > a.lastPurchase) a.lastPurchase = ms;
          if (p.category !== undefined && (row.category_code ?? UNKNOWN_KEY) === p.category)
            a.boughtCategory = true;
          if (p.brand !== undefined && (row.brand ?? UNKNOWN_KEY) === p.brand) a.boughtBrand = true;
        }
      }
    }

  const buyers: RfmInput[] = [];
  for (const [user, a] of people)
    if (a.purchases > 0)
      buyers.push({
        user_id: user,
        lastPurchaseMs: a.lastPurchase,
        frequency: a.purchases,
        monetaryCents: a.cents,
      });
  const scores = new Map(scoreRfm(buyers, newest).map((s) => [s.user_id, s]));

  const minCents = f.minSpend === undefined ? undefined : Math.round(f.minSpend * 100);
  const iso = (ms: number) => new Date(ms).toISOString();
  const rows: ExportRow[] = [];
  for (const user of [...people.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))) {
    const a = people.get(user) as Acc;
    if (p.to !== undefined && !(a.first < p.to)) continue;
    if (p.from !== undefined && !(a.last >= p.from)) continue;
    if (p.category !== undefined && !a.boughtCategory) continue;
    if (p.brand !== undefined && !a.boughtBrand) continue;
    if (minCents !== undefined && a.cents < minCents) continue;
    if (f.lastSeenBefore !== undefined && !(a.last < f.lastSeenBefore)) continue;
    if (f.lastSeenAfter !== undefined && !(a.last >= f.lastSeenAfter)) continue;
    const s = scores.get(user);
    const segment = s ? s.segment : NO_PURCHASE_SEGMENT;
    if (f.segment !== undefined && segment !== f.segment) continue;
    rows.push({
      user_id: user,
      segment,
      rfm_score: s?.rfm_score ?? null,
      r: s?.r ?? null,
      f: s?.f ?? null,
      m: s?.m ?? null,
      recency_days: s?.recency_days ?? null,
      total_spent: a.cents / 100,
      purchases: a.purchases,
      avg_order_value: a.purchases === 0 ? 0 : Math.round(a.cents / a.purchases) / 100,
      views: a.views,
      carts: a.carts,
      conversion_rate: a.views === 0 ? 0 : a.purchases / a.views,
      first_seen: iso(a.first),
      last_seen: iso(a.last),
      last_purchase_at: a.purchases === 0 ? null : iso(a.lastPurchase),
    });
  }
  return { rows, recencyFrom: iso(newest), lakeRows, days: read.length };
}
