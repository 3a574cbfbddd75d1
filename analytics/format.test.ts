import { describe, expect, it } from "vitest";
import { csvCell, tableToCsv } from "./format/csv.ts";
import { render } from "./format/index.ts";
import { mdEscape, tableToMarkdown } from "./format/markdown.ts";
import { renderTable, truncate } from "./format/table.ts";
import { displayCell, rawCell } from "./format/values.ts";
import type { ReportResult, Table } from "./model.ts";

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

  it("parses back to the same cells", () => {
    const rows = parseCsv(`${tableToCsv(table)}\r\n`);
    expect(rows).toEqual([
      ["Category", "Views", "Revenue", "Conversion"],
      ["computers.peripherals.printer", "12345", "4143.10", "0.0389"],
      ['\'=HYPERLINK("http://x")', "0", "0.00", ""],
      ['a, "quoted"\nline', "7", "1234567.89", "1"],
    ]);
  });

  it("gives one plain table for one section, titled blocks for several", () => {
    const one = render([result([{ title: "S", table }])], "csv", 80, false);
    expect(parseCsv(one)[0]).toEqual(["Category", "Views", "Revenue", "Conversion"]);
    const two = render(
      [
        result([
          { title: "First", table },
          { title: "=Second", table },
        ]),
      ],
      "csv",
      80,
      false,
    );
    const blocks = two.trimEnd().split("\r\n\r\n");
    expect(blocks).toHaveLength(2);
    expect(parseCsv(`${blocks[0]}\r\n`)[0]).toEqual(["# First"]);
    expect(parseCsv(`${blocks[1]}\r\n`)[0]).toEqual(["# =Second"]);
    expect(parseCsv(`${blocks[1]}\r\n`)).toHaveLength(5);
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

  it("gives headings per report and section", () => {
    const md = render([result([{ title: "Leaders", notes: ["Range: all time"], table }])], "md", 80, false);
    expect(md).toMatch(/^# Title of products\n\n## Leaders\n\n- Range: all time\n\n\| Category/);
  });
});

describe("JSON", () => {
  it("gives the figures of one report, or every report keyed by name", () => {
    const one = JSON.parse(render([result([])], "json", 80, false));
    expect(one).toEqual({ report: "products", params: {}, empty: false, took_ms: 3, data: { figure: 1 } });
    const all = JSON.parse(render([result([]), result([], "brands")], "json", 80, true));
    expect(Object.keys(all.reports)).toEqual(["products", "brands"]);
  });
});

describe("HTML", () => {
  it("is one self-contained document with escaped text and SVG charts", () => {
    const html = render(
      [
        result([
          {
            title: "<b>Leaders</b>",
            table,
            chart: { type: "bars", label: "Revenue", kind: "money", items: [{ label: "<x>", value: 3 }] },
          },
          {
            title: "Series",
            table,
            chart: {
              type: "lines",
              label: "R",
              kind: "money",
              x: ["a", "b"],
              series: [{ name: "s", values: [1, 2] }],
            },
          },
          {
            title: "Heat",
            table,
            chart: {
              type: "heatmap",
              label: "H",
              kind: "int",
              rows: ["r"],
              columns: ["c1", "c2"],
              values: [[1, null]],
            },
          },
        ]),
      ],
      "html",
      80,
      false,
    );
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).toContain("default-src 'none'");
    // Nothing that fetches: no script, stylesheet link, src attribute, CSS url() or @import.
    expect(html).not.toMatch(/<script|<link|<img|<iframe|\ssrc=|url\(|@import/);
    expect(html).toContain("&lt;b&gt;Leaders&lt;/b&gt;");
    expect(html).not.toContain("<x>");
    expect(html.match(/<svg class="chart"/g)).toHaveLength(3);
    // The bar of the largest value spans the plot; a null heatmap cell draws nothing.
    expect(html).toMatch(/<rect x="220" y="8" width="430.0"/);
    expect(html.match(/<rect [^>]*fill="rgb\(/g)).toHaveLength(1);
  });
});
