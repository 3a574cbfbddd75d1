import type { Config } from "../core/config/index.ts";
import { KafkaAdmin, kafkaOptions, waitForKafka } from "../core/kafka/index.ts";
import { readDlq, readMarks } from "./read.ts";
import { type DlqEntry, fileMatches, refusedIdentity } from "./records.ts";
import { type DlqStats, StatsCollector } from "./stats.ts";

/** `capline dlq stats` and `capline dlq show`: reading the DLQ topic, sending nothing. */

export interface QueryOptions {
  /** @defaultValue config.kafka.topic (whose replay marks count as replayed) */
  topic?: string;
  /** @defaultValue config.kafka.dlqTopic */
  dlqTopic?: string;
}

async function withKafka<T>(
  config: Config,
  fn: (kafka: ReturnType<typeof kafkaOptions>, admin: KafkaAdmin) => Promise<T>,
): Promise<T> {
  const kafka = kafkaOptions(config);
  await waitForKafka(kafka);
  const admin = new KafkaAdmin(kafka);
  try {
    return await fn(kafka, admin);
  } finally {
    await admin.close();
  }
}

export function dlqStats(config: Config, options: QueryOptions = {}): Promise<DlqStats> {
  const topic = options.topic ?? config.kafka.topic;
  const dlqTopic = options.dlqTopic ?? config.kafka.dlqTopic;
  return withKafka(config, async (kafka, admin) => {
    const marks = await readMarks(kafka, admin, topic);
    const stats = new StatsCollector((id) => marks.has(id));
    await readDlq(kafka, admin, dlqTopic, (entry) => stats.add(entry));
    return stats.result(topic, dlqTopic);
  });
}

export interface ShowOptions extends QueryOptions {
  /** Only entries with one of these reasons (refused rows' or failed records'). */
  reasons?: readonly string[];
  /** Only entries of this file (as for `--file`: the name as ingested, or its last segments). */
  file?: string;
  /** `refused`, `failed` or both (unrecognised records only without --reason and --file). */
  kind?: "refused" | "failed" | "all";
  /** Entries shown at most. */
  limit: number;
}

export type ShownEntry = DlqEntry & { replayed?: boolean };

export interface ShowResult {
  ok: true;
  dlqTopic: string;
  /** Entries matching the filters (each refused row once). */
  matched: number;
  /** The first `limit` of them, in topic order (partition, offset). */
  entries: ShownEntry[];
}

export function dlqShow(config: Config, options: ShowOptions): Promise<ShowResult> {
  const topic = options.topic ?? config.kafka.topic;
  const dlqTopic = options.dlqTopic ?? config.kafka.dlqTopic;
  const reasons = options.reasons && options.reasons.length > 0 ? new Set(options.reasons) : undefined;
  const kind = options.kind ?? "all";
  return withKafka(config, async (kafka, admin) => {
    const marks = await readMarks(kafka, admin, topic);
    const seen = new Set<string>();
    const entries: ShownEntry[] = [];
    let matched = 0;
    await readDlq(kafka, admin, dlqTopic, (entry) => {
      if (kind !== "all" && entry.kind !== kind) return;
      if (entry.kind === "unrecognised") {
        if (reasons || options.file !== undefined) return;
      } else {
        if (reasons && !reasons.has(entry.reason)) return;
        if (!fileMatches(entry.file, options.file)) return;
      }
      let shown: ShownEntry = entry;
      if (entry.kind === "refused") {
        const id = refusedIdentity(entry);
        if (seen.has(id)) return;
        seen.add(id);
        shown = { ...entry, replayed: marks.has(id) };
      }
      matched++;
      if (entries.length < options.limit) entries.push(shown);
    });
    return { ok: true, dlqTopic, matched, entries };
  });
}
