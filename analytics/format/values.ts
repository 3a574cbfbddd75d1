import type { Cell, ColumnKind } from "../model.ts";

/** How a cell reads to a person (table, Markdown, HTML). Machine formats keep raw values. */
export function displayCell(value: Cell, kind: ColumnKind): string {
  if (value === null || value === undefined) return "–";
  if (typeof value === "string") return value;
  if (!Number.isFinite(value)) return "–";
  switch (kind) {
    case "int":
      return Math.round(value).toLocaleString("en-US");
    case "money":
      return value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    case "pct":
      return `${(value * 100).toFixed(1)}%`;
    case "num":
      return value.toLocaleString("en-US", { maximumFractionDigits: 2 });
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
  if (kind === "pct") return String(Math.round(value * 1e6) / 1e6);
  if (kind === "num") return String(Math.round(value * 100) / 100);
  return String(value);
}

export function isNumeric(kind: ColumnKind): boolean {
  return kind === "int" || kind === "money" || kind === "pct" || kind === "num";
}
