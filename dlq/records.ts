import type { CommittedRecord } from "../core/kafka/index.ts";
import { isRejectReason, type RejectReason } from "../core/schema/reasons.ts";

/**
 * What a record of the DLQ topic is. Three writers share the topic (docs/decisions.md, "The DLQ
 * you can query and replay"):
 *
 * - the ingester's refused rows (`refused`): key = the file's name, value = `{file, line, raw,
 *   reason, detail, file_id}` (file_id since the DLQ became replayable);
 * - processing's failed records (`failed`): key = `<topic>+<partition>+<offset>`, value =
 *   `{source: {topic, partition, offset}, raw, reason, detail}`, plus `sink` and `stage: "process"`
 *   from a worker (the dispatcher's have neither);
 * - anything else (`unrecognised`): the topic is open to any producer.
 *
 * Every field is checked before it is used, since anyone who can write to the topic chose it: the
 * texts stay text (the CLI escapes them before they reach a terminal), numbers are whole and in
 * range, a reason is a plain identifier, and no value is trusted to be small.
 */

export interface DlqPlace {
  partition: number;
  offset: number;
  /** UTC day the record entered the DLQ (its Kafka timestamp), `YYYY-MM-DD`; `unknown` without one. */
  day: string;
}

export interface RefusedRow extends DlqPlace {
  kind: "refused";
  file: string;
  /** The file's identity (sha256 of its content, or `stdin-<run>`); absent in older records. */
  fileId: string | undefined;
  line: number;
  raw: string;
  reason: RejectReason;
  detail: string;
}

export interface FailedRecord extends DlqPlace {
  kind: "failed";
  reason: string;
  detail: string;
  raw: string | null;
  /** `dispatch` (not an event, or an event no sink can hold) or `process` (a sink refused it). */
  stage: "dispatch" | "process";
  sink: string | undefined;
  source: { topic: string; partition: number; offset: number };
  /** The input file of the event, when the record holds an event that says so. */
  file: string | undefined;
}

export interface UnrecognisedRecord extends DlqPlace {
  kind: "unrecognised";
  /** The value's first characters (null: no value). */
  raw: string | null;
}

export type DlqEntry = RefusedRow | FailedRecord | UnrecognisedRecord;

/** Longest text kept of any field of a record (the ingester keeps 4,096 characters of a raw row). */
export const MAX_FIELD_CHARS = 16 * 1024;
/** Longest file name accepted in a record. */
const MAX_FILE_CHARS = 4096;
const REASON = /^[a-z][a-z0-9_]{0,63}$/;
const FILE_ID = /^(?:[0-9a-f]{64}|stdin-[0-9a-f-]{36})$/;
/** The reason a failed record is counted under when its own is not a plain identifier. */
export const UNRECOGNISED_REASON = "unrecognised";

function dayOf(timestamp: number): string {
  if (!Number.isFinite(timestamp) || timestamp <= 0) return "unknown";
  const d = new Date(timestamp);
  return Number.isNaN(d.getTime()) ? "unknown" : d.toISOString().slice(0, 10);
}

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const text = (v: unknown, max = MAX_FIELD_CHARS): v is string => typeof v === "string" && v.length <= max;

function cut(value: string, max = MAX_FIELD_CHARS): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

/** The input file named by an event's `source.file`, if `raw` is such an event. */
function eventFile(raw: string | null): string | undefined {
  if (raw === null || raw.length > 4 * MAX_FIELD_CHARS) return undefined;
  try {
    const event = JSON.parse(raw) as { source?: { file?: unknown } };
    const file = event?.source?.file;
    return text(file, MAX_FILE_CHARS) && file !== "" ? file : undefined;
  } catch {
    return undefined;
  }
}

export function classifyDlqRecord(partition: number, record: CommittedRecord): DlqEntry {
  const place = { partition, offset: record.offset, day: dayOf(record.timestamp) };
  const value = record.value?.toString("utf8") ?? null;
  const unrecognised = (): UnrecognisedRecord => ({
    kind: "unrecognised",
    ...place,
    raw: value === null ? null : cut(value, 1024),
  });
  if (value === null || value.length > 8 * MAX_FIELD_CHARS) return unrecognised();
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return unrecognised();
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return unrecognised();
  const v = parsed as Record<string, unknown>;
  if (
    text(v.file, MAX_FILE_CHARS) &&
    v.file !== "" &&
    isCount(v.line) &&
    v.line >= 1 &&
    text(v.raw) &&
    isRejectReason(v.reason) &&
    text(v.detail)
  ) {
    return {
      kind: "refused",
      ...place,
      file: v.file,
      fileId: typeof v.file_id === "string" && FILE_ID.test(v.file_id) ? v.file_id : undefined,
      line: v.line,
      raw: v.raw,
      reason: v.reason,
      detail: v.detail,
    };
  }
  const source = v.source as Record<string, unknown> | undefined;
  if (
    typeof source === "object" &&
    source !== null &&
    text(source.topic, 249) &&
    isCount(source.partition) &&
    isCount(source.offset) &&
    typeof v.reason === "string" &&
    (v.raw === null || typeof v.raw === "string")
  ) {
    const raw = typeof v.raw === "string" ? v.raw : null;
    return {
      kind: "failed",
      ...place,
      reason: REASON.test(v.reason) ? v.reason : UNRECOGNISED_REASON,
      detail: typeof v.detail === "string" ? cut(v.detail) : "",
      raw: raw === null ? null : cut(raw),
      stage: v.stage === "process" ? "process" : "dispatch",
      sink: typeof v.sink === "string" ? cut(v.sink, 256) : undefined,
      source: { topic: source.topic, partition: source.partition, offset: source.offset },
      file: eventFile(raw),
    };
  }
  return unrecognised();
}

/**
 * One refused row, however often it was refused: the file (by content when the record says) and
 * the line. A `--force` re-ingest refuses the same rows again; they count, show and replay once.
 */
export function refusedIdentity(row: Pick<RefusedRow, "file" | "fileId" | "line">): string {
  return row.fileId === undefined ? `name:${row.file}:${row.line}` : `${row.fileId}:${row.line}`;
}

/** One failed record: the message's place, the sink and the reason (a retried job sends it again). */
export function failedIdentity(record: FailedRecord): string {
  const s = record.source;
  return `${s.topic}+${s.partition}+${s.offset}|${record.sink ?? ""}|${record.reason}`;
}

/** `--file F` matches a recorded name equal to F or ending in `/F` (`events.csv` for `data/events.csv`). */
export function fileMatches(recorded: string | undefined, wanted: string | undefined): boolean {
  if (wanted === undefined) return true;
  if (recorded === undefined) return false;
  return recorded === wanted || recorded.endsWith(`/${wanted}`);
}
