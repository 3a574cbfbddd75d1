import { once } from "node:events";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Argument, type Command, Option } from "commander";
import { action, config, ExitCode, positiveInt, withExamples } from "../core/cli/index.ts";
import { CaplineError, describeError, UsageError } from "../core/errors.ts";
import { checkOutputPath, openOutputFile, writeOutputFile } from "../core/output-file.ts";
import { AS_OF_COLUMNS, type AsOfResult, asOfCustomers, parseAsOf } from "./as-of.ts";
import {
  csvLines,
  EXPORT_COLUMNS,
  type ExportRow,
  parseExportFilter,
  type RawExportFlags,
  SEGMENT_NAMES,
} from "./export.ts";
import { type CsvFile, csvFiles, render } from "./format/index.ts";
import type { ReportMeta, ReportResult } from "./model.ts";
import {
  COMPARE,
  CUSTOMER_METRICS,
  FORMATS,
  type Format,
  LEADERBOARD_SORTS,
  parseParams,
  parseReportName,
  type RawReportFlags,
  REPORT_NAMES,
  REVENUE_BY,
  type ReportParams,
  SPLITS,
} from "./options.ts";
import { UNSCORED } from "./reports/segments.ts";
import { runExport, runReports } from "./run.ts";

interface ReportFlags extends RawReportFlags, RawExportFlags {
  all?: boolean;
  format: Format;
  out?: string;
  overwrite?: boolean;
  verbose?: boolean;
  json?: boolean;
  width?: number;
  currency?: string;
  asOf?: string;
}

/**
/**
 * Largest --top: a leaderboard is read in one aggregation (terms size, shard_size ten times it) or
 * one page of hits; beyond a thousand rows a report is an export (`report customers --all`).
 */
const MAX_TOP = 1000;

/**
 * Table width: --width, else the terminal's; output that is not a terminal (a pipe, a file) is
 * never shortened, so a script or a pager gets every character.
 */
function terminalWidth(flag: number | undefined): number {
  if (flag) return flag;
  if (process.stdout.isTTY) {
    if (process.stdout.columns) return process.stdout.columns;
    const env = Number(process.env.COLUMNS);
    return Number.isInteger(env) && env > 20 ? env : 100;
  }
  return Number.POSITIVE_INFINITY;
}

/** The period a report covers: the bounds asked, else the extent of the data (overview knows it). */
function periodOf(params: ReportParams, results: readonly ReportResult[]): ReportMeta["period"] {
  const range = results.find((r) => r.report === "overview")?.data.range as
    | { first_bucket: string | null; data_until: string | null }
    | undefined;
  return {
    from: params.from === undefined ? (range?.first_bucket ?? null) : new Date(params.from).toISOString(),
    to: params.to === undefined ? (range?.data_until ?? null) : new Date(params.to).toISOString(),
  };
}

function parseCurrency(raw: string | undefined, fallback: string | undefined): string | null {
  const code = raw ?? fallback;
  if (code === undefined) return null;
  if (!/^[A-Z]{3}$/.test(code))
    throw new UsageError(`--currency: "${code}" is not an ISO 4217 code in capitals, e.g. EUR or USD`);
  return code;
}

/**
 * The one place `report` writes files: never over an existing file without --overwrite, never
 * through a link, never over one of the inputs (core/output-file.ts).
 */
function writeOut(path: string, text: string, overwrite: boolean): void {
  writeOutputFile(path, text, { flag: "--out", overwrite });
}

/**
 * Where an export streams to: --out FILE (through core/output-file.ts, like every file `report`
 * writes) or standard output, with backpressure.
 */
function openOut(
  path: string | undefined,
  overwrite: boolean,
): {
  write: (text: string) => Promise<void>;
  close: () => void;
} {
  if (!path)
    return {
      write: async (text) => {
        if (text !== "" && !process.stdout.write(text)) await once(process.stdout, "drain");
      },
      close: () => undefined,
    };
  const file = openOutputFile(path, { flag: "--out", overwrite });
  return { write: async (text) => file.write(text), close: () => file.close() };
}

const isoOrNull = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** `report customers --all`: every matching customer, streamed as CSV or one JSON document. */
async function exportCommand(flags: ReportFlags, format: Format): Promise<number> {
  if (format !== "csv" && format !== "json")
    throw new UsageError("--all streams every customer as csv or json: add --format csv or --format json");
  const params = parseParams(flags);
  const filter = parseExportFilter(flags);
  const started = performance.now();
  const head = JSON.stringify({
    from: isoOrNull(params.from),
    to: isoOrNull(params.to),
    category: params.category ?? null,
    brand: params.brand ?? null,
    segment: filter.segment ?? null,
    min_spend: filter.minSpend ?? null,
    last_seen_before: isoOrNull(filter.lastSeenBefore),
    last_seen_after: isoOrNull(filter.lastSeenAfter),
  });
  const asOf = flags.asOf === undefined ? undefined : parseAsOf(flags.asOf);
  if (asOf && filter.segment === UNSCORED)
    throw new UsageError(
      `--segment "${UNSCORED}" with --as-of: every purchaser is scored as of a date; give another segment`,
    );
  const columns = asOf ? AS_OF_COLUMNS : EXPORT_COLUMNS;
  const asOfJson = (r: AsOfResult | undefined): string =>
    asOf && r
      ? JSON.stringify({
          date: asOf.date,
          end: new Date(asOf.endMs).toISOString(),
          recency_from: r.recencyFrom,
          time_zone: "UTC",
        })
      : "null";
  // As of a date, everything is computed before the output is opened: a date outside the data
  // (exit 2) leaves no empty file behind.
  // The lake reader is loaded only here: its stores come with the Kafka client
  // (processing/compact.ts), whose import would slow the start of every other report.
  const lake = asOf ? (await import("../processing/lake-reader.ts")).lakeReaderOf(config()) : undefined;
  const result = asOf && lake ? await asOfCustomers(lake, asOf, params, filter) : undefined;
  const out = openOut(flags.out, flags.overwrite === true);
  const write = async (rows: ExportRow[], first: boolean) => {
    if (format === "csv") return out.write(csvLines(rows, first, columns));
    const start = first
      ? `{"filter":${head},"as_of":${asOfJson(result)},"columns":${JSON.stringify(columns.map((x) => x.key))},"customers":[`
      : "";
    const body = rows.map((r, i) => `${first && i === 0 ? "" : ","}\n${JSON.stringify(r)}`).join("");
    await out.write(start + body);
  };
  let n = 0;
  let detail = "";
  try {
    if (asOf && result) {
      for (let i = 0; i === 0 || i < result.rows.length; i += 1000)
        await write(result.rows.slice(i, i + 1000), i === 0);
      n = result.rows.length;
      detail = ` as of the end of ${asOf.date} (UTC; ${result.lakeRows.toLocaleString("en-US")} lake events of ${result.days} day(s), recency from ${result.recencyFrom})`;
    } else n = await runExport(config(), params, filter, write);
    if (format === "json") await out.write(`\n],"count":${n}}\n`);
  } finally {
    out.close();
  }
  process.stderr.write(
    `exported ${n.toLocaleString("en-US")} customers${detail}${flags.out ? ` to ${flags.out}` : ""} in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
  return ExitCode.OK;
}

/** Several tables: one CSV file each, into a directory (created when missing). */
function writeCsvDirectory(dir: string, files: readonly CsvFile[], overwrite: boolean): void {
  if (existsSync(dir) && !statSync(dir).isDirectory())
    throw new UsageError(
      `--out ${dir}: is a file; several tables are written as one CSV file each into a directory: give a directory`,
    );
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new CaplineError(
      "INPUT_INVALID",
      `--out ${dir}: cannot create the directory: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
  for (const f of files) writeOut(join(dir, f.name), f.text, overwrite);
}

/** Registers `capline report <name>`. */
export function registerReports(program: Command): void {
  withExamples(
    program
      .command("report")
      .description(
        "answer analysts' questions from the Elasticsearch profiles and sales aggregates, as a table, JSON, " +
          "CSV, Markdown or one self-contained HTML file with charts. Times are event times, UTC; --from is " +
          "inclusive, --to exclusive (a date-only --to includes that day). See docs/reports.md. " +
          "Exit codes: 0 done (also for a range without data), 1 failure, 2 bad usage or unknown report, " +
          "4 Elasticsearch unreachable, 6 no data yet (run ingest and process).",
      )
      .addArgument(new Argument("<name>", `${REPORT_NAMES.join(" | ")} | all`))
      .option("--from <time>", "first event time included: YYYY-MM-DD, 'YYYY-MM-DD HH:MM' (UTC) or ISO-8601")
      .option("--to <time>", "end of the range, exclusive (a date-only value includes that day)")
      .option(
        "--top <n>",
        "rows in leaderboards and rankings, 1 to 1000 (default 10)",
        positiveInt("--top", 1, MAX_TOP),
      )
      .option("--category <code>", "only this category_code (unknown = events without one)")
      .option("--brand <brand>", "only this brand (unknown = events without one)")
      .addOption(new Option("--format <format>", "output format").choices(FORMATS).default("table"))
      .option("--out <file>", "write to this file instead of standard output (a new file)")
      .option("--overwrite", "replace the --out file if it exists (otherwise refused)")
      .addOption(new Option("--by <period>", "revenue: period (default day)").choices(REVENUE_BY))
      .addOption(new Option("--split <dimension>", "revenue: split by").choices(SPLITS))
      .addOption(
        new Option("--metric <field>", "customers: rank by (default total_spent)").choices(CUSTOMER_METRICS),
      )
      .addOption(
        new Option("--sort <figure>", "products/categories/brands: rank by (default revenue)").choices(
          LEADERBOARD_SORTS,
        ),
      )
      .option(
        "--width <columns>",
        "table width (default: the terminal's; unlimited when piped)",
        positiveInt("--width", 20),
      )
      .addOption(
        new Option(
          "--compare <what>",
          "overview: compare with the previous period of the same length (default previous)",
        ).choices(COMPARE),
      )
      .option(
        "--currency <code>",
        "currency of the amounts, ISO 4217 (default REPORT_CURRENCY; none: plain numbers)",
      )
      .option("--segment <name>", `customers: only this RFM segment (${SEGMENT_NAMES.join(", ")})`)
      .option("--min-spend <amount>", "customers: total spent at least this")
      .option("--last-seen-before <time>", "customers: last seen before this time")
      .option("--last-seen-after <time>", "customers: last seen at or after this time")
      .option(
        "--as-of <date>",
        "customers --all: RFM segments, scores and figures as of the end of this UTC day (YYYY-MM-DD), from the lake's events up to it",
      )
      .option(
        "--all",
        "customers: every matching customer (streamed; with --format csv or json), not the top N",
      )
      .option("--verbose", "print how long each report took (queries, Elasticsearch time) on stderr")
      .option("--json", "same as --format json")
      .action(
        action(async (rawName: string, flags: ReportFlags) => {
          if (flags.overwrite && !flags.out)
            throw new CaplineError("USAGE", "--overwrite replaces the --out file: give --out FILE too");
          const name = parseReportName(rawName);
          // A refused --out is said before the queries run, not after.
          // (A directory is the CSV tables' destination: its files are checked as they are written.)
          if (flags.out && !(existsSync(flags.out) && statSync(flags.out).isDirectory()))
            checkOutputPath(flags.out, { flag: "--out", overwrite: flags.overwrite === true });
          const format: Format = flags.json ? "json" : flags.format;
          const targeting = [flags.segment, flags.minSpend, flags.lastSeenBefore, flags.lastSeenAfter].some(
            (v) => v !== undefined,
          );
          if (flags.asOf !== undefined && (name !== "customers" || !flags.all))
            throw new UsageError(
              "--as-of: for the customer export only: capline report customers --all --as-of DATE --format csv|json",
            );
          if ((flags.all || targeting) && name !== "customers")
            throw new UsageError(
              `${flags.all ? "--all" : "--segment, --min-spend and --last-seen-*"}: for the customers report only (capline report customers ...)`,
            );
          if (flags.all) return exportCommand(flags, format);
          const params = parseParams(flags);
          if (targeting) params.targeting = parseExportFilter(flags);
          const c = config();
          const currency = parseCurrency(flags.currency, c.report.currency);
          const started = performance.now();
          const results = await runReports(c, name === "all" ? "all" : [name], params, (report, why) =>
            process.stderr.write(`capline: ${report} left out: ${why}\n`),
          );
          const meta: ReportMeta = {
            dataset: { topic: c.kafka.topic, index_prefix: c.elasticsearch.indexPrefix },
            period: periodOf(params, results),
            compare: params.compare,
            previous_period:
              (results.find((r) => r.report === "overview")?.data
                .previous_period as ReportMeta["previous_period"]) ?? null,
            generated_at: new Date().toISOString(),
            time_zone: "UTC",
            currency,
          };
          if (format === "csv" && csvFiles(results).length > 1) {
            // One tidy table per file: several tables need a directory.
            const files = csvFiles(results);
            if (!flags.out)
              throw new UsageError(
                `--format csv: ${name} has ${files.length} tables and CSV holds one per file; give --out DIR to write ${files.map((f) => f.name).join(", ")}`,
              );
            writeCsvDirectory(flags.out, files, flags.overwrite === true);
            process.stderr.write(`wrote ${files.length} CSV files to ${flags.out}\n`);
          } else {
            const text = render(results, format, {
              width: terminalWidth(flags.width),
              all: name === "all",
              meta,
            });
            if (flags.out) {
              writeOut(flags.out, text, flags.overwrite === true);
              process.stderr.write(`wrote ${flags.out} (${Buffer.byteLength(text)} bytes, ${format})\n`);
            } else process.stdout.write(text);
          }
          for (const r of results) {
            if (r.empty) process.stderr.write(`capline: ${r.report}: no data in the selected range/filter\n`);
            if (flags.verbose)
              process.stderr.write(
                `${r.report}: ${r.timings.queries} queries, Elasticsearch ${r.timings.es_ms} ms (summed over parallel queries), total ${r.timings.total_ms} ms\n`,
              );
          }
          if (flags.verbose)
            process.stderr.write(`all done in ${Math.round(performance.now() - started)} ms\n`);
          return ExitCode.OK;
        }),
      ),
    [
      "capline report overview",
      "capline report revenue --by week --from 2019-10-01 --to 2019-10-31 --split category --top 5",
      "capline report funnel --category electronics.smartphone --format json",
      "capline report customers --top 20 --metric purchases --format csv --out top.csv",
      "capline report all --format html --out report.html --currency EUR",
      "capline report all --format csv --out tables/       # one CSV file per table",
      "capline report overview --from 2019-10-08 --to 2019-10-14 --compare previous",
      'capline report customers --segment "At risk" --all --format csv --out at-risk.csv',
      'capline report customers --segment "At risk" --all --as-of 2019-10-15 --format csv   # as they stood then',
      "capline report customers --segment Champions --min-spend 500 --last-seen-after 2019-10-15 --top 50",
    ],
  );
}
