import { csvCell } from "../../core/csv.ts";
import type { ReportResult, Table } from "../model.ts";
import { rawCell } from "./values.ts";

/**
 * CSV (RFC 4180, CRLF), formula-safe (core/csv.ts, shared with the ingester's rejects file).
 * Several sections become blocks separated by an empty line, each led by a one-cell title row
 * `# Section title`.
 */

export { csvCell };

export function tableToCsv(table: Table): string {
  const lines = [table.columns.map((c) => csvCell(c.label)).join(",")];
  for (const row of table.rows)
    lines.push(
      table.columns
        .map((c) => {
          const value = row[c.key] ?? null;
          return csvCell(rawCell(value, c.kind), typeof value === "number");
        })
        .join(","),
    );
  return lines.join("\r\n");
}

export function renderCsv(results: readonly ReportResult[]): string {
  const blocks: string[] = [];
  const single = results.length === 1 && results[0]?.sections.length === 1;
  for (const r of results)
    for (const s of r.sections) {
      const title = results.length > 1 ? `${r.title}: ${s.title}` : s.title;
      blocks.push(single ? tableToCsv(s.table) : `${csvCell(`# ${title}`)}\r\n${tableToCsv(s.table)}`);
    }
  return `${blocks.join("\r\n\r\n")}\r\n`;
}
