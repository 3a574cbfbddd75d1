import { userInfo } from "node:os";
import { createInterface } from "node:readline/promises";
import { Queue } from "bullmq";
import { type Command, Option } from "commander";
import { action, config, ExitCode, output, positiveInt, withExamples } from "../../core/cli/index.ts";
import { createElasticsearch } from "../../core/clients/elasticsearch.ts";
import { checkRedisAuth, createRedis } from "../../core/clients/redis.ts";
import { CaplineError, UsageError } from "../../core/errors.ts";
import { KafkaAdmin, kafkaOptions } from "../../core/kafka/index.ts";
import { logger } from "../../core/logging.ts";
import { Progress } from "../../core/progress.ts";
import { count, num } from "../../core/text.ts";
import { compactStoresOf } from "../compact.ts";
import { ARCHIVE_QUEUE, INDEX_QUEUE } from "../jobs.ts";
import { settlesWithin } from "../retry.ts";
import { warnOnLakeWait } from "./lake-lock.ts";
import { tombstoneMs } from "./retention.ts";
import { type ForgetResult, forget } from "./run.ts";

/** Elasticsearch's most for a document `_id` (a profile's id is the user_id). */
const MAX_ID_BYTES = 512;

interface ForgetFlags {
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
  waitJobs?: number;
}

function checkIds(ids: readonly string[]): string[] {
  if (ids.length === 0) throw new UsageError("forget needs at least one USER_ID");
  for (const id of ids) {
    if (id.trim() === "")
      throw new UsageError("forget: an empty USER_ID was given; pass the customers' user_id values");
    if (Buffer.byteLength(id) > MAX_ID_BYTES)
      throw new UsageError(
        `forget: a USER_ID of ${Buffer.byteLength(id)} bytes is longer than any capline stores (${MAX_ID_BYTES})`,
      );
  }
  return [...new Set(ids)];
}

/** Asks on the terminal; without one, refuses (a script must say --yes). */
async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY)
    throw new UsageError(
      "forget deletes customers' data from every store and there is no terminal to ask on: pass --yes to confirm (or --dry-run to see what would change)",
    );
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

function human(r: ForgetResult): string {
  const would = r.dryRun ? "would be " : "";
  const c = r.counts;
  const lines = [
    `forget${r.dryRun ? " --dry-run" : ""}: ${count(r.customers, "customer")} (run ${r.runId})${r.alreadyDone ? ": done by an earlier run, nothing left to do" : ""}`,
    `  profiles ${would}deleted      ${num(c.profiles)}`,
    `  aggregates ${would}decremented ${num(c.aggregatesDecremented)}${c.aggregatesDeleted > 0 ? ` (${num(c.aggregatesDeleted)} ${would}deleted: no event left)` : ""}`,
    ...r.lake.map(
      (l) =>
        `  lake ${l.store.padEnd(5)}          ${count(l.files, "file")} ${would}rewritten, ${count(l.rows, "row")} ${would}removed`,
    ),
    `  DLQ records ${would}deleted   ${num(c.dlqRecords)}`,
  ];
  if (r.resumed.length > 0)
    lines.push(`  finished first: ${count(r.resumed.length, "interrupted run")} (${r.resumed.join(", ")})`);
  if (!r.dryRun)
    lines.push(
      `  forget list       ${r.tombstoneExpiresAt ? `until ${r.tombstoneExpiresAt}` : "for good"} (replays of the events topic leave them out)`,
      "Kafka keeps their events until the topic's retention has passed; docs/forget.md says how to shorten it.",
    );
  return lines.join("\n");
}

async function forgetCommand(userIds: string[], flags: ForgetFlags): Promise<number> {
  const ids = checkIds(userIds);
  const cfg = config();
  const log = logger("forget");
  if (!flags.dryRun && !flags.yes) {
    if (
      !(await confirm(
        `Forget ${count(ids.length, "customer")} in every store (profiles, aggregates, lake, DLQ)? [y/N] `,
      ))
    )
      throw new CaplineError("ABORTED", "forget cancelled; nothing was changed");
  }
  await checkRedisAuth(cfg);
  const connection = { url: cfg.redis.url, maxRetriesPerRequest: null } as const;
  const redis = createRedis(cfg);
  const leaseRedis = createRedis(cfg);
  const queues = {
    archive: new Queue(ARCHIVE_QUEUE, { connection, prefix: cfg.redis.queuePrefix }),
    index: new Queue(INDEX_QUEUE, { connection, prefix: cfg.redis.queuePrefix }),
  };
  const es = createElasticsearch(cfg);
  const kafka = kafkaOptions(cfg);
  const admin = new KafkaAdmin(kafka);
  // A bar per store and pass over the lake (the long part), on a terminal only.
  let bar: { store: string; progress: Progress } | undefined;
  const onLakeProgress = (store: string, done: number, total: number) => {
    if (bar?.store !== store || done === 0) {
      bar?.progress.done();
      bar = { store, progress: new Progress({ label: `forget: lake ${store}`, unit: "files" }) };
    }
    bar.progress.update({ done, total }, done === total);
  };
  try {
    const result = await forget(
      {
        es,
        redis,
        leaseRedis,
        queues,
        stores: compactStoresOf(cfg),
        queuePrefix: cfg.redis.queuePrefix,
        indexPrefix: cfg.elasticsearch.indexPrefix,
        topic: cfg.kafka.topic,
        dlq: { topic: cfg.kafka.dlqTopic, kafka, admin },
        tombstoneMs: () => tombstoneMs(cfg),
      },
      ids,
      {
        dryRun: flags.dryRun ?? false,
        actor: process.env.SUDO_USER || userInfo().username,
        ...(flags.waitJobs ? { barrierTimeoutMs: flags.waitJobs * 1000 } : {}),
        onPhase: (phase, facts) => log.info({ phase, ...facts }, `forget: ${phase}`),
        onLakeFile: (store, file, rows) => log.debug({ store, file, rows }, "lake file rewritten"),
        onLakeProgress,
        onLakeWait: warnOnLakeWait(log),
        onDlqStep: (step, partition, facts) =>
          log.debug({ step, partition, ...facts }, `DLQ partition ${step}`),
      },
    );
    bar?.progress.done();
    output({ ok: true, ...result }, flags.json, () => human(result));
    return ExitCode.OK;
  } finally {
    await settlesWithin(
      Promise.all([queues.archive.close(), queues.index.close(), es.close(), admin.close()]),
      2000,
    );
    redis.disconnect();
    leaseRedis.disconnect();
  }
}

/** Registers `capline forget USER_ID... [--dry-run] [--yes] [--json]`. */
export function registerForget(program: Command): void {
  withExamples(
    program
      .command("forget")
      .argument("<user_id...>", "the customers to erase (their user_id, as in the events)")
      .description(
        "erase customers everywhere (GDPR/CCPA): their profiles, their share of the daily and hourly " +
          "aggregates (taken out exactly), their rows in the lake in MinIO and HDFS (files rewritten " +
          "atomically under the same names), the DLQ's records that name them, with an audit record in the ops index (counts only). They go " +
          "on the forget list, so a replay of the events topic does not bring them back while Kafka still " +
          "holds their events. Safe to run while the pipeline runs, and after a kill: run it again and it " +
          "finishes the job. Exit codes: 0 done, 1 failure, 2 bad usage (or no --yes without a terminal), " +
          "4 a service unavailable, 130 not confirmed.",
      )
      .option("--dry-run", "show what would change, change nothing")
      .option("--yes", "do not ask for confirmation (needed when there is no terminal)")
      .option(
        "--wait-jobs <s>",
        "longest wait, in seconds, for processing jobs that were running when forget started (default 120)",
        positiveInt("--wait-jobs", 1, 86_400),
      )
      .addOption(new Option("--json", "print the result as JSON"))
      .action(action((ids: string[], flags: ForgetFlags) => forgetCommand(ids, flags))),
    [
      "capline forget 512475445 --dry-run      # what would change",
      "capline forget 512475445 518514099 --yes",
      "capline forget 512475445 --yes --json   # for scripts: counts, never the ids",
    ],
  );
}
