import type { ReportResult, Table } from "../model.ts";
import { escapeXml, renderChart } from "./svg.ts";
import { displayCell, isNumeric } from "./values.ts";

/**
 * One self-contained HTML file: inline CSS and SVG, no script, and a Content-Security-Policy that
 * forbids every fetch, so the file opens offline and attached to an e-mail.
 */

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px;margin:32px 0 4px;border-bottom:2px solid #333}
h2{font-size:17px;margin:22px 0 6px}
.meta{color:#666;font-size:12px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
th,td{padding:3px 10px;border-bottom:1px solid #e4e4e4;text-align:left}
th{background:#f4f4f4}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
ul.notes{margin:4px 0;padding-left:18px;color:#444}
nav a{margin-right:12px}
svg.chart{display:block;margin:6px 0 10px;max-width:100%;height:auto}
.empty{color:#a15c00}
.wide{overflow-x:auto}
`;

function tableHtml(table: Table): string {
  const head = table.columns
    .map((c) => `<th${isNumeric(c.kind) ? ' class="n"' : ""}>${escapeXml(c.label)}</th>`)
    .join("");
  const rows = table.rows
    .map(
      (row) =>
        `<tr>${table.columns
          .map(
            (c) =>
              `<td${isNumeric(c.kind) ? ' class="n"' : ""}>${escapeXml(displayCell(row[c.key] ?? null, c.kind))}</td>`,
          )
          .join("")}</tr>`,
    )
    .join("\n");
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

export function renderHtml(results: readonly ReportResult[], generatedAt: Date = new Date()): string {
  const title = results.length === 1 ? (results[0]?.title ?? "capline report") : "capline reports";
  const nav =
    results.length > 1
      ? `<nav>${results.map((r) => `<a href="#${escapeXml(r.report)}">${escapeXml(r.title)}</a>`).join("")}</nav>`
      : "";
  const body = results
    .map((r) => {
      const sections = r.sections
        .map((s) => {
          const notes = s.notes?.length
            ? `<ul class="notes">${s.notes.map((n) => `<li>${escapeXml(n)}</li>`).join("")}</ul>`
            : "";
          const chart = s.chart && s.table.rows.length > 0 ? renderChart(s.chart) : "";
          const table = s.table.rows.length === 0 ? "<p><em>(no rows)</em></p>" : tableHtml(s.table);
          return `<section><h2>${escapeXml(s.title)}</h2>${notes}${chart}<div class="wide">${table}</div></section>`;
        })
        .join("\n");
      const empty = r.empty ? `<p class="empty">No data in the selected range/filter.</p>` : "";
      return `<article id="${escapeXml(r.report)}"><h1>${escapeXml(r.title)}</h1>${empty}\n${sections}</article>`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeXml(title)}</title><style>${CSS}</style></head>
<body><p class="meta">capline · generated ${escapeXml(generatedAt.toISOString())} · times in UTC</p>
${nav}
${body}
</body></html>
`;
}
