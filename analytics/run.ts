import { createElasticsearch } from "../core/clients/elasticsearch.ts";
import type { Config } from "../core/config/index.ts";
import { UsageError } from "../core/errors.ts";
import { type ExportFilter, type ExportRow, exportCustomers } from "./export.ts";
import type { ReportResult } from "./model.ts";
import { REPORT_NAMES, type ReportName, type ReportParams } from "./options.ts";
import { cohorts } from "./reports/cohorts.ts";
import { paramsJson, type ReportFn } from "./reports/common.ts";
import { customers } from "./reports/customers.ts";
import { funnel } from "./reports/funnel.ts";
import { hourly } from "./reports/hourly.ts";
import { leaderboard } from "./reports/leaderboard.ts";
import { overview } from "./reports/overview.ts";
import { revenue } from "./reports/revenue.ts";
import { segments } from "./reports/segments.ts";
import { ReportSource } from "./source.ts";

export const REPORTS: Record<ReportName, ReportFn> = {
  overview,
  revenue,
  funnel,
  segments,
  customers,
  products: leaderboard("product"),
  categories: leaderboard("category"),
  brands: leaderboard("brand"),
  cohorts,
  hourly,
};

/**
 * Streams every customer matching the range, --category/--brand and the targeting filter to
 * `write` (page by page); returns how many there were.
 */
export async function runExport(
  config: Config,
  params: ReportParams,
  filter: ExportFilter,
  write: (rows: ExportRow[], first: boolean) => Promise<void>,
): Promise<number> {
  const es = createElasticsearch(config, { maxRetries: 1 });
  const source = new ReportSource(es, config.elasticsearch.indexPrefix, config.elasticsearch.url);
  try {
    await source.ensureData();
    let n = 0;
    for await (const rows of exportCustomers(source, params, filter)) {
      await write(rows, n === 0);
      n += rows.length;
    }
    if (n === 0) await write([], true);
    return n;
  } finally {
    await es.close();
  }
}

/**
 * Runs reports against the configured Elasticsearch, one after the other (each already sends its
 * queries in parallel). Refuses empty indices first (NoDataError, exit 6), so no report has to
 * tell "nothing ingested yet" from "nothing in this range".
 */
export async function runReports(
  config: Config,
  names: readonly ReportName[] | "all",
  params: ReportParams,
  onSkip?: (report: ReportName, reason: string) => void,
): Promise<ReportResult[]> {
  const es = createElasticsearch(config, { maxRetries: 1 });
  const source = new ReportSource(es, config.elasticsearch.indexPrefix, config.elasticsearch.url);
  try {
    await source.ensureData();
    const results: ReportResult[] = [];
    for (const name of names === "all" ? REPORT_NAMES : names) {
      const started = performance.now();
      const queries = source.queries;
      const esMs = source.esMs;
      let out: Awaited<ReturnType<ReportFn>>;
      try {
        out = await REPORTS[name]({ source, params });
      } catch (error) {
        // `all` asks every report with one set of flags: one that cannot honour a filter (the
        // leaderboards with --category) is left out and said so, instead of failing the rest.
        if (names === "all" && error instanceof UsageError) {
          onSkip?.(name, error.message);
          continue;
        }
        throw error;
      }
      const extra: Record<string, unknown> = {};
      if (name === "revenue") extra.by = params.by;
      if (name === "revenue" && params.split) extra.split = params.split;
      if (name === "customers") extra.metric = params.metric;
      if (name === "products" || name === "categories" || name === "brands") extra.sort = params.sort;
      if (name !== "cohorts" && name !== "segments" && name !== "hourly") extra.top = params.top;
      results.push({
        report: name,
        ...out,
        params: { ...paramsJson(params), ...extra },
        timings: {
          queries: source.queries - queries,
          es_ms: Math.round(source.esMs - esMs),
          total_ms: Math.round(performance.now() - started),
        },
      });
    }
    return results;
  } finally {
    await es.close();
  }
}
