import type { ReportResult } from "../model.ts";

/** JSON: the figures (`data`) with the parameters and timings; `all` gives an object per report. */
export function jsonBody(r: ReportResult): Record<string, unknown> {
  return {
    report: r.report,
    params: r.params,
    empty: r.empty,
    took_ms: r.timings.total_ms,
    data: r.data,
  };
}

export function renderJson(results: readonly ReportResult[], all: boolean): string {
  const body = all
    ? { reports: Object.fromEntries(results.map((r) => [r.report, jsonBody(r)])) }
    : jsonBody(results[0] as ReportResult);
  return JSON.stringify(body, null, 2);
}
