import { type Command, InvalidArgumentError, Option } from "commander";
import { action, config, output, positiveInt, topicFlag, withExamples } from "../core/cli/index.ts";
import { CaplineError } from "../core/errors.ts";
import { ExitCode } from "../core/exit-codes.ts";
import { escapeControl } from "../core/redact.ts";
import { count } from "../core/text.ts";
import { generate } from "./generator.ts";
import { runIngest } from "./ingest.ts";
import type { IngestSummary } from "./types.ts";

function positiveNumber(flag: string) {
  return (raw: string): number => {
    const value = Number(raw);
    if (!/^\d+(\.\d+)?$/.test(raw) || !(value > 0) || value > 1e9)
      throw new InvalidArgumentError(
        `${flag} takes a number > 0 and <= 1000000000, got "${escapeControl(raw)}"`,
      );
    return value;
  };
}

interface GenerateFlags {
  out: string;
  events?: number;
  days?: number;
  eventsPerDay?: number;
  users?: number;
  startDate?: string;
  seed?: number;
  format: "rees46" | "short";
  gzip?: boolean;
  append?: boolean;
  overwrite?: boolean;
  json?: boolean;
}

interface IngestFlags {
  topic?: string;
  dlqTopic?: string;
  rate?: number;
  replaySpeed?: number;
  maxEvents?: number;
  map?: string;
  rejects?: string;
  overwrite?: boolean;
  force?: boolean;
  json?: boolean;
  chunkRows?: number;
}

const fmt = new Intl.NumberFormat("en-US");

function humanSummary(s: IngestSummary): string {
  const lines: string[] = [];
  for (const summary of s.files) {
    // A file name is shown as text, never as terminal control sequences.
    const f = { ...summary, file: escapeControl(summary.file) };
    if (f.status === "already_ingested") {
      lines.push(
        `${f.file}: already ingested completely into ${s.topic} (${f.ingestedAt ?? "earlier"}: ${count(f.sent, "event")}); nothing sent. Use --force to send it again.`,
      );
      continue;
    }
    const reasons = Object.entries(f.rejectedByReason)
      .filter(([, n]) => n > 0)
      .map(([r, n]) => `${r} ${fmt.format(n)}`)
      .join(", ");
    lines.push(
      `${f.file}: ${count(f.rows, "row")} → ${count(f.sent, "event")} sent` +
        `${f.rejected > 0 ? `, ${fmt.format(f.rejected)} rejected${reasons ? ` (${reasons})` : ""}` : ""}` +
        `${f.duplicates > 0 ? `, ${count(f.duplicates, "duplicate")}` : ""}` +
        `${f.resumedFromLine > 0 ? `; resumed after line ${fmt.format(f.resumedFromLine)}` : ""}` +
        ` in ${f.seconds.toFixed(1)} s (${fmt.format(f.rowsPerSecond)} rows/s, ${f.mbPerSecond} MB/s)`,
    );
    if (f.status === "stopped")
      lines.push(`  stopped by --max-events at line ${f.lastLine}; run again to continue`);
    if (f.status === "interrupted")
      lines.push(`  interrupted at line ${f.lastLine}; run the same command again to resume`);
  }
  const refused = s.files.some((f) => f.status !== "already_ingested" && f.rejected > 0);
  lines.push(`topic ${s.topic}${refused ? `, refused rows in ${s.dlqTopic}` : ""}`);
  return lines.join("\n");
}

/** Registers `capline generate` and `capline ingest`. */
export function registerIngestion(program: Command): void {
  withExamples(
    program
      .command("generate")
      .description("write a realistic REES46-style sample file (deterministic for a seed)")
      .requiredOption("--out <file>", "output CSV file (.gz with --gzip)")
      .option(
        "--events <n>",
        "total rows (default 885129, the REES46 electronics size)",
        positiveInt("--events", 0),
      )
      .option("--days <d>", "days covered (default 30)", positiveInt("--days", 1, 36_500))
      .option("--events-per-day <n>", "rows per day (with --days)", positiveInt("--events-per-day"))
      .option(
        "--users <u>",
        "distinct users, each appearing at least once given about 5 rows per user (default: rows / 11, drawn with a Zipf law)",
        positiveInt("--users"),
      )
      .option("--start-date <YYYY-MM-DD>", "first day, UTC (default 2019-10-01)")
      .option("--seed <s>", "random seed (default 42)", positiveInt("--seed", 0))
      .addOption(
        new Option("--format <format>", "header and columns").choices(["rees46", "short"]).default("rees46"),
      )
      .option("--gzip", "gzip the output")
      .option("--append", "add rows to an existing file")
      .option("--overwrite", "replace --out if it exists (otherwise refused)")
      .option("--json", "print the summary as JSON")
      .action(
        action(async (flags: GenerateFlags) => {
          if (flags.events !== undefined && flags.eventsPerDay !== undefined) {
            throw new CaplineError("USAGE", "give either --events or --days with --events-per-day, not both");
          }
          if (flags.append && flags.overwrite)
            throw new CaplineError(
              "USAGE",
              "--append adds to the file, --overwrite replaces it: give one of them",
            );
          const summary = await generate(flags);
          output(
            summary,
            flags.json,
            () =>
              `wrote ${fmt.format(summary.rows)} rows (${fmt.format(summary.duplicates)} exact duplicates, ` +
              `${fmt.format(summary.users)} users, ${fmt.format(summary.products)} products, ${summary.days} days) ` +
              `to ${summary.file} in ${summary.seconds.toFixed(1)} s`,
          );
          return ExitCode.OK;
        }),
      ),
    [
      "capline generate --out data/events.csv",
      "capline generate --out data/week.csv.gz --days 7 --events-per-day 20000 --seed 7 --gzip",
      "capline generate --out data/events.csv --append --start-date 2019-11-01 --days 1 --events-per-day 5000",
    ],
  );

  withExamples(
    program
      .command("ingest")
      .description(
        "validate CSV rows and send them to Kafka exactly once (refused rows to the DLQ); resumable",
      )
      .addHelpText(
        "after",
        [
          "",
          "Exit codes:",
          "  0    every row sent (or counted as a duplicate)",
          "  3    done, but some rows were refused (DLQ, --rejects)",
          "  2    bad usage, unreadable or empty file, header lacking a required column",
          "  4    Kafka unavailable (KAFKA_BROKERS; retried for KAFKA_CONNECT_TIMEOUT_MS)",
          "  5    a file was already ingested completely (nothing sent; --force to resend)",
          "  130  interrupted (run the same command again to resume)",
        ].join("\n"),
      )
      .argument("<files...>", "CSV files (.gz too), or - for standard input")
      .option("--topic <topic>", "events topic (default KAFKA_TOPIC)", topicFlag("--topic"))
      .option(
        "--dlq-topic <topic>",
        "topic of refused rows (default KAFKA_DLQ_TOPIC)",
        topicFlag("--dlq-topic"),
      )
      .option("--rate <events_per_s>", "send at most this many events per second", positiveNumber("--rate"))
      .option(
        "--replay-speed <x>",
        "pace by event time: 60 = one hour of data per minute",
        positiveNumber("--replay-speed"),
      )
      .option("--max-events <n>", "stop after n events (a rerun continues)", positiveInt("--max-events"))
      .option("--map <mapping>", "column mapping csvColumn=field,... (fields: the REES46 names)")
      .option("--rejects <file>", "also write refused rows (line, reason, raw text) to this CSV (a new file)")
      .option("--overwrite", "replace the --rejects file if it exists (otherwise refused)")
      .option(
        "--force",
        "send a file again even if it was ingested completely before (its events are then processed again: run `capline reset` first to rebuild from scratch)",
      )
      .option(
        "--chunk-rows <n>",
        "rows per Kafka transaction (default 20000)",
        positiveInt("--chunk-rows", 1, 1_000_000),
      )
      .option("--json", "print the summary as one JSON object")
      .action(
        action(async (files: string[], flags: IngestFlags) => {
          if (flags.rate !== undefined && flags.replaySpeed !== undefined)
            throw new CaplineError(
              "USAGE",
              "--rate and --replay-speed cannot be combined: --rate caps events per second, --replay-speed paces by event time; give one of them",
            );
          if (flags.overwrite && flags.rejects === undefined)
            throw new CaplineError(
              "USAGE",
              "--overwrite replaces the --rejects file: give --rejects FILE too",
            );
          const cfg = config();
          const topic = flags.topic ?? cfg.kafka.topic;
          const dlqTopic = flags.dlqTopic ?? cfg.kafka.dlqTopic;
          if (topic === dlqTopic)
            throw new CaplineError(
              "USAGE",
              `--dlq-topic: "${dlqTopic}" is also the events topic; refused rows need a topic of their own (e.g. ${topic}.dlq)`,
            );
          const controller = new AbortController();
          const onSigint = () => {
            if (controller.signal.aborted) process.exit(ExitCode.ABORTED);
            process.stderr.write(
              "\ncapline: stopping after the chunk under way (Ctrl-C again to quit at once)\n",
            );
            controller.abort();
          };
          process.on("SIGINT", onSigint);
          process.on("SIGTERM", onSigint);
          try {
            const summary = await runIngest(cfg, { files, ...flags, signal: controller.signal });
            output(summary, flags.json, () => humanSummary(summary));
            if (summary.files.some((f) => f.status === "interrupted")) return ExitCode.ABORTED;
            if (summary.files.some((f) => f.status === "already_ingested")) return ExitCode.CONFLICT;
            return summary.rejected > 0 ? ExitCode.PARTIAL : ExitCode.OK;
          } finally {
            process.off("SIGINT", onSigint);
            process.off("SIGTERM", onSigint);
          }
        }),
      ),
    [
      "capline ingest data/events.csv",
      "capline ingest data/2019-Oct.csv.gz --rejects rejects.csv --json",
      "zcat export.csv.gz | capline ingest - --topic customer-events",
      "capline ingest short.csv --map ts=event_time,customer=user_id",
      "capline ingest data/events.csv --replay-speed 3600   # one hour of events per second",
    ],
  );
}
