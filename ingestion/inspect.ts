import { CaplineError } from "../core/errors.ts";
import type { RejectedRow } from "../core/schema/events.ts";
import { CsvParser, type CsvRecord } from "./csv-parser.ts";
import { type ColumnMap, parseMapOption, ROW_FIELDS, resolveHeader } from "./header.ts";
import { describeSource, openText } from "./input.ts";
import { DEFAULT_DUPLICATE_WINDOW, type RowCounts, type RowLimits, RowValidator, rowLimits } from "./rows.ts";

/**
 * `capline inspect`: the data-quality profile of an input, without sending anything. The rows go
 * through the ingester's own parser, header resolution and validator (the same classes `ingest`
 * runs, so every count equals what `ingest` reports for the file), and the accepted events are
 * profiled on the way: types, days, customers, sessions, empty brands and category codes, zero and
 * negative prices.
 */

export interface InspectOptions {
  /** The raw --map option, as for ingest. */
  map?: string;
  /** Examples kept per refusal reason. @defaultValue 3 */
  examples?: number;
  /** Rows remembered for duplicate detection, as for ingest. @defaultValue DEFAULT_DUPLICATE_WINDOW */
  duplicateWindow?: number;
  /** Called every so often with the rows and bytes read (the progress bar). */
  onProgress?: (rows: number, bytes: number) => void;
  /** The row bounds in force (INGEST_*), as for ingest. @defaultValue rowLimits() */
  limits?: RowLimits;
}

export interface RejectExample {
  line: number;
  detail: string;
  raw: string;
}

export interface FileProfile {
  file: string;
  /** How the header was read: rees46, short, mapped or custom. */
  format: string;
  /** The file's column behind each canonical field (null: the file has none). */
  mapping: Record<string, string | null>;
  counts: RowCounts;
  /** The first examples of each refusal reason, with their lines. */
  examples: Record<string, RejectExample[]>;
  /** Over the accepted events. */
  events: {
    by_type: Record<string, number>;
    by_day: Record<string, number>;
    first_event_time: string | null;
    last_event_time: string | null;
    customers: number;
    sessions: number;
    empty_brand: number;
    empty_category_code: number;
    zero_price: number;
  };
  /** Rows refused because their price was negative (part of bad_price). */
  negative_prices: number;
  blank_lines: number;
  bytes: number;
  seconds: number;
  rows_per_second: number;
}

/** Text handed to the parser at a time, as the ingester does (ingestion/chunker.ts). */
const PIECE_CHARS = 64 * 1024;

/** Profiles one file (or `-` for stdin). */
export async function inspectFile(path: string, options: InspectOptions = {}): Promise<FileProfile> {
  const started = performance.now();
  const source = describeSource(path);
  const text = openText(source);
  const limits = options.limits ?? rowLimits();
  const parser = new CsvParser(limits.maxLineChars);
  const map = options.map === undefined ? undefined : parseMapOption(options.map);
  const keep = options.examples ?? 3;
  let header: string[] | undefined;
  let columns: ColumnMap | undefined;
  let validator: RowValidator | undefined;
  const examples: Record<string, RejectExample[]> = {};
  const byType: Record<string, number> = {};
  const byDay: Record<string, number> = {};
  const customers = new Set<string>();
  const sessions = new Set<string>();
  let first: string | null = null;
  let last: string | null = null;
  let emptyBrand = 0;
  let emptyCategory = 0;
  let zeroPrice = 0;
  let negative = 0;

  const onReject = (row: RejectedRow) => {
    const list = examples[row.reason] ?? [];
    examples[row.reason] = list;
    if (list.length < keep) list.push({ line: row.line, detail: row.detail, raw: row.raw });
    if (row.reason === "bad_price" && row.detail.startsWith("negative price")) negative++;
  };

  const onRecord = (record: CsvRecord) => {
    if (!validator) {
      if (record.broken !== undefined)
        throw new CaplineError(
          "INPUT_INVALID",
          `${source.name}: the header row is unreadable (${record.broken})`,
        );
      header = record.fields;
      columns = resolveHeader(record.fields, source.name, map);
      parser.setExpectedFields(columns.columns);
      validator = new RowValidator(
        columns,
        source.name,
        options.duplicateWindow ?? DEFAULT_DUPLICATE_WINDOW,
        limits,
      );
      // Rows are checked for invalid UTF-8 and NUL only once the decoder has seen any (as ingest).
      validator.checkCharacters = text.suspect();
      return;
    }
    const outcome = validator.process(record);
    if (outcome.kind === "reject") onReject(outcome.row);
    if (outcome.kind !== "event") return;
    const e = outcome.event;
    byType[e.event_type] = (byType[e.event_type] ?? 0) + 1;
    const day = e.event_time.slice(0, 10);
    byDay[day] = (byDay[day] ?? 0) + 1;
    if (first === null || e.event_time < first) first = e.event_time;
    if (last === null || e.event_time > last) last = e.event_time;
    customers.add(e.user_id);
    if (e.user_session !== "") sessions.add(e.user_session);
    if (e.brand === null) emptyBrand++;
    if (e.category_code === null) emptyCategory++;
    if (e.price === 0) zeroPrice++;
  };

  let lastReport = 0;
  for await (const chunk of text.chunks) {
    for (let at = 0; at < chunk.length; at += PIECE_CHARS) {
      const piece = at === 0 && chunk.length <= PIECE_CHARS ? chunk : chunk.slice(at, at + PIECE_CHARS);
      for (const record of parser.push(piece)) onRecord(record);
    }
    if (validator && !validator.checkCharacters && text.suspect()) validator.checkCharacters = true;
    const now = performance.now();
    if (options.onProgress && now - lastReport > 200) {
      lastReport = now;
      options.onProgress(validator?.counts.rows ?? 0, text.bytesRead());
    }
  }
  for (const record of parser.end()) onRecord(record);
  if (!validator || !columns || !header)
    throw new CaplineError("INPUT_INVALID", `${source.name}: the file is empty (no header row)`);
  const names = header;
  const index = columns.index;
  const seconds = (performance.now() - started) / 1000;
  // Every reason the validator counts, in its own order (examples only where some were refused).
  const counts = structuredClone(validator.counts);
  return {
    file: source.name,
    format: columns.format,
    mapping: Object.fromEntries(ROW_FIELDS.map((f) => [f, index[f] >= 0 ? (names[index[f]] ?? null) : null])),
    counts,
    examples: Object.fromEntries(
      Object.keys(counts.rejectedByReason)
        .filter((reason) => examples[reason] !== undefined)
        .map((reason) => [reason, examples[reason] ?? []]),
    ),
    events: {
      by_type: byType,
      by_day: Object.fromEntries(Object.entries(byDay).sort(([a], [b]) => a.localeCompare(b))),
      first_event_time: first,
      last_event_time: last,
      customers: customers.size,
      sessions: sessions.size,
      empty_brand: emptyBrand,
      empty_category_code: emptyCategory,
      zero_price: zeroPrice,
    },
    negative_prices: negative,
    blank_lines: parser.blankLines,
    bytes: text.bytesRead(),
    seconds: Math.round(seconds * 1000) / 1000,
    rows_per_second: seconds > 0 ? Math.round(counts.rows / seconds) : 0,
  };
}

/** The profile as `--json` prints it: snake_case throughout. */
export function profileJson(p: FileProfile): Record<string, unknown> {
  return {
    file: p.file,
    format: p.format,
    mapping: p.mapping,
    rows: p.counts.rows,
    accepted: p.counts.sent,
    rejected: p.counts.rejected,
    rejected_by_reason: p.counts.rejectedByReason,
    duplicates: p.counts.duplicates,
    examples: p.examples,
    events: p.events,
    negative_prices: p.negative_prices,
    blank_lines: p.blank_lines,
    bytes: p.bytes,
    seconds: p.seconds,
    rows_per_second: p.rows_per_second,
  };
}
