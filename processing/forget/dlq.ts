import { CsvParser } from "../../ingestion/index.ts";

/**
 * Which DLQ records name a forgotten customer (docs/forget.md, "The DLQ"), and how a DLQ partition
 * is rewritten without them. Pure: the Kafka side is in dlq-kafka.ts.
 *
 * "Where they can be identified" means: the record's `raw` is a message of the events topic (the
 * dispatcher's and the workers' records: a JSON event) whose `user_id` is the customer's, or a
 * refused CSV row (the ingester's) one of whose fields, split as CSV, equals the customer's id
 * exactly. A row too broken to split is searched as text for the id between separators. A record
 * naming nobody (a value that is not capline's) is kept.
 */

export interface DlqMessage {
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
}

/** The user ids a DLQ record's value may name (none when it cannot be read). */
export function customersNamed(value: Buffer | string | null): string[] {
  if (value === null) return [];
  let record: { raw?: unknown };
  try {
    record = JSON.parse(typeof value === "string" ? value : value.toString("utf8")) as { raw?: unknown };
  } catch {
    return [];
  }
  const raw = record?.raw;
  if (typeof raw !== "string") return [];
  try {
    const event = JSON.parse(raw) as { user_id?: unknown };
    if (event && typeof event === "object" && typeof event.user_id === "string") return [event.user_id];
    if (event && typeof event === "object") return [];
  } catch {
    // not JSON: a CSV row
  }
  const parser = new CsvParser(raw.length + 2);
  const records = [...parser.push(`${raw}\n`), ...parser.end()];
  const fields = records.flatMap((r) => (r.broken ? [] : r.fields));
  if (fields.length > 0) return [...new Set(fields.map((f) => f.trim()).filter((f) => f !== ""))];
  return [...new Set(raw.split(/[,;\t"\s]+/).filter((f) => f !== ""))];
}

export interface DlqRewrite {
  /** Offsets of the records that name a forgotten customer. */
  dropped: number[];
  /** The records before the last dropped one that stay: produced again, in order, at the end. */
  keep: DlqMessage[];
  /** Every record below this offset is then deleted (Kafka's DeleteRecords). */
  deleteBefore: number;
}

/**
 * The rewrite of one DLQ partition (its records from the start, in offset order): undefined when
 * no record names a forgotten customer. The records after the last dropped one stay where they are.
 */
export function planDlqRewrite(
  records: readonly DlqMessage[],
  isForgotten: (user: string) => boolean,
): DlqRewrite | undefined {
  const dropped: number[] = [];
  for (const r of records) if (customersNamed(r.value).some(isForgotten)) dropped.push(r.offset);
  const last = dropped[dropped.length - 1];
  if (last === undefined) return undefined;
  const gone = new Set(dropped);
  return { dropped, keep: keptBelow(records, last + 1, (r) => gone.has(r.offset)), deleteBefore: last + 1 };
}

/**
 * The records of a partition below `deleteBefore` that stay (`dropped` says which go): what the
 * rewrite copies to the end, in order, before it deletes below that offset. The plan and a rerun
 * that only has the recorded offset both take them from here.
 */
export function keptBelow<R extends DlqMessage>(
  records: readonly R[],
  deleteBefore: number,
  dropped: (record: R) => boolean,
): R[] {
  return records.filter((r) => r.offset < deleteBefore && !dropped(r));
}
