import type { Command } from "commander";
import { action, config, ExitCode, positiveInt, withExamples } from "../core/cli/index.ts";
import { Progress } from "../core/progress.ts";
import { escapeControl } from "../core/redact.ts";
import { count, num } from "../core/text.ts";
import { describeSource } from "./input.ts";
import { type FileProfile, inspectFile, profileJson } from "./inspect.ts";
import { rowLimits } from "./rows.ts";

const share = (part: number, whole: number) => (whole === 0 ? "-" : `${((100 * part) / whole).toFixed(1)}%`);

/** The profile for people. */
export function renderProfile(p: FileProfile): string {
  const c = p.counts;
  const e = p.events;
  const lines = [
    `${p.file}: ${p.format} header${
      p.format === "mapped" || p.format === "custom"
        ? ` (${Object.entries(p.mapping)
            .filter(([, column]) => column !== null)
            .map(([field, column]) => `${column}→${field}`)
            .join(", ")})`
        : ""
    }`,
    `  ${count(c.rows, "row")}: ${count(c.sent, "event")} would be sent, ${num(c.rejected)} refused, ${count(c.duplicates, "duplicate")}`,
  ];
  const reasons = Object.entries(c.rejectedByReason).filter(([, n]) => n > 0);
  for (const [reason, n] of reasons) {
    lines.push(`    ${reason}: ${num(n)}`);
    for (const x of p.examples[reason] ?? []) lines.push(`      line ${num(x.line)}: ${x.detail}`);
  }
  if (c.sent > 0) {
    lines.push(
      `  events: ${Object.entries(e.by_type)
        .map(([type, n]) => `${type} ${num(n)}`)
        .join(", ")}`,
      `  ${e.first_event_time} … ${e.last_event_time} (${count(Object.keys(e.by_day).length, "day")}), ` +
        `${count(e.customers, "customer")}, ${count(e.sessions, "session")}`,
      `  empty brand ${share(e.empty_brand, c.sent)}, empty category_code ${share(e.empty_category_code, c.sent)}, ` +
        `zero price ${num(e.zero_price)}, negative price ${num(p.negative_prices)} (refused)`,
    );
  }
  lines.push(
    `  read ${(p.bytes / 1e6).toFixed(1)} MB in ${p.seconds.toFixed(1)} s (${num(p.rows_per_second)} rows/s); nothing was sent`,
  );
  return lines.join("\n");
}

/** Registers `capline inspect FILE...`. */
export function registerInspect(program: Command): void {
  withExamples(
    program
      .command("inspect")
      .summary("profile input files without sending anything")
      .description(
        "the data-quality profile of CSV inputs, without sending anything: header and mapping, rows refused by " +
          "reason with the first examples and their lines, duplicates, events per type and per day, date range, " +
          "customers, sessions, empty brand and category code, zero and negative prices. The same parser and " +
          "validator as `capline ingest`, so the counts are the ones ingest would report. " +
          "Exit codes: 0 every row valid, 2 unreadable file or header, 3 some rows would be refused",
      )
      .argument("<files...>", "CSV files (.csv or .csv.gz; - for standard input)")
      .option("--map <mapping>", "column mapping, as for ingest (csvColumn=field,...)")
      .option("--examples <n>", "examples shown per refusal reason (default 3)", positiveInt("--examples", 0))
      .option("--json", "print the profiles as JSON"),
    [
      "capline inspect data/2019-Oct.csv.gz",
      "capline inspect export.csv --map ts=event_time,uid=user_id,type=event_type,sku=product_id,amount=price",
      "capline inspect data/*.csv --json | jq '.files[] | {file, rejected_by_reason}'",
    ],
  ).action(
    action(async (files: string[], opts: { map?: string; examples?: number; json?: boolean }) => {
      const profiles: FileProfile[] = [];
      for (const file of files) {
        const source = describeSource(file);
        const bar = new Progress({
          label: `inspect ${escapeControl(source.name)}`,
          ...(source.size !== undefined ? { totalBytes: source.size } : {}),
        });
        const profile = await inspectFile(file, {
          ...(opts.map !== undefined ? { map: opts.map } : {}),
          ...(opts.examples !== undefined ? { examples: opts.examples } : {}),
          limits: rowLimits(config().ingest),
          onProgress: (rows, bytes) => bar.update({ done: rows, bytes }),
        });
        bar.done();
        profiles.push(profile);
        if (!opts.json) process.stdout.write(`${renderProfile(profile)}\n`);
      }
      if (opts.json)
        process.stdout.write(`${JSON.stringify({ files: profiles.map(profileJson) }, null, 2)}\n`);
      return profiles.some((p) => p.counts.rejected > 0) ? ExitCode.PARTIAL : ExitCode.OK;
    }),
  );
}
