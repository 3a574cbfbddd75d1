import { type Command, InvalidArgumentError, Option } from "commander";
import { action, config, output, positiveInt, topicFlag, withExamples } from "../core/cli/index.ts";
import { CaplineError } from "../core/errors.ts";
import { ExitCode } from "../core/exit-codes.ts";
import { escapeControl } from "../core/redact.ts";
import { DLQ_REASONS, REJECT_REASONS, type RejectReason } from "../core/schema/reasons.ts";
import { count, didYouMean, num } from "../core/text.ts";
import { parseMapOption } from "../ingestion/index.ts";
import { dlqShow, dlqStats, type ShownEntry } from "./query.ts";
import { UNRECOGNISED_REASON } from "./records.ts";
import { runReplay } from "./replay.ts";
import { NOT_REPLAYABLE_DOCS, type NotReplayable } from "./replay-plan.ts";
import type { DayCount, DlqStats, FileCount } from "./stats.ts";

/** `capline dlq stats|show|replay` (docs/ingestion.md, "The DLQ"). */

interface CommonFlags {
  topic?: string;
  dlqTopic?: string;
  json?: boolean;
}

interface ShowFlags extends CommonFlags {
  reason?: string[];
  file?: string;
  kind: "refused" | "failed" | "all";
  limit: number;
}

interface ReplayFlags extends CommonFlags {
  reason?: RejectReason[];
  file?: string;
  map?: string;
  dryRun?: boolean;
  chunkRows?: number;
}

/** Every reason a DLQ entry can carry, for --reason. */
const ALL_REASONS: readonly string[] = [...DLQ_REASONS, UNRECOGNISED_REASON];

/** `--reason a,b` (or repeated): each a known reason, or the flag and the fix. */
function reasonFlag(known: readonly string[], forReplay: boolean) {
  return (raw: string, previous: string[] | undefined): string[] => {
    const out = [...(previous ?? [])];
    for (const part of raw.split(",")) {
      const reason = part.trim();
      if (known.includes(reason)) {
        out.push(reason);
        continue;
      }
      if (forReplay && ALL_REASONS.includes(reason))
        throw new InvalidArgumentError(
          `"${reason}" is a processing failure (a record a sink or the dispatcher refused), not a refused row: replay re-validates refused CSV rows only; see them with capline dlq show --reason ${reason}`,
        );
      const guess = didYouMean(reason, known);
      throw new InvalidArgumentError(
        `"${escapeControl(reason)}" is not a reason${guess ? ` (did you mean ${guess}?)` : ""}; reasons: ${known.join(", ")}`,
      );
    }
    return out;
  };
}

function fileFlag(raw: string): string {
  if (raw.trim() === "" || raw.length > 4096)
    throw new InvalidArgumentError(
      `takes a file name as ingest recorded it (e.g. data/events.csv or events.csv), got "${escapeControl(raw.slice(0, 80))}"`,
    );
  return raw;
}

function mapFlag(raw: string): string {
  try {
    parseMapOption(raw);
  } catch (error) {
    throw new InvalidArgumentError(
      error instanceof Error ? error.message.replace(/^--map: /, "") : String(error),
    );
  }
  return raw;
}

/**
 * A text from the DLQ shown on one terminal line: anyone who can write to the topic chose it, so
 * control characters, line breaks and tabs are escaped (never interpreted), and it is cut.
 */
export function printable(text: string, max = 400): string {
  const cut =
    text.length > max ? `${text.slice(0, max)}… (${num(text.length)} characters; --json for all)` : text;
  return escapeControl(cut).replace(/\n/g, "\\n").replace(/\t/g, "\\t");
}

function reasons(byReason: Record<string, number>): string {
  const parts = Object.entries(byReason)
    .filter(([, n]) => n > 0)
    .map(([r, n]) => `${r} ${num(n)}`);
  return parts.length > 0 ? parts.join(", ") : "none";
}

function groupLines(groups: readonly (FileCount | DayCount)[], label: (g: FileCount | DayCount) => string) {
  const labels = groups.map(label);
  const width = Math.min(60, Math.max(0, ...labels.map((l) => l.length)));
  return groups.map((g, i) => {
    const replayed = "replayed" in g && g.replayed > 0 ? `, ${num(g.replayed)} replayed` : "";
    return `    ${(labels[i] ?? "").padEnd(width)}  ${num(g.total).padStart(9)}  (${reasons(g.byReason)}${replayed})`;
  });
}

function statsText(s: DlqStats): string {
  const fileLabel = (g: FileCount | DayCount) =>
    "file" in g ? printable(g.file ?? "(no file)", 60) : (g as DayCount).day;
  const lines = [`DLQ ${printable(s.dlqTopic)}: ${count(s.records, "record")}`];
  lines.push(
    `refused rows (ingest): ${num(s.refused.total)}` +
      (s.refused.total > 0
        ? `, ${num(s.refused.replayed)} replayed into ${printable(s.topic)}, ${num(s.refused.pending)} pending`
        : ""),
  );
  if (s.refused.total > 0) {
    lines.push(`  by reason: ${reasons(s.refused.byReason)}`);
    lines.push("  by file:", ...groupLines(s.refused.byFile, fileLabel));
    lines.push("  by day:", ...groupLines(s.refused.byDay, fileLabel));
  }
  lines.push(
    `failed records (processing): ${num(s.failed.total)}` +
      (s.failed.total > 0
        ? ` (${num(s.failed.byStage.dispatch)} at the dispatcher, ${num(s.failed.byStage.process)} refused by a sink)`
        : ""),
  );
  if (s.failed.total > 0) {
    lines.push(`  by reason: ${reasons(s.failed.byReason)}`);
    lines.push("  by file:", ...groupLines(s.failed.byFile, fileLabel));
    lines.push("  by day:", ...groupLines(s.failed.byDay, fileLabel));
  }
  if (s.unrecognised.total > 0)
    lines.push(`unrecognised records (not written by capline): ${num(s.unrecognised.total)}`);
  if (s.repeats > 0)
    lines.push(`${count(s.repeats, "repeated record")} counted once (re-ingests, retried jobs)`);
  return lines.join("\n");
}

function entryText(e: ShownEntry): string {
  if (e.kind === "refused")
    return [
      `refused  ${printable(e.file, 120)}:${e.line}  ${e.reason}  ${printable(e.detail, 200)}${e.replayed ? "  (replayed)" : ""}`,
      `         ${printable(e.raw)}`,
    ].join("\n");
  if (e.kind === "failed") {
    const where = `${printable(e.source.topic, 120)}+${e.source.partition}+${e.source.offset}`;
    const sink = e.sink ? ` [${printable(e.sink, 60)}]` : "";
    return [
      `failed   ${where}  ${e.reason}${sink}  ${printable(e.detail, 200)}`,
      `         ${e.raw === null ? "(no value)" : printable(e.raw)}`,
    ].join("\n");
  }
  return [
    `unknown  partition ${e.partition} offset ${e.offset}  (not a record capline wrote)`,
    `         ${e.raw === null ? "(no value)" : printable(e.raw)}`,
  ].join("\n");
}

function commonOptions(command: Command): Command {
  return command
    .option("--topic <topic>", "events topic whose replays count (default KAFKA_TOPIC)", topicFlag("--topic"))
    .option("--dlq-topic <topic>", "the DLQ topic (default KAFKA_DLQ_TOPIC)", topicFlag("--dlq-topic"))
    .option("--json", "print JSON");
}

function checkTopics(flags: CommonFlags): { topic?: string; dlqTopic?: string } {
  const cfg = config();
  const topic = flags.topic ?? cfg.kafka.topic;
  const dlqTopic = flags.dlqTopic ?? cfg.kafka.dlqTopic;
  if (topic === dlqTopic)
    throw new CaplineError(
      "USAGE",
      `--dlq-topic: "${dlqTopic}" is also the events topic; give the topic the refused rows went to (e.g. ${topic}.dlq)`,
    );
  return { topic, dlqTopic };
}

export function registerDlq(program: Command): void {
  const dlq = program
    .command("dlq")
    .description(
      "the dead-letter queue: rows ingest refused and records processing could not write — count them, look at them, and send the repaired rows on exactly once",
    );
  withExamples(dlq, [
    "capline dlq stats",
    "capline dlq show --reason bad_price --file events.csv",
    "capline dlq replay --map ts=event_time,amount=price --dry-run",
  ]);

  withExamples(
    commonOptions(
      dlq
        .command("stats")
        .description(
          "count refused rows (by reason, file and day; replayed and pending) and failed records (by reason, stage, file and day)",
        ),
    ).action(
      action(async (flags: CommonFlags) => {
        const stats = await dlqStats(config(), checkTopics(flags));
        output(stats, flags.json, () => statsText(stats));
        return ExitCode.OK;
      }),
    ),
    [
      "capline dlq stats",
      "capline dlq stats --json | jq .refused.by_reason",
      "capline dlq stats --dlq-topic other.dlq",
    ],
  );

  withExamples(
    commonOptions(
      dlq
        .command("show")
        .description(
          "print the entries themselves: file and line, reason, detail and raw text (control characters escaped)",
        )
        .option(
          "--reason <reasons>",
          "only these reasons (comma-separated, or repeat the flag)",
          reasonFlag(ALL_REASONS, false),
        )
        .option("--file <file>", "only rows of this file (as ingested, or its last path segments)", fileFlag)
        .addOption(
          new Option("--kind <kind>", "refused rows, failed records or both")
            .choices(["refused", "failed", "all"])
            .default("all"),
        )
        .option(
          "--limit <n>",
          "entries shown at most (default 20)",
          positiveInt("--limit", 1, 1_000_000),
          20,
        ),
    ).action(
      action(async (flags: ShowFlags) => {
        const shown = await dlqShow(config(), {
          ...checkTopics(flags),
          limit: flags.limit,
          kind: flags.kind,
          ...(flags.reason ? { reasons: flags.reason } : {}),
          ...(flags.file !== undefined ? { file: flags.file } : {}),
        });
        output(shown, flags.json, () => {
          if (shown.matched === 0) return "no DLQ entry matches";
          const more =
            shown.matched > shown.entries.length
              ? `${num(shown.entries.length)} of ${count(shown.matched, "matching entry", "matching entries")} shown (--limit)`
              : count(shown.matched, "matching entry", "matching entries");
          return [...shown.entries.map(entryText), more].join("\n");
        });
        return ExitCode.OK;
      }),
    ),
    [
      "capline dlq show",
      "capline dlq show --reason bad_timestamp,bad_price --limit 100",
      "capline dlq show --file data/events.csv --json",
      "capline dlq show --kind failed",
    ],
  );

  withExamples(
    commonOptions(
      dlq
        .command("replay")
        .description(
          "validate refused rows again (with --map, or after changing the INGEST_* bounds) and send those that pass into the events topic, exactly once: a second replay sends nothing",
        )
        .addHelpText(
          "after",
          [
            "",
            "Event ids, values and source lines are those a clean ingest of the corrected file gives,",
            "so processing counts each event once even if the corrected file is ingested too.",
            "",
            "Exit codes:",
            "  0    every selected row passes now (sent, or sent by an earlier replay)",
            "  3    done, but some rows still fail or cannot be validated again (listed by reason)",
            "  2    bad flag, or a --map that does not fit a file's header",
            "  4    Kafka unavailable (KAFKA_BROKERS)",
            "  5    another replay into the same topic took over",
            "  6    no DLQ topic yet",
          ].join("\n"),
        )
        .option(
          "--reason <reasons>",
          "only rows refused for these reasons (comma-separated)",
          reasonFlag(REJECT_REASONS, true),
        )
        .option("--file <file>", "only rows of this file (as ingested, or its last path segments)", fileFlag)
        .option(
          "--map <mapping>",
          "column mapping csvColumn=field,... replacing the one the file was ingested with",
          mapFlag,
        )
        .option("--dry-run", "validate and report, send nothing")
        .option(
          "--chunk-rows <n>",
          "events per Kafka transaction (default 5000)",
          positiveInt("--chunk-rows", 1, 100_000),
        ),
    ).action(
      action(async (flags: ReplayFlags) => {
        const summary = await runReplay(config(), {
          ...checkTopics(flags),
          ...(flags.reason ? { reasons: flags.reason } : {}),
          ...(flags.file !== undefined ? { file: flags.file } : {}),
          ...(flags.map !== undefined ? { map: flags.map } : {}),
          ...(flags.chunkRows !== undefined ? { chunkRows: flags.chunkRows } : {}),
          dryRun: flags.dryRun === true,
        });
        output(summary, flags.json, () => {
          const verb = summary.dryRun ? "would send" : "sent";
          const lines = [
            `${count(summary.considered, "refused row")} considered: ${verb} ${count(summary.sent, "event")} into ${printable(summary.topic)}` +
              (summary.duplicates > 0 ? `, ${count(summary.duplicates, "duplicate")} counted once` : "") +
              (summary.alreadyReplayed > 0 ? `, ${num(summary.alreadyReplayed)} replayed before` : "") +
              (summary.transactions > 0 ? ` (${count(summary.transactions, "transaction")})` : ""),
          ];
          if (summary.stillFailing.total > 0)
            lines.push(
              `still failing: ${num(summary.stillFailing.total)} (${reasons(summary.stillFailing.byReason)})`,
            );
          for (const f of summary.files)
            for (const x of f.failing)
              lines.push(`  ${printable(f.file, 120)}:${x.line}  ${x.reason}  ${printable(x.detail, 200)}`);
          for (const [cause, n] of Object.entries(summary.notReplayable.byCause))
            if (n > 0)
              lines.push(
                `not replayable: ${num(n)} ${cause}: ${NOT_REPLAYABLE_DOCS[cause as NotReplayable]}`,
              );
          return lines.join("\n");
        });
        return summary.stillFailing.total + summary.notReplayable.total > 0 ? ExitCode.PARTIAL : ExitCode.OK;
      }),
    ),
    [
      "capline dlq replay --dry-run",
      "capline dlq replay --file events.csv --map ts=event_time,amount=price",
      "INGEST_EVENT_TIME_MIN=1980-01-01 capline dlq replay --reason bad_timestamp",
      "capline dlq replay --json",
    ],
  );
}
