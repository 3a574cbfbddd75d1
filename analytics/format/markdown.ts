import type { ReportResult, Table } from "../model.ts";
import { displayCell, isNumeric } from "./values.ts";

/** GitHub-flavoured Markdown: a heading per report and section, pipe tables. */

/**
 * Text as Markdown shows it literally: backslashes and pipes escaped (tables), line breaks folded,
 * `& < >` as HTML entities — a renderer passes raw HTML through, so a brand named `<script>…` or
 * `<img onerror=…>` would run in whatever displays the report — and `[ ] \`` escaped, so a value
 * cannot become a link (`[x](javascript:…)`) or break out into code.
 */
export function mdEscape(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\\/g, "\\\\")
    .replace(/([|[\]`])/g, "\\$1")
    .replace(/\r?\n/g, " ");
}

export function tableToMarkdown(table: Table): string {
  const head = `| ${table.columns.map((c) => mdEscape(c.label)).join(" | ")} |`;
  const rule = `|${table.columns.map((c) => (isNumeric(c.kind) ? "---:" : "---")).join("|")}|`;
  const rows = table.rows.map(
    (row) => `| ${table.columns.map((c) => mdEscape(displayCell(row[c.key] ?? null, c.kind))).join(" | ")} |`,
  );
  return [head, rule, ...rows].join("\n");
}

export function renderMarkdown(results: readonly ReportResult[]): string {
  const out: string[] = [];
  for (const r of results) {
    out.push(`# ${mdEscape(r.title)}`, "");
    if (r.empty) out.push("_No data in the selected range/filter._", "");
    for (const s of r.sections) {
      out.push(`## ${mdEscape(s.title)}`, "");
      for (const note of s.notes ?? []) out.push(`- ${mdEscape(note)}`);
      if (s.notes?.length) out.push("");
      out.push(s.table.rows.length === 0 ? "_(no rows)_" : tableToMarkdown(s.table), "");
    }
  }
  return out.join("\n").trimEnd();
}
