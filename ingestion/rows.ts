import { hash } from "node:crypto";
import type { IngestBounds } from "../core/config/index.ts";
import type { CaplineEvent, EventType, RejectedRow, RejectReason } from "../core/schema/events.ts";
import { REJECT_REASONS } from "../core/schema/reasons.ts";
import { type CsvRecord, DEFAULT_MAX_LINE_CHARS, MAX_RAW_CHARS } from "./csv-parser.ts";
import { type ColumnMap, ROW_FIELDS, type RowField } from "./header.ts";
import { parseTimestamp } from "./timestamp.ts";
import { invalidAt, showInvalid } from "./utf8.ts";

/**
 * Row rules of DESIGN.md ("Events"), applied in this order: malformed_row (quoting, line limit,
 * invalid UTF-8 or NUL, field count), missing_field, bad_timestamp (form, then the accepted
 * window), bad_event_type, bad_price (form, then the maximum), id_too_long, event_too_large. The
 * first rule a row breaks is its reason (core/schema/reasons.ts lists them). Accepted rows are then
 * checked against the duplicate window.
 */

/** The bounds a validator applies, resolved for one run (structured-cloneable: sent to the worker). */
export interface RowLimits {
  maxPrice: number;
  /** ISO-8601 UTC with milliseconds, as parseTimestamp writes them: compared as strings. */
  eventTimeMin: string;
  eventTimeMax: string;
  maxIdBytes: number;
  maxEventBytes: number;
  maxLineChars: number;
}

/** The defaults of core/config (INGEST_*), for code that has no configuration at hand (tests). */
export const DEFAULT_BOUNDS: IngestBounds = {
  maxPrice: 999_999_999_999.99,
  eventTimeMin: { iso: "1990-01-01T00:00:00.000Z" },
  eventTimeMax: { nowPlusMs: 86_400_000 },
  maxIdBytes: 256,
  maxEventBytes: 102_400,
  maxLineChars: DEFAULT_MAX_LINE_CHARS,
};

/** The bounds of a run: relative event-time bounds count from `now` (the run's start). */
export function rowLimits(bounds: IngestBounds = DEFAULT_BOUNDS, now: number = Date.now()): RowLimits {
  const at = (b: IngestBounds["eventTimeMin"]) =>
    "iso" in b ? new Date(b.iso).toISOString() : new Date(now + b.nowPlusMs).toISOString();
  return {
    maxPrice: bounds.maxPrice,
    eventTimeMin: at(bounds.eventTimeMin),
    eventTimeMax: at(bounds.eventTimeMax),
    maxIdBytes: bounds.maxIdBytes,
    maxEventBytes: bounds.maxEventBytes,
    maxLineChars: bounds.maxLineChars,
  };
}

/** A value quoted in a detail: long ones are cut, so a detail stays a sentence. */
function shown(value: string): string {
  const v = value.length > 64 ? `${value.slice(0, 64)}… (${value.length} characters)` : value;
  return showInvalid(v);
}

/** UTF-8 length above `max`? Without measuring when even 3 bytes per UTF-16 unit fit. */
function overBytes(value: string, max: number): boolean {
  return value.length * 3 > max && Buffer.byteLength(value) > max;
}

/** Where a row's text holds invalid UTF-8 or a NUL, as a detail; undefined when it holds neither. */
function badCharacters(raw: string): string | undefined {
  const invalid = invalidAt(raw);
  if (invalid !== -1) return `invalid UTF-8 at character ${invalid + 1} (shown as U+FFFD)`;
  const nul = raw.indexOf("\0");
  if (nul !== -1) return `a NUL byte at character ${nul + 1}`;
  return undefined;
}

/** Says in a refused row's detail that its raw text is not the whole row. */
const RAW_CUT_NOTE = "raw text cut to its first ";

/** Whether a refused row's raw text was cut (it cannot be validated again: `capline dlq replay`). */
export function rawWasCut(row: Pick<RejectedRow, "raw" | "detail">): boolean {
  return row.raw.length >= MAX_RAW_CHARS && row.detail.includes(`(${RAW_CUT_NOTE}${MAX_RAW_CHARS} of `);
}

export type RowOutcome =
  | { kind: "event"; event: CaplineEvent; value: string }
  | { kind: "reject"; row: RejectedRow }
  | { kind: "duplicate"; line: number; event_id: string };

export interface RowCounts {
  rows: number;
  sent: number;
  rejected: number;
  duplicates: number;
  rejectedByReason: Record<RejectReason, number>;
}

export function emptyCounts(): RowCounts {
  return {
    rows: 0,
    sent: 0,
    rejected: 0,
    duplicates: 0,
    rejectedByReason: Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>,
  };
}

const EVENT_TYPES = new Set<string>(["view", "cart", "remove_from_cart", "purchase"]);

/**
 * `JSON.stringify(s)` for a string, without the serializer when nothing needs escaping (no quote,
 * backslash, control character or surrogate): the common case, a million times per file.
 */
export function jsonString(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return `"${s}"`;
}

/**
 * A price: digits, optionally a dot and digits (`12`, `12.5`, `0.99`). Refused: a sign (negative
 * prices are refused, and `+` is not how exports write prices), exponents, a decimal comma,
 * currency symbols, spaces, `.5` and `5.`, NaN and Infinity.
 */
export function parsePrice(text: string, maxPrice: number = DEFAULT_BOUNDS.maxPrice): number | string {
  const n = text.length;
  let dot = -1;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) continue;
    if (c === 46 && dot === -1 && i > 0 && i < n - 1) {
      dot = i;
      continue;
    }
    if (c === 45 && i === 0) return `negative price "${shown(text)}"`;
    return `price "${shown(text)}" is not a decimal number such as 12.99`;
  }
  const value = Number(text);
  // Above the maximum (INGEST_MAX_PRICE, at most 2^53 cents): its cents would not be exact, and
  // `1` with 307 zeros would be Infinity cents, written as null over a day's revenue.
  if (!(value <= maxPrice))
    return `price "${shown(text)}" is above the maximum ${maxPrice} (INGEST_MAX_PRICE)`;
  return value;
}

/**
 * The event id: the first 128 bits (hex) of sha1 over the row's canonical text: its field values
 * in the REES46 order (absent columns empty), written as a minimal RFC 4180 line (a value is
 * quoted only if it holds a comma, quote or line break). For an unquoted REES46 row that text is
 * the row itself. The id depends on the row's content only, so the same row gets the same id on a
 * resumed run, a --force re-ingest, in a renamed or re-compressed copy of the file, in another
 * export holding the same row, whatever the column order; exact duplicate rows share it (that is
 * how they are recognised).
 */
export function canonicalRow(values: readonly string[]): string {
  let out = "";
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as string;
    if (i > 0) out += ",";
    out += /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
  }
  return out;
}

export function eventIdOf(canonical: string): string {
  return hash("sha1", canonical, "hex").slice(0, 32);
}

/** Remembers the ids of the last `size` accepted rows (a ring + a set: bounded memory). */
export class DuplicateWindow {
  private readonly ring: (string | undefined)[];
  private readonly seen = new Set<string>();
  private next = 0;

  constructor(readonly size: number) {
    this.ring = new Array<string | undefined>(Math.max(0, size));
  }

  /** True when `id` is among the remembered ones; otherwise remembers it. */
  check(id: string): boolean {
    if (this.size <= 0) return false;
    if (this.seen.has(id)) return true;
    const evicted = this.ring[this.next];
    if (evicted !== undefined) this.seen.delete(evicted);
    this.ring[this.next] = id;
    this.seen.add(id);
    this.next = (this.next + 1) % this.size;
    return false;
  }
}

/**
 * Default duplicate window. REES46 duplicates sit next to their original (same second, usually the
 * next line); 20,000 rows covers hours of a busy shop's traffic for about 1.5 MB of ids.
 */
export const DEFAULT_DUPLICATE_WINDOW = 20_000;

export class RowValidator {
  readonly counts: RowCounts = emptyCounts();
  private readonly window: DuplicateWindow;
  private readonly idx: number[];
  /** The file's columns are the canonical ones in the canonical order (REES46): no remapping. */
  private readonly identity: boolean;
  private readonly fileJson: string;

  /**
   * Check every row for invalid UTF-8 and NUL bytes: the chunker turns it on once the decoder saw
   * either (ingestion/utf8.ts), so a clean file never pays for the scan.
   */
  checkCharacters = false;

  constructor(
    private readonly columns: ColumnMap,
    private readonly fileName: string,
    duplicateWindow = DEFAULT_DUPLICATE_WINDOW,
    private readonly limits: RowLimits = rowLimits(),
  ) {
    this.window = new DuplicateWindow(duplicateWindow);
    this.idx = ROW_FIELDS.map((f) => columns.index[f]);
    this.identity = columns.columns === ROW_FIELDS.length && this.idx.every((i, k) => i === k);
    this.fileJson = JSON.stringify(fileName);
  }

  /**
   * A refused row. Its raw text is kept up to MAX_RAW_CHARS characters (a DLQ record must stay
   * far below the broker's message limit whatever the row), invalid bytes shown as U+FFFD.
   */
  private reject(record: CsvRecord, reason: RejectReason, detail: string): RowOutcome {
    this.counts.rejected++;
    this.counts.rejectedByReason[reason]++;
    let raw = record.raw;
    let why = detail;
    if (raw.length > MAX_RAW_CHARS) {
      why += ` (${RAW_CUT_NOTE}${MAX_RAW_CHARS} of ${raw.length} characters)`;
      raw = raw.slice(0, MAX_RAW_CHARS);
    }
    if (this.checkCharacters) raw = showInvalid(raw);
    return { kind: "reject", row: { file: this.fileName, line: record.line, raw, reason, detail: why } };
  }

  /** Classifies one record and updates the counts. */
  process(record: CsvRecord): RowOutcome {
    this.counts.rows++;
    if (record.broken !== undefined) return this.reject(record, "malformed_row", record.broken);
    if (this.checkCharacters) {
      const bad = badCharacters(record.raw);
      if (bad !== undefined) return this.reject(record, "malformed_row", bad);
    }
    const f = record.fields;
    if (f.length !== this.columns.columns) {
      return this.reject(
        record,
        "malformed_row",
        `${f.length} field(s) where the header has ${this.columns.columns}`,
      );
    }
    let values = f;
    if (!this.identity) {
      values = new Array(9);
      for (let k = 0; k < 9; k++) {
        const i = this.idx[k] as number;
        values[k] = i < 0 ? "" : (f[i] as string);
      }
    }
    // Indexed reads: array destructuring goes through the iterator protocol, a million times.
    const eventTime = values[0] as string;
    const eventType = values[1] as string;
    const productId = values[2] as string;
    const categoryId = values[3] as string;
    const categoryCode = values[4] as string;
    const brand = values[5] as string;
    const price = values[6] as string;
    const userId = values[7] as string;
    const userSession = values[8] as string;
    if (eventTime === "" || eventType === "" || productId === "" || userId === "" || price === "") {
      const empty = ["event_time", "event_type", "product_id", "user_id", "price"].filter(
        (name) => values[ROW_FIELDS.indexOf(name as RowField)] === "",
      );
      return this.reject(record, "missing_field", `empty ${empty.join(", ")}`);
    }
    const limits = this.limits;
    const time = parseTimestamp(eventTime);
    if (!time.ok)
      return this.reject(record, "bad_timestamp", `event_time "${shown(eventTime)}": ${time.problem}`);
    // ISO strings of years 0001-9999 in one form: their order is the order of the times.
    if (time.iso < limits.eventTimeMin)
      return this.reject(
        record,
        "bad_timestamp",
        `event_time "${shown(eventTime)}" is before ${limits.eventTimeMin} (INGEST_EVENT_TIME_MIN)`,
      );
    if (time.iso > limits.eventTimeMax)
      return this.reject(
        record,
        "bad_timestamp",
        `event_time "${shown(eventTime)}" is after ${limits.eventTimeMax} (INGEST_EVENT_TIME_MAX)`,
      );
    if (!EVENT_TYPES.has(eventType)) {
      return this.reject(
        record,
        "bad_event_type",
        `event_type "${shown(eventType)}" is not view, cart, remove_from_cart or purchase`,
      );
    }
    const priceValue = parsePrice(price, limits.maxPrice);
    if (typeof priceValue === "string") return this.reject(record, "bad_price", priceValue);
    const max = limits.maxIdBytes;
    if (
      overBytes(userId, max) ||
      overBytes(productId, max) ||
      overBytes(categoryId, max) ||
      overBytes(userSession, max)
    ) {
      const long = (["user_id", "product_id", "category_id", "user_session"] as const).filter((name) =>
        overBytes(values[ROW_FIELDS.indexOf(name)] as string, max),
      );
      return this.reject(
        record,
        "id_too_long",
        `${long.map((name) => `${name} of ${Buffer.byteLength(values[ROW_FIELDS.indexOf(name)] as string)} bytes`).join(", ")} over the limit of ${max} bytes (INGEST_MAX_ID_BYTES)`,
      );
    }

    // The raw line is already canonical when it holds no quote and the columns are REES46's.
    const canonical =
      this.columns.format === "rees46" && record.raw.indexOf('"') === -1 ? record.raw : canonicalRow(values);
    const eventId = eventIdOf(canonical);
    // Built by hand: measurably faster than JSON.stringify(event) at a million rows.
    const value =
      `{"event_id":"${eventId}","event_time":"${time.iso}","event_type":"${eventType}",` +
      `"product_id":${jsonString(productId)},"category_id":${jsonString(categoryId)},` +
      `"category_code":${categoryCode === "" ? "null" : jsonString(categoryCode)},` +
      `"brand":${brand === "" ? "null" : jsonString(brand)},"price":${priceValue},` +
      `"user_id":${jsonString(userId)},"user_session":${jsonString(userSession)},` +
      `"source":{"file":${this.fileJson},"line":${record.line}}}`;
    // Before the duplicate window: a refused row is never remembered, nor its copies counted.
    if (overBytes(value, limits.maxEventBytes))
      return this.reject(
        record,
        "event_too_large",
        `the event would take ${Buffer.byteLength(value)} bytes, over the limit of ${limits.maxEventBytes} (INGEST_MAX_EVENT_BYTES)`,
      );
    if (this.window.check(eventId)) {
      this.counts.duplicates++;
      return { kind: "duplicate", line: record.line, event_id: eventId };
    }
    this.counts.sent++;
    const event: CaplineEvent = {
      event_id: eventId,
      event_time: time.iso,
      event_type: eventType as EventType,
      product_id: productId,
      category_id: categoryId,
      category_code: categoryCode === "" ? null : categoryCode,
      brand: brand === "" ? null : brand,
      price: priceValue,
      user_id: userId,
      user_session: userSession,
      source: { file: this.fileName, line: record.line },
    };
    return { kind: "event", event, value };
  }
}
