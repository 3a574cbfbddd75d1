import { Argument, type Command, Option } from "commander";
import { action, config, ExitCode, output, positiveInt, withExamples } from "../core/cli/index.ts";
import { logger } from "../core/logging.ts";
import { Progress, type ProgressState } from "../core/progress.ts";
import { count, num } from "../core/text.ts";
import { type ProcessProgress, type ProcessSummary, type Role, runProcess } from "./run.ts";

interface ProcessFlags {
  concurrency?: number;
  untilIdle?: boolean;
  rangeSize?: number;
  maxInFlight?: number;
  lockMs?: number;
  rfmEvery?: number;
  json?: boolean;
}

function human(s: ProcessSummary): string {
  const parts = [`process (${s.role}) ${s.status === "idle" ? "finished: lag 0, queues empty" : "stopped"}`];
  parts.push(`in ${s.seconds.toFixed(1)} s`);
  if (s.dispatcher)
    parts.push(
      `dispatched ${count(s.dispatcher.events, "event")} in ${count(s.dispatcher.ranges, "range")}` +
        `${s.dispatcher.dlq > 0 ? ` (${num(s.dispatcher.dlq)} to the DLQ)` : ""}` +
        `${s.dispatcher.duplicates > 0 ? `, ${count(s.dispatcher.duplicates, "duplicate")} left out` : ""}, ${num(s.events_per_second)} events/s`,
    );
  if (s.workers)
    parts.push(`archived ${num(s.workers.archived)}, indexed ${count(s.workers.indexed, "event")}`);
  return parts.join("; ");
}

/**
 * How far this run is, in events: each event is dispatched, archived and indexed, and counts a
 * third for each, so the bar moves from the first range a worker finishes rather than only when
 * Kafka offsets are committed (after both sinks took a whole range: tens of seconds at first).
 * A dispatcher alone (its workers run elsewhere) counts what the group committed.
 */
export function progressOf(p: ProcessProgress): ProgressState {
  const total = p.committed !== undefined && p.backlog !== undefined ? p.committed + p.backlog : undefined;
  const steps =
    p.dispatcher && p.workers
      ? Math.round((p.dispatcher.events + p.workers.archived + p.workers.indexed) / 3)
      : (p.committed ?? 0);
  const done = total === undefined ? steps : Math.min(Math.max(steps, p.committed ?? 0), total);
  return {
    done,
    ...(total !== undefined ? { total } : {}),
    ...(p.backlog !== undefined ? { extra: { uncommitted: p.backlog } } : {}),
  };
}

/** After SIGINT/SIGTERM the process ends within this long, cleanly or not. */
const STOP_DEADLINE_MS = 15_000;

/** Registers `capline process [all|dispatcher|worker]`. */
export function registerProcessing(program: Command): void {
  withExamples(
    program
      .command("process")
      .description(
        "consume the events topic into the Parquet lake (MinIO + HDFS) and Elasticsearch, exactly once. " +
          "Roles: all (default; dispatcher and workers in one process), dispatcher (Kafka → BullMQ queues), " +
          "worker (archive and index jobs; run as many as you like). Ctrl-C/SIGTERM stop cleanly: work in " +
          "flight is finished, or replayed by the next run; never lost or doubled. " +
          "Exit codes: 0 stopped or idle, 1 failure, 2 bad usage, 4 a service unavailable, 130 interrupted.",
      )
      .addArgument(
        new Argument("[role]", "all | dispatcher | worker")
          .choices(["all", "dispatcher", "worker"])
          .default("all"),
      )
      .option(
        "--concurrency <n>",
        "jobs at once per queue in this process (default 2)",
        positiveInt("--concurrency", 1, 256),
      )
      .option("--until-idle", "exit 0 once the lag is zero and the queues are empty")
      .option(
        "--range-size <n>",
        "largest range of messages per job (default 20000)",
        positiveInt("--range-size", 1, 1_000_000),
      )
      .option(
        "--max-in-flight <n>",
        "ranges in flight per partition before it is paused (default 4)",
        positiveInt("--max-in-flight", 1, 1000),
      )
      .option(
        "--lock-ms <ms>",
        "job lock: a job of a worker that died runs again after this long (default 30000)",
        positiveInt("--lock-ms", 1000, 3_600_000),
      )
      .option(
        "--rfm-every <s>",
        "recompute RFM scores and segments every s seconds (default 300; 0 = never)",
        positiveInt("--rfm-every", 0, 604_800),
      )
      .addOption(new Option("--json", "print the summary as JSON"))
      .action(
        action(async (role: Role, flags: ProcessFlags) => {
          const log = logger("process");
          let interrupted: NodeJS.Signals | undefined;
          const stopSignal = new Promise<void>((resolve) => {
            const stop = (signal: NodeJS.Signals) => {
              if (interrupted) return;
              interrupted = signal;
              log.info({ signal }, "stopping: finishing jobs in hand; the rest is replayed by the next run");
              // The last resort: whatever still waits (a service that is gone, a start-up step
              // that never answered), the process ends; as after a kill, the next run replays
              // what was in flight.
              setTimeout(() => {
                log.error({ signal, after_ms: STOP_DEADLINE_MS }, "stop did not finish in time; exiting");
                process.exit(signal === "SIGINT" ? ExitCode.ABORTED : ExitCode.OK);
              }, STOP_DEADLINE_MS).unref();
              resolve();
            };
            process.once("SIGINT", stop);
            process.once("SIGTERM", stop);
          });
          const bar = new Progress({ label: `process (${role})`, unit: "events" });
          bar.update({ done: 0 }, true);
          const summary = await runProcess(config(), {
            role,
            ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
            ...(flags.rangeSize ? { rangeSize: flags.rangeSize } : {}),
            ...(flags.maxInFlight ? { maxInFlight: flags.maxInFlight } : {}),
            ...(flags.lockMs ? { lockMs: flags.lockMs } : {}),
            ...(flags.rfmEvery !== undefined ? { rfmEveryMs: flags.rfmEvery * 1000 } : {}),
            untilIdle: flags.untilIdle === true,
            stopSignal,
            progressEveryMs: bar.enabled ? 1000 : 5000,
            onProgress: (p) => {
              // A bar on a terminal; a log line every 5 s otherwise (services, CI logs).
              if (bar.enabled) bar.update(progressOf(p));
              else log.info(p, "progress");
            },
          });
          bar.done();
          output(summary, flags.json, () => human(summary));
          // Connections the shutdown had to abandon (Redis unreachable) can keep reconnecting and
          // hold the event loop open: the work is done, so do not wait for them.
          setTimeout(() => process.exit(), 2000).unref();
          return interrupted === "SIGINT" ? ExitCode.ABORTED : ExitCode.OK;
        }),
      ),
    [
      "capline process --until-idle            # the simple case: everything, then exit",
      "capline process dispatcher              # one per machine set; partitions shared by the group",
      "capline process worker --concurrency 4  # add as many as you need",
    ],
  );
}
