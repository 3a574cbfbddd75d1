import type { ReportMeta, ReportResult } from "../model.ts";
import type { Format } from "../options.ts";
import { csvFiles } from "./csv.ts";
import { renderHtml } from "./html.ts";
import { renderJson } from "./json.ts";
import { renderMarkdown } from "./markdown.ts";
import { renderText } from "./table.ts";

export { type CsvFile, csvCell, csvFiles } from "./csv.ts";
export { renderTable } from "./table.ts";

export interface RenderOptions {
  /** Table width in columns; Infinity: never shorten (output that is not a terminal). */
  width: number;
  /** `report all`: JSON keyed by report. */
  all: boolean;
  meta: ReportMeta;
}

/**
 * Renders results in a format. CSV is one table per file: with several tables use `csvFiles`
 * (`--out DIR`); here only a single table is accepted.
 */
export function render(results: readonly ReportResult[], format: Format, o: RenderOptions): string {
  const display = { currency: o.meta.currency };
  switch (format) {
    case "json":
      return `${renderJson(results, o.all, o.meta)}\n`;
    case "csv": {
      const files = csvFiles(results);
      if (files.length !== 1)
        throw new RangeError(`CSV is one table per file; these results have ${files.length}`);
      return files[0]?.text ?? "";
    }
    case "md":
      return `${renderMarkdown(results, o.meta)}\n`;
    case "html":
      return renderHtml(results, o.meta);
    case "table":
      return `${renderText(results, o.width, display)}\n`;
  }
}
