import type { ReportMeta, ReportResult } from "../model.ts";

/**
 * JSON: the figures (`data`) with the parameters, the header facts (`meta`: dataset, period,
 * generation time, time zone, currency) and timings; `all` gives an object per report. Keys are
 * snake_case (docs/decisions.md); the shape is docs/schemas/report.schema.json.
 */
export function jsonBody(r: ReportResult): Record<string, unknown> {
  return {
    report: r.report,
    params: r.params,
    empty: r.empty,
    took_ms: r.timings.total_ms,
    data: r.data,
  };
}

export function renderJson(results: readonly ReportResult[], all: boolean, meta: ReportMeta): string {
  const body = all
    ? { meta, reports: Object.fromEntries(results.map((r) => [r.report, jsonBody(r)])) }
    : { meta, ...jsonBody(results[0] as ReportResult) };
  return JSON.stringify(body, null, 2);
}
