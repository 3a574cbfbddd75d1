import { describe, expect, it } from "vitest";
import { csvCell, csvFiles, tableToCsv } from "./format/csv.ts";
import { render } from "./format/index.ts";
import { mdEscape, tableToMarkdown } from "./format/markdown.ts";
import { niceTicks, tickLabels } from "./format/svg.ts";
import { renderTable, truncate } from "./format/table.ts";
import { displayCell, rawCell, shortTime } from "./format/values.ts";
import type { ReportMeta, ReportResult, Table } from "./model.ts";

const meta: ReportMeta = {
  dataset: { topic: "customer-events", index_prefix: "capline" },
  period: { from: "2019-10-01T00:00:00.000Z", to: "2019-11-01T00:00:00.000Z" },
  compare: "previous",
  previous_period: { from: "2019-08-31T00:00:00.000Z", to: "2019-10-01T00:00:00.000Z" },
  generated_at: "2019-11-02T08:00:00.000Z",
  time_zone: "UTC",
  currency: null,
};
const opts = (width = 80, all = false, m: ReportMeta = meta) => ({ width, all, meta: m });

const table: Table = {
  columns: [
    { key: "key", label: "Category", kind: "text" },
    { key: "views", label: "Views", kind: "int" },
    { key: "revenue", label: "Revenue", kind: "money" },
    { key: "conversion", label: "Conversion", kind: "pct" },
  ],
  rows: [
    { key: "computers.peripherals.printer", views: 12345, revenue: 4143.1, conversion: 0.0389 },
    { key: '=HYPERLINK("http://x")', views: 0, revenue: 0, conversion: null },
    { key: 'a, "quoted"\nline', views: 7, revenue: 1234567.891, conversion: 1 },
  ],
};

function result(sections: ReportResult["sections"], report = "products"): ReportResult {
  return {
    report,
    title: `Title of ${report}`,
    params: {},
    data: { figure: 1 },
    sections,
    empty: false,
    timings: { queries: 1, es_ms: 2, total_ms: 3 },
  };
}

/** A small RFC 4180 reader (quotes, doubled quotes, CRLF inside quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += ch;
  }
  if (cell !== "" || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

describe("values", () => {
  it("shows numbers for people and keeps raw values for machines", () => {
    expect(displayCell(1234567, "int")).toBe("1,234,567");
    expect(displayCell(1234.5, "money")).toBe("1,234.50");
    expect(displayCell(0.12345, "pct")).toBe("12.3%");
    expect(displayCell(null, "pct")).toBe("–");
    expect(rawCell(1234.5, "money")).toBe("1234.50");
    expect(rawCell(0.123456789, "pct")).toBe("0.123457");
    expect(rawCell(null, "int")).toBe("");
    expect(displayCell(1234.5, "money", { currency: "EUR" })).toBe("€1,234.50");
    expect(displayCell(1234.5, "money", { currency: "USD" })).toBe("$1,234.50");
    expect(displayCell(0.1234, "change")).toBe("+12.3%");
    expect(displayCell(-0.05, "change")).toBe("−5.0%");
    expect(displayCell(0.012, "pts")).toBe("+1.2 pt");
    expect(rawCell(-0.05, "change")).toBe("-0.05");
    expect(shortTime("2019-10-01T00:12:05Z")).toBe("2019-10-01 00:12");
    expect(shortTime("2019-10-01T00:00:00.000Z")).toBe("2019-10-01");
    expect(displayCell("2019-10-01T13:00:00.000Z", "date")).toBe("2019-10-01 13:00");
  });
});

describe("chart axes", () => {
  it("put ticks on round values that cover the largest one", () => {
    expect(niceTicks(124_606.7)).toEqual([0, 25_000, 50_000, 75_000, 100_000, 125_000]);
    expect(niceTicks(0.057)).toEqual([0, 0.02, 0.04, 0.06]);
    expect(niceTicks(7)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(0)).toEqual([0, 1]);
    for (const max of [1, 3, 9.99, 17, 123, 999, 1001, 55_555, 2.5e6, 0.3]) {
      const t = niceTicks(max);
      expect(t[0]).toBe(0);
      expect(t[t.length - 1]).toBeGreaterThanOrEqual(max);
      expect(t.length).toBeLessThanOrEqual(7);
      const step = t[1] ?? 0;
      const mantissa = step / 10 ** Math.floor(Math.log10(step));
      expect([1, 2, 2.5, 5], `${max}: step ${step}`).toContain(Math.round(mantissa * 100) / 100);
    }
  });
  it("label an axis in one unit", () => {
    expect(tickLabels([0, 5000, 10_000, 15_000], "money")).toEqual(["0", "5k", "10k", "15k"]);
    expect(tickLabels([0, 500_000, 1_000_000], "int")).toEqual(["0", "0.5M", "1M"]);
    expect(tickLabels([0, 250, 500], "int")).toEqual(["0", "250", "500"]);
    expect(tickLabels([0, 0.02, 0.04], "pct")).toEqual(["0%", "2%", "4%"]);
  });
});

describe("text tables", () => {
  it("fit every width, down to narrow terminals, and keep every row", () => {
    for (const width of [20, 30, 40, 50, 60, 80, 120, 200]) {
      const text = renderTable(table, width);
      for (const line of text.split("\n"))
        expect([...line].length, `width ${width}: "${line}"`).toBeLessThanOrEqual(width);
      // Every block (the table may be split into column groups) has the header, a rule and 3 rows.
      for (const block of text.split("\n\n")) expect(block.split("\n")).toHaveLength(5);
    }
  });

  it("shows everything when there is room, numbers right-aligned", () => {
    const text = renderTable(table, 200);
    expect(text).toContain("computers.peripherals.printer");
    expect(text).toContain("1,234,567.89");
    const lines = text.split("\n");
    expect(lines[2]?.trimEnd().endsWith("3.9%")).toBe(true);
    expect(lines[2]).toMatch(/ 12,345 /);
  });

  it("shortens text with an ellipsis before splitting, but never a kept column", () => {
    const text = renderTable(table, 50);
    expect(text).toContain("…");
    expect(text).not.toContain("computers.peripherals.printer");
    const kept: Table = {
      columns: [
        { key: "rank", label: "#", kind: "int" },
        { key: "id", label: "Customer", kind: "text", keep: true },
        { key: "note", label: "Note", kind: "text" },
      ],
      rows: [{ rank: 1, id: "1506728842000000000", note: "a long free text that can be shortened" }],
    };
    const out = renderTable(kept, 40);
    expect(out).toContain("1506728842000000000");
    expect(out).not.toContain("a long free text that can be shortened");
  });

  it("truncates by code points", () => {
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(truncate("abc", 4)).toBe("abc");
    expect(truncate("€€€€€", 3)).toBe("€€…");
  });
});

describe("CSV", () => {
  it("neutralises formula cells and quotes per RFC 4180", () => {
    expect(csvCell("=1+2")).toBe("'=1+2");
    expect(csvCell("+cmd")).toBe("'+cmd");
    expect(csvCell("-2")).toBe("'-2");
    expect(csvCell("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvCell("\tx")).toBe("'\tx");
    expect(csvCell("\rx")).toBe('"\'\rx"');
    expect(csvCell("plain")).toBe("plain");
    expect(csvCell('say "hi", ok')).toBe('"say ""hi"", ok"');
    // Numbers are not text: a negative number stays a number.
    expect(csvCell("-2", true)).toBe("-2");
  });

  it("parses back to the same cells, the JSON keys as headers", () => {
    const rows = parseCsv(tableToCsv(table));
    expect(rows).toEqual([
      ["key", "views", "revenue", "conversion"],
      ["computers.peripherals.printer", "12345", "4143.10", "0.0389"],
      ['\'=HYPERLINK("http://x")', "0", "0.00", ""],
      ['a, "quoted"\nline', "7", "1234567.89", "1"],
    ]);
  });

  it("gives one table per file: one section to stdout, several as named files", () => {
    const one = render([result([{ id: "s", title: "S", table }])], "csv", opts());
    expect(parseCsv(one)[0]).toEqual(["key", "views", "revenue", "conversion"]);
    const sections = [
      { id: "first", title: "First", table },
      { id: "second", title: "=Second", table },
    ];
    expect(() => render([result(sections)], "csv", opts())).toThrow(/one table per file/);
    const files = csvFiles([result(sections), result([{ id: "x", title: "X", table }], "brands")]);
    expect(files.map((f) => f.name)).toEqual(["products-first.csv", "products-second.csv", "brands-x.csv"]);
    for (const f of files) expect(parseCsv(f.text)).toHaveLength(4);
  });

  it("takes each cell's kind from its row where the column says so, raw", () => {
    const mixed: Table = {
      columns: [
        { key: "figure", label: "Key", kind: "text", machine: true },
        { key: "value", label: "Value", kind: "num", kindFrom: "kind" },
      ],
      rows: [
        { figure: "revenue", value: 1234.5, kind: "money" },
        { figure: "rate", value: 0.1234567, kind: "pct" },
      ],
    };
    expect(parseCsv(tableToCsv(mixed))).toEqual([
      ["figure", "value"],
      ["revenue", "1234.50"],
      ["rate", "0.123457"],
    ]);
    // People see the label columns only, formatted by kind.
    const md = tableToMarkdown(mixed);
    expect(md).not.toContain("revenue");
    expect(md).toContain("| 1,234.50 |");
    expect(md).toContain("| 12.3% |");
  });
});

describe("Markdown", () => {
  it("escapes HTML, links and code: nothing from the data runs or links where the report is shown", () => {
    expect(mdEscape("<script>alert(1)</script>")).toBe("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(mdEscape('<img src=x onerror="x">')).not.toMatch(/<|>/);
    expect(mdEscape("AT&T")).toBe("AT&amp;T");
    expect(mdEscape("[x](javascript:alert(1))")).toBe("\\[x\\](javascript:alert(1))");
    expect(mdEscape("`code`")).toBe("\\`code\\`");
  });

  it("escapes pipes and newlines and aligns numbers right", () => {
    expect(mdEscape("a|b\nc")).toBe("a\\|b c");
    const md = tableToMarkdown(table);
    const lines = md.split("\n");
    expect(lines[0]).toBe("| Category | Views | Revenue | Conversion |");
    expect(lines[1]).toBe("|---|---:|---:|---:|");
    expect(lines[4]).toBe('| a, "quoted" line | 7 | 1,234,567.89 | 100.0% |');
    // Every row has the same number of unescaped cell separators.
    for (const line of lines) expect(line.replace(/\\\|/g, "").split("|")).toHaveLength(6);
  });

  it("has the HTML report's content: header facts, headline figures, sections, definitions", () => {
    const md = render(
      [
        result([
          {
            id: "leaders",
            title: "Leaders",
            notes: ["Range: all time"],
            kpis: [
              { key: "revenue", label: "Revenue", kind: "money", value: 110, previous: 100, change: 0.1 },
            ],
            table,
          },
        ]),
      ],
      "md",
      opts(80, false, { ...meta, currency: "EUR" }),
    );
    expect(md).toMatch(/^# capline report: Title of products\n\n- \*\*Dataset:\*\* topic customer-events/);
    // The Markdown escapes HTML (a "<" is written as an entity, which every renderer shows as "<").
    expect(md).toContain("- **Period:** 2019-10-01 ≤ event time &lt; 2019-11-01");
    expect(md).toContain("- **Compared with:** 2019-08-31 ≤ event time &lt; 2019-10-01");
    expect(md).toContain("- **Currency:** EUR");
    expect(md).toContain("| Revenue | €110.00 | €100.00 | +10.0% |");
    expect(md).toMatch(/## Title of products\n\n### Leaders\n\n- Range: all time\n\n\| Headline/);
    expect(md).toContain("## Definitions");
    expect(md).toContain("**AOV (average order value):** revenue / orders.");
  });
});

describe("JSON", () => {
  it("gives the figures of one report, or every report keyed by name", () => {
    const one = JSON.parse(render([result([])], "json", opts()));
    expect(one).toEqual({
      meta,
      report: "products",
      params: {},
      empty: false,
      took_ms: 3,
      data: { figure: 1 },
    });
    const all = JSON.parse(render([result([]), result([], "brands")], "json", opts(80, true)));
    expect(Object.keys(all.reports)).toEqual(["products", "brands"]);
    expect(all.meta).toEqual(meta);
  });
});

describe("HTML", () => {
  it("is one self-contained document with escaped text and SVG charts", () => {
    const html = render(
      [
        result([
          {
            id: "leaders",
            title: "<b>Leaders</b>",
            table,
            chart: {
              type: "bars",
              label: "Revenue",
              kind: "money",
              axis: "Revenue",
              categories: "Key",
              legend: "Revenue of the key",
              items: [{ label: "<x>", value: 3 }],
            },
          },
          {
            id: "series",
            title: "Series",
            table,
            chart: {
              type: "lines",
              label: "R",
              kind: "money",
              xAxis: "Day",
              yAxis: "Revenue",
              x: ["a", "b"],
              series: [{ name: "s", values: [1, 2] }],
            },
          },
          {
            id: "heat",
            title: "Heat",
            table,
            chart: {
              type: "heatmap",
              label: "H",
              kind: "int",
              xAxis: "Column",
              yAxis: "Row",
              legend: "Events",
              rows: ["r"],
              columns: ["c1", "c2"],
              values: [[1, null]],
            },
          },
        ]),
      ],
      "html",
      opts(80, false, { ...meta, currency: "EUR" }),
    );
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).toContain("default-src 'none'");
    // Nothing that fetches: no script, stylesheet link, src attribute, CSS url() or @import.
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|url\(|@import/);
    expect(html).toContain("&lt;b&gt;Leaders&lt;/b&gt;");
    expect(html).not.toContain("<x>");
    expect(html.match(/<svg class="chart"/g)).toHaveLength(3);
    // The bar of the largest value spans the plot (its axis runs 0, 1, 2, 3).
    expect(html).toMatch(/<rect x="240" y="55" width="740.0"/);
    // A null heatmap cell draws nothing: one cell, plus the swatches of the colour scale.
    expect(html.match(/<rect [^>]*fill="rgb\([^>]*><title>/g)).toHaveLength(1);
    // Axis titles (with the currency), legends, the header facts and the definitions.
    expect(html).toContain(">Revenue (EUR)</text>");
    expect(html.match(/<g class="legend/g)).toHaveLength(3);
    expect(html).toContain("<dt>Currency</dt><dd>EUR</dd>");
    expect(html).toContain('id="definitions"');
    expect(html).toContain("@media print");
  });
});
