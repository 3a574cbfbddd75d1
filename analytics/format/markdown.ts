import type { Kpi, ReportMeta, ReportResult, Table } from "../model.ts";
import { definitionsFor, headerFacts } from "./definitions.ts";
import { type DisplayOptions, displayCell, forPeople, isNumeric, kindOf } from "./values.ts";

/**
 * GitHub-flavoured Markdown with the content of the HTML report: the header facts, headline
 * figures with their change, a heading per report and section, pipe tables, the definitions.
 * Charts are the HTML's; each is named where it would be.
 */

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

export function tableToMarkdown(all: Table, o: DisplayOptions = {}): string {
  const table = forPeople(all);
  const head = `| ${table.columns.map((c) => mdEscape(c.label)).join(" | ")} |`;
  const rule = `|${table.columns.map((c) => (isNumeric(c.kind) ? "---:" : "---")).join("|")}|`;
  const rows = table.rows.map(
    (row) =>
      `| ${table.columns.map((c) => mdEscape(displayCell(row[c.key] ?? null, kindOf(c, row), o))).join(" | ")} |`,
  );
  return [head, rule, ...rows].join("\n");
}

function kpiTable(kpis: readonly Kpi[], o: DisplayOptions): string {
  const compared = kpis.some((k) => k.previous !== undefined);
  const rows = kpis.map((k) => {
    const cells = [mdEscape(k.label), mdEscape(displayCell(k.value, k.kind, o))];
    if (compared)
      cells.push(
        mdEscape(displayCell(k.previous ?? null, k.kind, o)),
        mdEscape(displayCell(k.change ?? null, k.kind === "pct" ? "pts" : "change")),
      );
    return `| ${cells.join(" | ")} |`;
  });
  const head = compared
    ? "| Headline | Value | Previous period | Change |\n|---|---:|---:|---:|"
    : "| Headline | Value |\n|---|---:|";
  return [head, ...rows].join("\n");
}

export function renderMarkdown(results: readonly ReportResult[], meta?: ReportMeta): string {
  const o: DisplayOptions = { currency: meta?.currency ?? null };
  const out: string[] = [];
  if (meta) {
    const title = results.length === 1 ? (results[0]?.title ?? "") : "customers and sales";
    out.push(`# capline report: ${mdEscape(title)}`, "");
    for (const f of headerFacts(meta)) out.push(`- **${mdEscape(f.term)}:** ${mdEscape(f.text)}`);
    out.push("");
  }
  for (const r of results) {
    out.push(`${meta ? "##" : "#"} ${mdEscape(r.title)}`, "");
    if (r.empty) out.push("_No data in the selected range/filter._", "");
    for (const s of r.sections) {
      out.push(`${meta ? "###" : "##"} ${mdEscape(s.title)}`, "");
      for (const note of s.notes ?? []) out.push(`- ${mdEscape(note)}`);
      if (s.notes?.length) out.push("");
      if (s.kpis?.length) out.push(kpiTable(s.kpis, o), "");
      if (s.chart && s.table.rows.length > 0)
        out.push(`_Chart in the HTML report: ${mdEscape(s.chart.label)}._`, "");
      out.push(s.table.rows.length === 0 ? "_(no rows)_" : tableToMarkdown(s.table, o), "");
    }
  }
  if (meta) {
    const { figures, segments } = definitionsFor(results);
    out.push("## Definitions", "");
    for (const d of figures) out.push(`- **${mdEscape(d.term)}:** ${mdEscape(d.text)}`);
    if (segments.length) {
      out.push("", "### RFM segments", "");
      for (const d of segments) out.push(`- **${mdEscape(d.term)}:** ${mdEscape(d.text)}`);
    }
  }
  return out.join("\n").trimEnd();
}
