import type { Cell, Column, ColumnKind, Row, Table } from "../model.ts";

/** How people read the numbers: the currency amounts are in (ISO 4217), none → plain numbers. */
export interface DisplayOptions {
  currency?: string | null;
}

const currencies = new Map<string, Intl.NumberFormat>();

/** An amount as people read it: `€1,234.50` with a currency, `1,234.50` without. */
export function money(value: number, currency?: string | null): string {
  if (!currency) return value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  let f = currencies.get(currency);
  if (!f) {
    f = new Intl.NumberFormat("en-US", {
      style: "currency",
      currency,
      minimumFractionDigits: 2,
      maximumFractionDigits: 2,
    });
    currencies.set(currency, f);
  }
  return f.format(value);
}

/** An ISO time as people read it: `2019-10-01 00:12` (UTC), a date alone when it is midnight. */
export function shortTime(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?Z$/.exec(iso);
  if (!m) return iso;
  return m[2] === "00:00" && /T00:00:00(\.0+)?Z$/.test(iso) ? (m[1] ?? iso) : `${m[1]} ${m[2]}`;
}

/** The kind of a cell: its column's, or the one its row names (`Column.kindFrom`). */
export function kindOf(column: Column, row: Row): ColumnKind {
  const named = column.kindFrom === undefined ? undefined : row[column.kindFrom];
  return typeof named === "string" ? (named as ColumnKind) : column.kind;
}

/** How a cell reads to a person (table, Markdown, HTML). Machine formats keep raw values. */
export function displayCell(value: Cell, kind: ColumnKind, options: DisplayOptions = {}): string {
  if (value === null || value === undefined) return "–";
  if (typeof value === "string") return kind === "date" ? shortTime(value) : value;
  if (!Number.isFinite(value)) return "–";
  switch (kind) {
    case "int":
      return Math.round(value).toLocaleString("en-US");
    case "money":
      return money(value, options.currency);
    case "change":
      return `${value > 0 ? "+" : value < 0 ? "−" : "±"}${(Math.abs(value) * 100).toFixed(1)}%`;
    case "pts":
      return `${value > 0 ? "+" : value < 0 ? "−" : "±"}${(Math.abs(value) * 100).toFixed(1)} pt`;
    case "pct":
      return `${(value * 100).toFixed(1)}%`;
    case "num":
      return value.toLocaleString("en-US", { maximumFractionDigits: 2 });
    case "date":
      return String(value);
    default:
      return String(value);
  }
}

/** The raw value for CSV: money to the cent, ratios as fractions (6 decimals), no separators. */
export function rawCell(value: Cell, kind: ColumnKind): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (!Number.isFinite(value)) return "";
  if (kind === "money") return value.toFixed(2);
  if (kind === "pct" || kind === "change" || kind === "pts") return String(Math.round(value * 1e6) / 1e6);
  if (kind === "num") return String(Math.round(value * 100) / 100);
  return String(value);
}

export function isNumeric(kind: ColumnKind): boolean {
  return (
    kind === "int" ||
    kind === "money" ||
    kind === "pct" ||
    kind === "num" ||
    kind === "change" ||
    kind === "pts"
  );
}

/** The table as people read it: without the columns meant for scripts only. */
export function forPeople(table: Table): Table {
  return table.columns.some((c) => c.machine)
    ? { ...table, columns: table.columns.filter((c) => !c.machine) }
    : table;
}
