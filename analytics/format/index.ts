import type { ReportResult } from "../model.ts";
import type { Format } from "../options.ts";
import { renderCsv } from "./csv.ts";
import { renderHtml } from "./html.ts";
import { renderJson } from "./json.ts";
import { renderMarkdown } from "./markdown.ts";
import { renderText } from "./table.ts";

export { csvCell } from "./csv.ts";
export { renderTable } from "./table.ts";

/** Renders results in a format; `width` is the terminal width for tables. */
export function render(
  results: readonly ReportResult[],
  format: Format,
  width: number,
  all: boolean,
): string {
  switch (format) {
    case "json":
      return `${renderJson(results, all)}\n`;
    case "csv":
      return renderCsv(results);
    case "md":
      return `${renderMarkdown(results)}\n`;
    case "html":
      return renderHtml(results);
    case "table":
      return `${renderText(results, width)}\n`;
  }
}
