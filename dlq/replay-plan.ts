import { CaplineError, UsageError } from "../core/errors.ts";
import { REJECT_REASONS, type RejectReason } from "../core/schema/reasons.ts";
import {
  type ColumnMap,
  CsvParser,
  parseMapOption,
  type RowLimits,
  RowValidator,
  rawWasCut,
  resolveHeader,
} from "../ingestion/index.ts";
import type { FileHeader } from "./read.ts";
import { type RefusedRow, refusedIdentity } from "./records.ts";

/**
 * What `capline dlq replay` does with each refused row, decided without Kafka (unit-tested): the
 * rows of each file go, in line order, through the ingester's own parser, header resolution and
 * validator (ingestion/), with the file's recorded header, the mapping (`--map`, or the one the
 * ingest used) and today's row bounds, exactly as a clean ingest of the corrected file would see
 * them: the same event ids (from the row's content in the canonical column order), the same
 * values, the same `source` {file, line}, the same duplicates.
 *
 * A row already replayed (its mark is in `<topic>.dlq-replays`) still goes through the validator,
 * so that the duplicate window sees what a clean ingest sees, but is not sent again.
 */

/** Why a refused row cannot be validated again at all. */
export const NOT_REPLAYABLE = ["malformed_row", "raw_cut", "no_header"] as const;
export type NotReplayable = (typeof NOT_REPLAYABLE)[number];

export const NOT_REPLAYABLE_DOCS: Record<NotReplayable, string> = {
  malformed_row:
    "the row itself is broken (fields, quoting, line length, bytes): no mapping or bound repairs it; fix the file and ingest it again",
  raw_cut: "the DLQ keeps only the first characters of so long a row; fix the file and ingest it again",
  no_header:
    "the ingest did not record the file's header (an older capline, or an oversized header); ingest the fixed file again",
};

export interface ReplayEvent {
  identity: string;
  fileId: string;
  file: string;
  line: number;
  eventId: string;
  key: string;
  value: string;
}

export interface ReplayFilePlan {
  file: string;
  fileId: string | undefined;
  /** How the header was read with the mapping in force (rees46, short, mapped, custom). */
  format: string | undefined;
  /** Rows that pass now and go to the events topic. */
  send: ReplayEvent[];
  /** Rows that pass now but repeat an earlier row of the file: marked done, not sent. */
  duplicates: ReplayEvent[];
  alreadyReplayed: number;
  stillFailing: Record<RejectReason, number>;
  /** The first rows that still fail, with their new reason. */
  failingExamples: { line: number; reason: RejectReason; detail: string }[];
  notReplayable: Record<NotReplayable, number>;
}

export interface ReplayPlanInput {
  /** The refused rows to consider (filtered, one per identity). */
  rows: readonly RefusedRow[];
  headers: ReadonlyMap<string, FileHeader>;
  /** Identities already replayed. */
  replayed: (identity: string) => boolean;
  /** The raw --map, replacing each file's own mapping. */
  map: string | undefined;
  limits: RowLimits;
  duplicateWindow: number;
  /** Examples of still-failing rows kept per file. @defaultValue 5 */
  examples?: number;
}

const zero = <K extends string>(keys: readonly K[]) =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

function emptyPlan(file: string, fileId: string | undefined): ReplayFilePlan {
  return {
    file,
    fileId,
    format: undefined,
    send: [],
    duplicates: [],
    alreadyReplayed: 0,
    stillFailing: zero(REJECT_REASONS),
    failingExamples: [],
    notReplayable: zero(NOT_REPLAYABLE),
  };
}

/** The columns of a file under the mapping in force; a --map that does not fit names --map. */
function columnsOf(header: FileHeader, file: string, map: string | undefined): ColumnMap {
  const raw = map ?? header.map;
  try {
    return resolveHeader(header.header ?? [], file, raw === undefined ? undefined : parseMapOption(raw));
  } catch (error) {
    if (!(error instanceof CaplineError)) throw error;
    const which = map === undefined ? "the mapping its ingest used" : "--map";
    throw new UsageError(
      `${which} does not fit ${file}'s header: ${error.message}` +
        (map === undefined
          ? ""
          : "; give a mapping of this header's columns, or --file to replay other files"),
      { cause: error },
    );
  }
}

/** One record of a refused row's raw text, or undefined when it is not exactly one record. */
function recordOf(raw: string, columns: number, line: number, maxLineChars: number) {
  const parser = new CsvParser(maxLineChars);
  parser.setExpectedFields(columns);
  const records = [...parser.push(raw), ...parser.end()];
  const record = records[0];
  if (records.length !== 1 || !record) return undefined;
  return { ...record, line };
}

export function planReplay(input: ReplayPlanInput): ReplayFilePlan[] {
  const examples = input.examples ?? 5;
  const byFile = new Map<string, RefusedRow[]>();
  for (const row of input.rows) {
    const key = row.fileId ?? `name:${row.file}`;
    const rows = byFile.get(key);
    if (rows) rows.push(row);
    else byFile.set(key, [row]);
  }
  const plans: ReplayFilePlan[] = [];
  for (const rows of byFile.values()) {
    rows.sort((a, b) => a.line - b.line);
    const first = rows[0] as RefusedRow;
    const plan = emptyPlan(first.file, first.fileId);
    plans.push(plan);
    const header = first.fileId === undefined ? undefined : input.headers.get(first.fileId);
    if (first.fileId === undefined || header?.header === undefined) {
      plan.notReplayable.no_header += rows.length;
      continue;
    }
    const columns = columnsOf(header, first.file, input.map);
    plan.format = columns.format;
    // The validator names the file as the first record of it does (a clean ingest under that name).
    const validator = new RowValidator(columns, first.file, input.duplicateWindow, input.limits);
    validator.checkCharacters = true;
    for (const row of rows) {
      if (row.reason === "malformed_row") {
        plan.notReplayable.malformed_row++;
        continue;
      }
      if (rawWasCut(row)) {
        plan.notReplayable.raw_cut++;
        continue;
      }
      const identity = refusedIdentity(row);
      const done = input.replayed(identity);
      const record = recordOf(row.raw, columns.columns, row.line, input.limits.maxLineChars);
      const outcome = record
        ? validator.process(record)
        : ({
            kind: "reject",
            row: { reason: "malformed_row", detail: "the raw text is not one CSV record" },
          } as const);
      if (done) {
        plan.alreadyReplayed++;
        continue;
      }
      if (outcome.kind === "reject") {
        plan.stillFailing[outcome.row.reason]++;
        if (plan.failingExamples.length < examples)
          plan.failingExamples.push({
            line: row.line,
            reason: outcome.row.reason,
            detail: outcome.row.detail,
          });
        continue;
      }
      const event: ReplayEvent = {
        identity,
        fileId: first.fileId,
        file: first.file,
        line: row.line,
        eventId: outcome.kind === "event" ? outcome.event.event_id : outcome.event_id,
        key: outcome.kind === "event" ? outcome.event.user_id : "",
        value: outcome.kind === "event" ? outcome.value : "",
      };
      if (outcome.kind === "event") plan.send.push(event);
      else plan.duplicates.push(event);
    }
  }
  return plans;
}
