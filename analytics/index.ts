/**
 * Analytics: `capline report <name>` — figures computed by Elasticsearch aggregations over the
 * profiles and sales aggregates, rendered as table, JSON, CSV, Markdown or HTML. See docs/reports.md.
 */
export { registerReports } from "./cli.ts";
export { render } from "./format/index.ts";
export type { ReportResult } from "./model.ts";
export {
  FORMATS,
  parseParams,
  type RawReportFlags,
  REPORT_NAMES,
  type ReportName,
  type ReportParams,
} from "./options.ts";
export { REPORTS, runReports } from "./run.ts";
export { NoDataError } from "./source.ts";
