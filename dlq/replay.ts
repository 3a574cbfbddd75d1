import { randomUUID } from "node:crypto";
import type { Config } from "../core/config/index.ts";
import { CaplineError, describeError, ServiceUnavailableError } from "../core/errors.ts";
import {
  isRetryable,
  KafkaAdmin,
  type KafkaOptions,
  kafkaOptions,
  type OutgoingMessage,
  TransactionalProducer,
  waitForKafka,
} from "../core/kafka/index.ts";
import { logger } from "../core/logging.ts";
import { dlqReplayTopicOf, dlqReplayTransactionalId } from "../core/names.ts";
import { Progress } from "../core/progress.ts";
import { REJECT_REASONS, type RejectReason } from "../core/schema/reasons.ts";
import { DEFAULT_DUPLICATE_WINDOW, rowLimits } from "../ingestion/index.ts";
import { type ReplayMark, readDlq, readHeaders, readMarks } from "./read.ts";
import { fileMatches, type RefusedRow, refusedIdentity } from "./records.ts";
import {
  NOT_REPLAYABLE,
  type NotReplayable,
  planReplay,
  type ReplayEvent,
  type ReplayFilePlan,
} from "./replay-plan.ts";

/**
 * `capline dlq replay`: sends the refused rows that pass now into the events topic, exactly once.
 *
 * One transactional producer per events topic (`capline-dlq-replay.<topic>`): each transaction
 * holds a chunk of events AND, for each row of the chunk, its mark in the compacted
 * `<topic>.dlq-replays` (keyed `<file id>:<line>`). Either both are visible to read_committed
 * readers (the dispatcher, the next replay) or neither. A replay fences the previous producer of
 * the id first (a killed replay's open transaction is aborted, a running one stops with a
 * conflict), and only then reads the marks: so a kill -9 at any moment, a broker outage or two
 * replays at once still send each row once, and a second replay sends nothing.
 */

export interface ReplayOptions {
  /** @defaultValue config.kafka.topic */
  topic?: string;
  /** @defaultValue config.kafka.dlqTopic */
  dlqTopic?: string;
  /** Only rows refused for these reasons. */
  reasons?: readonly RejectReason[];
  /** Only rows of this file (its name as ingested, or its last path segments). */
  file?: string;
  /** A column mapping (csvColumn=field,...) replacing the one each file was ingested with. */
  map?: string;
  /** Validate and report, send nothing. */
  dryRun?: boolean;
  /** Events per transaction. @defaultValue 5000 */
  chunkRows?: number;
}

export interface ReplayFileSummary {
  file: string;
  format: string | null;
  sent: number;
  duplicates: number;
  alreadyReplayed: number;
  stillFailing: number;
  notReplayable: number;
  /** The first rows that still fail, with the reason they fail for now. */
  failing: { line: number; reason: RejectReason; detail: string }[];
}

export interface ReplaySummary {
  ok: true;
  runId: string;
  topic: string;
  dlqTopic: string;
  dryRun: boolean;
  /** Distinct refused rows that matched --reason and --file. */
  considered: number;
  /** Events sent into the topic by this run (with --dry-run: that would be sent). */
  sent: number;
  /** Rows that pass now but repeat an earlier row of their file (counted once, as ingest does). */
  duplicates: number;
  /** Rows an earlier replay sent (not sent again). */
  alreadyReplayed: number;
  /** Rows validated again that fail still, by the reason they fail for now. */
  stillFailing: { total: number; byReason: Record<RejectReason, number> };
  /** Rows that cannot be validated again, by why (README, "capline dlq"). */
  notReplayable: { total: number; byCause: Record<NotReplayable, number> };
  files: ReplayFileSummary[];
  transactions: number;
  seconds: number;
}

/** Events per transaction: with their marks, well within a transaction's timeout on a slow broker. */
export const DEFAULT_REPLAY_CHUNK = 5_000;

const MARKS_TOPIC_CONFIG: Readonly<Record<string, string>> = {
  "cleanup.policy": "compact",
  "segment.ms": String(60 * 60 * 1000),
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The distinct refused rows of the DLQ matching the filters (the first record of each wins). */
async function refusedRows(
  kafka: KafkaOptions,
  admin: KafkaAdmin,
  dlqTopic: string,
  options: ReplayOptions,
): Promise<RefusedRow[]> {
  const rows = new Map<string, RefusedRow>();
  const reasons = options.reasons && options.reasons.length > 0 ? new Set(options.reasons) : undefined;
  await readDlq(kafka, admin, dlqTopic, (entry) => {
    if (entry.kind !== "refused") return;
    if (reasons && !reasons.has(entry.reason)) return;
    if (!fileMatches(entry.file, options.file)) return;
    const id = refusedIdentity(entry);
    if (!rows.has(id)) rows.set(id, entry);
  });
  return [...rows.values()];
}

function markOf(event: ReplayEvent, outcome: ReplayMark["outcome"], runId: string): OutgoingMessage {
  const mark: ReplayMark = {
    v: 1,
    fileId: event.fileId,
    file: event.file,
    line: event.line,
    eventId: event.eventId,
    outcome,
    runId,
    at: new Date().toISOString(),
  };
  return { topic: "", key: event.identity, value: JSON.stringify(mark), partition: 0 };
}

interface Chunk {
  messages: OutgoingMessage[];
  identities: string[];
  events: number;
}

/**
 * The plans' events and marks cut into transactions of at most `size` events (marks ride along),
 * made one at a time: only the transaction under way is held as messages.
 */
function* chunksOf(
  plans: readonly ReplayFilePlan[],
  topic: string,
  size: number,
  runId: string,
): Generator<Chunk> {
  const marksTopic = dlqReplayTopicOf(topic);
  let current: Chunk = { messages: [], identities: [], events: 0 };
  const all = plans.flatMap((plan) => [
    ...plan.send.map((e) => [e, "sent"] as const),
    ...plan.duplicates.map((e) => [e, "duplicate"] as const),
  ]);
  for (const [event, outcome] of all) {
    if (outcome === "sent") {
      if (current.events >= size) {
        yield current;
        current = { messages: [], identities: [], events: 0 };
      }
      current.messages.push({ topic, key: event.key, value: event.value });
      current.events++;
    }
    current.messages.push({ ...markOf(event, outcome, runId), topic: marksTopic });
    current.identities.push(event.identity);
  }
  if (current.messages.length > 0) yield current;
}

export async function runReplay(config: Config, options: ReplayOptions): Promise<ReplaySummary> {
  const started = Date.now();
  const log = logger("dlq");
  const topic = options.topic ?? config.kafka.topic;
  const dlqTopic = options.dlqTopic ?? config.kafka.dlqTopic;
  const runId = randomUUID();
  const kafka = kafkaOptions(config);
  await waitForKafka(kafka);
  const admin = new KafkaAdmin(kafka);
  const producer = options.dryRun
    ? undefined
    : new TransactionalProducer(kafka, { transactionalId: dlqReplayTransactionalId(topic) });
  let transactions = 0;
  try {
    const existing = new Set(await admin.listTopics());
    if (!existing.has(topic))
      throw new CaplineError(
        "CONFIG_INVALID",
        `the events topic "${topic}" does not exist: run capline setup (or give --topic the topic the file was ingested into)`,
      );
    // Nothing to replay (readDlq says so, with the fix) before anything is created or fenced.
    if (!existing.has(dlqTopic)) await readDlq(kafka, admin, dlqTopic, () => undefined);
    if (producer) {
      if (!existing.has(dlqReplayTopicOf(topic)))
        await admin.createTopic(
          {
            topic: dlqReplayTopicOf(topic),
            partitions: 1,
            replicationFactor: config.kafka.replicationFactor,
            configs: MARKS_TOPIC_CONFIG,
          },
          { ifMissing: true },
        );
      // Before the marks are read: a killed replay's open transaction is aborted, a running one fenced.
      await producer.fence();
    }
    const marks = await readMarks(kafka, admin, topic);
    const headers = await readHeaders(kafka, admin, topic);
    const rows = await refusedRows(kafka, admin, dlqTopic, options);
    const plans = planReplay({
      rows,
      headers,
      replayed: (id) => marks.has(id),
      map: options.map,
      limits: rowLimits(config.ingest, started),
      duplicateWindow: DEFAULT_DUPLICATE_WINDOW,
    });
    const total = plans.reduce((n, p) => n + p.send.length, 0);
    const settled = total + plans.reduce((n, p) => n + p.duplicates.length, 0);
    if (producer && settled > 0) {
      const progress = new Progress({ label: `dlq replay into ${topic}`, unit: "events" });
      let done = 0;
      try {
        for (const chunk of chunksOf(plans, topic, options.chunkRows ?? DEFAULT_REPLAY_CHUNK, runId)) {
          await commitChunk(config, kafka, admin, producer, topic, chunk);
          transactions++;
          done += chunk.events;
          progress.update({ done, total });
        }
      } finally {
        progress.done();
      }
      log.info({ topic, events: total, transactions }, "refused rows replayed");
    }
    return summarise(plans, {
      runId,
      topic,
      dlqTopic,
      dryRun: options.dryRun === true,
      considered: rows.length,
      transactions,
      seconds: (Date.now() - started) / 1000,
    });
  } finally {
    await producer?.close();
    await admin.close();
  }
}

/**
 * One chunk, committed. A broker failure: reconnect and fence (nothing of the failed attempt can
 * commit any more), then ask the marks whether the chunk committed before the failure; send it
 * again only if not. Gives up after KAFKA_CONNECT_TIMEOUT_MS of outage, naming the brokers.
 */
async function commitChunk(
  config: Config,
  kafka: KafkaOptions,
  admin: KafkaAdmin,
  producer: TransactionalProducer,
  topic: string,
  chunk: Chunk,
): Promise<void> {
  const deadline = Date.now() + config.kafka.connectTimeoutMs;
  for (let delay = 500; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      await producer.transact(chunk.messages);
      return;
    } catch (error) {
      if (error instanceof CaplineError && error.code === "CONFLICT")
        throw new CaplineError(
          "CONFLICT",
          `another capline dlq replay into ${topic} took over; this one stops (run one replay at a time)`,
          { cause: error },
        );
      if (!isRetryable(error))
        throw new CaplineError("SERVICE_ERROR", `Kafka refused the replay: ${describeError(error)}`, {
          cause: error,
        });
      if (Date.now() + delay > deadline) {
        if (error instanceof ServiceUnavailableError) throw error;
        throw new ServiceUnavailableError("Kafka", kafka.brokers.join(","), describeError(error), {
          cause: error,
        });
      }
      logger("dlq").warn({ error: describeError(error) }, "Kafka failed during a replay; reconnecting");
      await sleep(delay);
      await waitForKafka(kafka, Math.max(0, deadline - Date.now()));
      await producer.fence();
      const marks = await readMarks(kafka, admin, topic);
      if (chunk.identities.every((id) => marks.has(id))) return;
    }
  }
}

function summarise(
  plans: readonly ReplayFilePlan[],
  run: Pick<
    ReplaySummary,
    "runId" | "topic" | "dlqTopic" | "dryRun" | "considered" | "transactions" | "seconds"
  >,
): ReplaySummary {
  const still = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
  const causes = Object.fromEntries(NOT_REPLAYABLE.map((c) => [c, 0])) as Record<NotReplayable, number>;
  const sum = (record: Record<string, number>) => Object.values(record).reduce((a, b) => a + b, 0);
  const files: ReplayFileSummary[] = plans.map((p) => {
    for (const r of REJECT_REASONS) still[r] += p.stillFailing[r];
    for (const c of NOT_REPLAYABLE) causes[c] += p.notReplayable[c];
    return {
      file: p.file,
      format: p.format ?? null,
      sent: p.send.length,
      duplicates: p.duplicates.length,
      alreadyReplayed: p.alreadyReplayed,
      stillFailing: sum(p.stillFailing),
      notReplayable: sum(p.notReplayable),
      failing: p.failingExamples,
    };
  });
  return {
    ok: true,
    ...run,
    sent: files.reduce((n, f) => n + f.sent, 0),
    duplicates: files.reduce((n, f) => n + f.duplicates, 0),
    alreadyReplayed: files.reduce((n, f) => n + f.alreadyReplayed, 0),
    stillFailing: { total: sum(still), byReason: still },
    notReplayable: { total: sum(causes), byCause: causes },
    files,
  };
}
