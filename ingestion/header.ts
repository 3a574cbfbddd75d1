import { CaplineError, UsageError } from "../core/errors.ts";

import { ROW_FIELDS, type RowField } from "../core/schema/events.ts";

export { ROW_FIELDS, type RowField };

/** Columns a file must have (DESIGN.md: these may never be empty either). */
export const REQUIRED_FIELDS: readonly RowField[] = [
  "event_time",
  "event_type",
  "product_id",
  "price",
  "user_id",
];

/** Column names understood without a mapping (compared trimmed and lower-cased). */
const ALIASES: Record<string, RowField> = {
  event_time: "event_time",
  timestamp: "event_time",
  event_type: "event_type",
  product_id: "product_id",
  category_id: "category_id",
  category_code: "category_code",
  brand: "brand",
  price: "price",
  user_id: "user_id",
  user_session: "user_session",
};

export type HeaderFormat = "rees46" | "short" | "mapped" | "custom";

export interface ColumnMap {
  /** For each canonical field, its column index in the file, or -1 when the file has no such column. */
  index: Record<RowField, number>;
  /** Number of columns of the header: every row must have exactly this many fields. */
  columns: number;
  format: HeaderFormat;
}

const REES46_HEADER = ROW_FIELDS.join(",");
const SHORT_HEADER = "user_id,event_type,product_id,price,timestamp";

/** Parses `--map csvColumn=field,...` into column name → canonical field. */
export function parseMapOption(raw: string): Map<string, RowField> {
  const out = new Map<string, RowField>();
  for (const pair of raw.split(",")) {
    const eq = pair.indexOf("=");
    const column = pair.slice(0, eq).trim().toLowerCase();
    const field = pair.slice(eq + 1).trim();
    if (eq <= 0 || column === "" || !(ROW_FIELDS as readonly string[]).includes(field)) {
      throw new UsageError(
        `--map: "${pair}" is not csvColumn=field; fields are ${ROW_FIELDS.join(", ")} (e.g. --map ts=event_time,uid=user_id)`,
      );
    }
    out.set(column, field as RowField);
  }
  return out;
}

/**
 * Maps a header row to the canonical fields: REES46 and the short form by name, anything else via
 * `--map` (a mapping wins over the built-in names). A header lacking a required column refuses the
 * whole file before anything is sent.
 */
export function resolveHeader(
  fields: readonly string[],
  fileName: string,
  map?: Map<string, RowField>,
): ColumnMap {
  const index = Object.fromEntries(ROW_FIELDS.map((f) => [f, -1])) as Record<RowField, number>;
  const names = fields.map((f) => f.trim().toLowerCase());
  const usedMapping = map !== undefined && names.some((n) => map.has(n));
  names.forEach((name, column) => {
    const field = map?.get(name) ?? ALIASES[name];
    if (field === undefined) return;
    if (index[field] !== -1) {
      throw new CaplineError(
        "INPUT_INVALID",
        `${fileName}: header maps two columns to ${field} (columns ${index[field] + 1} and ${column + 1}); fix the header or --map`,
      );
    }
    index[field] = column;
  });
  if (map) {
    const unknown = [...map.keys()].filter((c) => !names.includes(c));
    if (unknown.length > 0) {
      throw new UsageError(
        `--map names column(s) ${unknown.join(", ")} that ${fileName}'s header does not have (header: ${fields.join(",")})`,
      );
    }
  }
  const missing = REQUIRED_FIELDS.filter((f) => index[f] === -1);
  if (missing.length > 0) {
    throw new CaplineError(
      "INPUT_INVALID",
      `${fileName}: the header lacks required column(s) ${missing.join(", ")}; nothing was sent. ` +
        `Header found: "${fields.join(",")}". Expected the REES46 header (${REES46_HEADER}), ` +
        `the short form (${SHORT_HEADER}), or a mapping such as --map ts=event_time,uid=user_id`,
      { details: { file: fileName, missing } },
    );
  }
  const joined = names.join(",");
  const format: HeaderFormat = usedMapping
    ? "mapped"
    : joined === REES46_HEADER
      ? "rees46"
      : joined === SHORT_HEADER
        ? "short"
        : "custom";
  return { index, columns: fields.length, format };
}
