import { csvCell } from "../../core/csv.ts";
import type { ReportResult, Table } from "../model.ts";
import { kindOf, rawCell } from "./values.ts";

/**
 * CSV (RFC 4180, CRLF): one tidy table per file, the JSON key names as headers, raw numbers
 * (money with 2 decimals, rates as fractions, no thousands separators, no units), formula-safe
 * (core/csv.ts, shared with the ingester's rejects file).
 */

export { csvCell };

export function tableToCsv(table: Table): string {
  const lines = [table.columns.map((c) => csvCell(c.key)).join(",")];
  for (const row of table.rows)
    lines.push(
      table.columns
        .map((c) => {
          const value = row[c.key] ?? null;
          return csvCell(rawCell(value, kindOf(c, row)), typeof value === "number");
        })
        .join(","),
    );
  return `${lines.join("\r\n")}\r\n`;
}

export interface CsvFile {
  /** `<report>-<section id>.csv` */
  name: string;
  text: string;
}

/** Every table of the results, one file each. */
export function csvFiles(results: readonly ReportResult[]): CsvFile[] {
  return results.flatMap((r) =>
    r.sections.map((s) => ({ name: `${r.report}-${s.id}.csv`, text: tableToCsv(s.table) })),
  );
}
