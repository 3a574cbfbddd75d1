import type { Kpi, ReportMeta, ReportResult, Section, Table } from "../model.ts";
import { definitionsFor, headerFacts } from "./definitions.ts";
import { escapeXml, renderChart } from "./svg.ts";
import { type DisplayOptions, displayCell, forPeople, isNumeric, kindOf } from "./values.ts";

/**
 * One self-contained HTML file an analyst can send: a header saying which data, which period,
 * when and in which units; headline cards with the change against the previous period; charts
 * with titles, axes and legends; tables that wrap to the page; the definitions of every derived
 * figure and segment; print styles so "Save as PDF" gives clean pages. Inline CSS and SVG, no
 * script, and a Content-Security-Policy that forbids every fetch, so the file opens offline and
 * attached to an e-mail.
 */

const CSS = `
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1280px;color:#222;padding:0 20px}
header.report-head{border-bottom:3px solid #334e68;padding-bottom:10px;margin-bottom:8px}
header.report-head h1{font-size:26px;margin:0 0 8px;border:0}
dl.facts{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:4px 24px;margin:0;font-size:13px}
dl.facts div{display:flex;gap:8px}
dl.facts dt{color:#666;min-width:104px}
dl.facts dd{margin:0;font-weight:500}
nav.toc{margin:10px 0 4px;font-size:13px}
nav.toc a{margin-right:14px;color:#1d4e89}
article>h1{font-size:22px;margin:36px 0 4px;border-bottom:2px solid #333}
h2{font-size:17px;margin:22px 0 6px}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:12px;margin:10px 0 16px}
.kpi{border:1px solid #d9dee5;border-radius:8px;padding:10px 14px;background:#f8fafc}
.kpi-label{font-size:12px;color:#555;text-transform:uppercase;letter-spacing:.03em}
.kpi-value{font-size:24px;font-weight:650;margin:2px 0;font-variant-numeric:tabular-nums}
.kpi-change{font-size:12.5px;color:#555}
.kpi-change.up{color:#16794a}.kpi-change.down{color:#b3261e}
table{border-collapse:collapse;margin:8px 0 16px;font-size:12.5px;width:100%}
th,td{padding:4px 8px;border-bottom:1px solid #e4e4e4;text-align:left;vertical-align:top}
th{background:#f1f4f8;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.n,td.k{white-space:nowrap}
ul.notes{margin:4px 0;padding-left:18px;color:#444;font-size:13px}
svg.chart{display:block;margin:8px 0 12px;max-width:100%;height:auto}
.empty{color:#a15c00}
.wide{max-width:100%;overflow-x:auto}
section.definitions dl{display:grid;grid-template-columns:minmax(160px,220px) 1fr;gap:4px 16px;font-size:13px}
section.definitions dl div{display:contents}
section.definitions dt{font-weight:600}
section.definitions dd{margin:0}
footer{margin-top:32px;color:#777;font-size:12px}
@page{size:A4;margin:14mm 12mm}
@media print{
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  body{max-width:none;margin:0;padding:0;font-size:11px}
  nav.toc{display:none}
  article+article,section.definitions{break-before:page}
  h1,h2{break-after:avoid}
  .kpis{grid-template-columns:repeat(3,1fr)}
  .kpi,svg.chart,tr,section.definitions div{break-inside:avoid}
  table{font-size:9.5px}
  th,td{padding:2px 4px}
  .wide{overflow:visible}
  dl.facts{grid-template-columns:repeat(2,minmax(0,1fr))}
}
`;

function tableHtml(all: Table, o: DisplayOptions): string {
  const table = forPeople(all);
  const head = table.columns
    .map(
      (c) =>
        `<th${isNumeric(c.kind) ? ' class="n"' : ""} data-key="${escapeXml(c.key)}">${escapeXml(c.label)}</th>`,
    )
    .join("");
  const rows = table.rows
    .map(
      (row) =>
        `<tr>${table.columns
          .map((c) => {
            const kind = kindOf(c, row);
            const text = escapeXml(displayCell(row[c.key] ?? null, kind, o));
            if (isNumeric(kind)) return `<td class="n">${text}</td>`;
            if (c.keep) return `<td class="k">${text}</td>`;
            if (kind === "date") return `<td class="d">${text}</td>`;
            // Category codes wrap at their dots rather than mid-word.
            return `<td>${text.replace(/\./g, ".<wbr>")}</td>`;
          })
          .join("")}</tr>`,
    )
    .join("\n");
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

/** How a change reads: "▲ 12.3 %", "▼ 1.2 pt"; the arrow and colour say the direction. */
function changeText(k: Kpi): { text: string; cls: string } {
  if (k.previous === undefined) return { text: "", cls: "" };
  if (k.change === null || k.change === undefined)
    return {
      text: k.previous === null ? "no figure for the previous period" : "previous period: 0",
      cls: "",
    };
  const cls = k.change > 0 ? "up" : k.change < 0 ? "down" : "";
  const arrow = k.change > 0 ? "▲" : k.change < 0 ? "▼" : "=";
  return { text: `${arrow} ${displayCell(k.change, k.kind === "pct" ? "pts" : "change")}`, cls };
}

function kpisHtml(kpis: readonly Kpi[], o: DisplayOptions): string {
  const cards = kpis.map((k) => {
    const change = changeText(k);
    const before =
      k.previous === undefined ? "" : ` vs ${escapeXml(displayCell(k.previous ?? null, k.kind, o))} before`;
    return (
      `<div class="kpi" data-key="${escapeXml(k.key)}" data-value="${k.value ?? ""}">` +
      `<div class="kpi-label">${escapeXml(k.label)}</div>` +
      `<div class="kpi-value">${escapeXml(displayCell(k.value, k.kind, o))}</div>` +
      (change.text || before
        ? `<div class="kpi-change ${change.cls}">${escapeXml(change.text)}${before}</div>`
        : "") +
      "</div>"
    );
  });
  return `<div class="kpis">${cards.join("")}</div>`;
}

function sectionHtml(report: string, s: Section, o: DisplayOptions): string {
  const notes = s.notes?.length
    ? `<ul class="notes">${s.notes.map((n) => `<li>${escapeXml(n)}</li>`).join("")}</ul>`
    : "";
  const kpis = s.kpis?.length ? kpisHtml(s.kpis, o) : "";
  const chart = s.chart && s.table.rows.length > 0 ? renderChart(s.chart, o) : "";
  const table = s.table.rows.length === 0 ? "<p><em>(no rows)</em></p>" : tableHtml(s.table, o);
  return `<section id="${escapeXml(`${report}-${s.id}`)}"><h2>${escapeXml(s.title)}</h2>${notes}${kpis}${chart}<div class="wide">${table}</div></section>`;
}

function definitionsHtml(results: readonly ReportResult[]): string {
  const { figures, segments } = definitionsFor(results);
  const list = (defs: typeof figures) =>
    `<dl>${defs.map((d) => `<div><dt>${escapeXml(d.term)}</dt><dd>${escapeXml(d.text)}</dd></div>`).join("")}</dl>`;
  return (
    `<section class="definitions" id="definitions"><h1>Definitions</h1>` +
    `<h2>Figures</h2>${list(figures)}` +
    (segments.length ? `<h2>RFM segments</h2>${list(segments)}` : "") +
    "</section>"
  );
}

export function renderHtml(results: readonly ReportResult[], meta: ReportMeta): string {
  const o: DisplayOptions = { currency: meta.currency };
  const title =
    results.length === 1
      ? `capline report: ${results[0]?.title ?? ""}`
      : "capline report: customers and sales";
  const facts = headerFacts(meta)
    .map((f) => `<div><dt>${escapeXml(f.term)}</dt><dd>${escapeXml(f.text)}</dd></div>`)
    .join("");
  // A table of contents where there is more than one report to jump between.
  const nav =
    results.length < 2
      ? ""
      : `<nav class="toc">${results
          .map((r) => `<a href="#${escapeXml(r.report)}">${escapeXml(r.title)}</a>`)
          .concat('<a href="#definitions">Definitions</a>')
          .join("")}</nav>`;
  const body = results
    .map((r) => {
      const empty = r.empty ? `<p class="empty">No data in the selected range/filter.</p>` : "";
      return `<article id="${escapeXml(r.report)}"><h1>${escapeXml(r.title)}</h1>${empty}\n${r.sections.map((s) => sectionHtml(r.report, s, o)).join("\n")}</article>`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeXml(title)}</title><style>${CSS}</style></head>
<body><header class="report-head"><h1>${escapeXml(title)}</h1><dl class="facts">${facts}</dl></header>
${nav}
${body}
${definitionsHtml(results)}
<footer>capline · figures computed by Elasticsearch from the customer profiles and sales aggregates · ${escapeXml(meta.generated_at)}</footer>
</body></html>
`;
}
