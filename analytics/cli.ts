import { Argument, type Command, Option } from "commander";
import { action, config, ExitCode, positiveInt, withExamples } from "../core/cli/index.ts";
import { CaplineError } from "../core/errors.ts";
import { checkOutputPath, writeOutputFile } from "../core/output-file.ts";
import { render } from "./format/index.ts";
import {
  CUSTOMER_METRICS,
  FORMATS,
  type Format,
  LEADERBOARD_SORTS,
  parseParams,
  parseReportName,
  type RawReportFlags,
  REPORT_NAMES,
  REVENUE_BY,
  SPLITS,
} from "./options.ts";
import { runReports } from "./run.ts";

interface ReportFlags extends RawReportFlags {
  format: Format;
  out?: string;
  overwrite?: boolean;
  verbose?: boolean;
  json?: boolean;
  width?: number;
}

/**
 * Largest --top: a leaderboard is read in one aggregation (terms size, shard_size ten times it) or
 * one page of hits; beyond a thousand rows a report is an export, which `--format csv` of a
 * narrower range or the Elasticsearch index itself serves better.
 */
const MAX_TOP = 1000;

/** Terminal width for tables: --width, else the TTY's, else $COLUMNS, else 100. */
function terminalWidth(flag: number | undefined): number {
  if (flag) return flag;
  if (process.stdout.isTTY && process.stdout.columns) return process.stdout.columns;
  const env = Number(process.env.COLUMNS);
  return Number.isInteger(env) && env > 20 ? env : 100;
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
      .option("--width <columns>", "table width (default: the terminal's)", positiveInt("--width", 20))
      .option("--verbose", "print how long each report took (queries, Elasticsearch time) on stderr")
      .option("--json", "same as --format json")
      .action(
        action(async (rawName: string, flags: ReportFlags) => {
          if (flags.overwrite && !flags.out)
            throw new CaplineError("USAGE", "--overwrite replaces the --out file: give --out FILE too");
          const name = parseReportName(rawName);
          // A refused --out is said before the queries run, not after.
          if (flags.out) checkOutputPath(flags.out, { flag: "--out", overwrite: flags.overwrite === true });
          const params = parseParams(flags);
          const format: Format = flags.json ? "json" : flags.format;
          const started = performance.now();
          const results = await runReports(config(), name === "all" ? "all" : [name], params, (report, why) =>
            process.stderr.write(`capline: ${report} left out: ${why}\n`),
          );
          const text = render(results, format, terminalWidth(flags.width), name === "all");
          if (flags.out) {
            // Never over an existing file without --overwrite, never through a link (core/output-file.ts).
            writeOutputFile(flags.out, text, { flag: "--out", overwrite: flags.overwrite === true });
            process.stderr.write(`wrote ${flags.out} (${Buffer.byteLength(text)} bytes, ${format})\n`);
          } else process.stdout.write(text);
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
      "capline report all --format html --out report.html",
    ],
  );
}
