import { CaplineError } from "../core/errors.ts";
import { type KafkaAdmin, type KafkaOptions, readCommittedPartition } from "../core/kafka/index.ts";
import { checkpointTopicOf, dlqReplayTopicOf } from "../core/names.ts";
import { parseCheckpoint } from "../ingestion/index.ts";
import { classifyDlqRecord, type DlqEntry } from "./records.ts";

/**
 * Reading what `capline dlq` works from, all read_committed (an aborted ingest's refused rows and
 * an aborted replay's marks are not there) and up to each partition's last stable offset when the
 * read began: the DLQ topic, the ingester's checkpoints (each file's header and mapping) and the
 * replay marks.
 */

/** Calls `onEntry` for every committed record of the DLQ topic, partition by partition. */
export async function readDlq(
  kafka: KafkaOptions,
  admin: KafkaAdmin,
  dlqTopic: string,
  onEntry: (entry: DlqEntry) => void,
): Promise<void> {
  const described = await admin.describeTopic(dlqTopic);
  if (!described)
    throw new CaplineError(
      "NO_DATA",
      `the DLQ topic "${dlqTopic}" does not exist: nothing was refused into it yet (run capline setup, then ingest), or --dlq-topic names another topic`,
    );
  for (const { partition } of described.partitions)
    await readCommittedPartition(kafka, dlqTopic, partition, (record) =>
      onEntry(classifyDlqRecord(partition, record)),
    );
}

/** What a file's newest checkpoint says about its columns. */
export interface FileHeader {
  file: string;
  /** The header row's fields; undefined when the ingest did not record them. */
  header: string[] | undefined;
  /** The --map of that ingest. */
  map: string | undefined;
}

/** Each ingested file's header and mapping, by file identity (the newest checkpoint wins). */
export async function readHeaders(
  kafka: KafkaOptions,
  admin: KafkaAdmin,
  topic: string,
): Promise<Map<string, FileHeader>> {
  const out = new Map<string, FileHeader>();
  const checkpoints = checkpointTopicOf(topic);
  if (!(await admin.describeTopic(checkpoints))) return out;
  await readCommittedPartition(kafka, checkpoints, 0, (record) => {
    const key = record.key?.toString();
    if (key === undefined) return;
    const cp = record.value ? parseCheckpoint(record.value) : undefined;
    if (!cp || cp.fileId !== key) {
      out.delete(key);
      return;
    }
    const header =
      Array.isArray(cp.header) && cp.header.every((f) => typeof f === "string") ? cp.header : undefined;
    out.set(key, { file: cp.file, header, map: typeof cp.map === "string" ? cp.map : undefined });
  });
  return out;
}

/** A refused row `dlq replay` is done with: sent as an event, or a duplicate of one it sent. */
export interface ReplayMark {
  v: 1;
  fileId: string;
  file: string;
  line: number;
  eventId: string;
  outcome: "sent" | "duplicate";
  runId: string;
  at: string;
}

export function parseMark(value: Buffer): ReplayMark | undefined {
  try {
    const m = JSON.parse(value.toString()) as ReplayMark;
    return m?.v === 1 && typeof m.fileId === "string" && Number.isSafeInteger(m.line) ? m : undefined;
  } catch {
    return undefined;
  }
}

/** The replay marks of `topic`, by refused-row identity (`<file id>:<line>`). */
export async function readMarks(
  kafka: KafkaOptions,
  admin: KafkaAdmin,
  topic: string,
): Promise<Map<string, ReplayMark>> {
  const out = new Map<string, ReplayMark>();
  const marks = dlqReplayTopicOf(topic);
  if (!(await admin.describeTopic(marks))) return out;
  await readCommittedPartition(kafka, marks, 0, (record) => {
    const key = record.key?.toString();
    if (key === undefined) return;
    // A tombstone (null value) forgets the mark, as compaction will.
    const mark = record.value ? parseMark(record.value) : undefined;
    if (mark) out.set(key, mark);
    else out.delete(key);
  });
  return out;
}
