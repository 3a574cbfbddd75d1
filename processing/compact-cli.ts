import { type Command, InvalidArgumentError, Option } from "commander";
import { action, config, ExitCode, output, positiveInt, withExamples } from "../core/cli/index.ts";
import { checkRedisAuth, createRedis } from "../core/clients/redis.ts";
import { logger } from "../core/logging.ts";
import { count, num } from "../core/text.ts";
import { type CompactedDay, committedOffsets, compactStores, compactStoresOf } from "./compact.ts";
import { LakeLock, warnOnLakeWait } from "./forget/lake-lock.ts";

function date(raw: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(raw) || Number.isNaN(Date.parse(`${raw}T00:00:00Z`)))
    throw new InvalidArgumentError(`--date takes a UTC day as YYYY-MM-DD, got "${raw}"`);
  return raw;
}

function human(days: readonly CompactedDay[]): string {
  if (days.length === 0) return "compact: no lake files";
  return days
    .map(
      (d) =>
        `${d.store} dt=${d.dt}: ${num(d.filesBefore)} → ${count(d.filesAfter, "file")}` +
        (d.merged.length > 0 ? ` (${num(d.merged.length)} merged)` : "") +
        (d.leftoversRemoved > 0
          ? `, ${count(d.leftoversRemoved, "leftover")} of an interrupted run removed`
          : ""),
    )
    .join("\n");
}

/** Registers `capline compact [--date D] [--json]`. */
export function registerCompact(program: Command): void {
  withExamples(
    program
      .command("compact")
      .description(
        "merge a day's small Parquet files (one per range) into one file per Kafka partition, in MinIO " +
          "and in HDFS. Only rows the dispatcher group has committed are merged. The merged file is " +
          "published before its inputs are deleted, so no row is ever missing; plain readers see the " +
          "inputs' rows twice only until the deletes finish (dedupe by kafka_partition, kafka_offset to " +
          "be exact at every instant); a killed run is finished by the next. It waits (up to 2 minutes) " +
          "while `capline forget` rewrites the lake, and forget waits for it. " +
          "Exit codes: 0 done, 1 failure, 2 bad usage, 4 a service unavailable, 5 the lake still busy with forget.",
      )
      .option("--date <YYYY-MM-DD>", "only this UTC day (default: every day of the lake)", date)
      .option(
        "--target-mb <n>",
        "largest input size merged into one file, in MiB (default 128)",
        positiveInt("--target-mb", 1, 10_240),
      )
      .addOption(new Option("--json", "print what was done as JSON"))
      .action(
        action(async (flags: { date?: string; targetMb?: number; json?: boolean }) => {
          const cfg = config();
          const log = logger("compact");
          const committed = await committedOffsets(cfg);
          // Not while `capline forget` rewrites the lake: a merge of a file read before forget
          // rewrote it would publish the forgotten rows again. Compactions may run together.
          await checkRedisAuth(cfg);
          const redis = createRedis(cfg);
          try {
            const lock = await LakeLock.acquire(redis, cfg.redis.queuePrefix, "capline compact", {
              mode: "shared",
              onWait: warnOnLakeWait(log),
            });
            try {
              const days = await compactStores(compactStoresOf(cfg), cfg.kafka.topic, committed, {
                ...(flags.date ? { date: flags.date } : {}),
                ...(flags.targetMb ? { targetBytes: flags.targetMb * 1024 * 1024 } : {}),
                onMerged: (store, merge) => log.info({ store, ...merge }, "merged file published"),
              });
              output(flags.json ? { ok: true, days } : days, flags.json, () => human(days));
              return ExitCode.OK;
            } finally {
              await lock.release();
            }
          } finally {
            redis.disconnect();
          }
        }),
      ),
    [
      "capline compact                      # every day, both stores",
      "capline compact --date 2019-10-01    # one day",
      "capline compact --json",
    ],
  );
}
