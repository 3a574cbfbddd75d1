import { parquetReadObjects, type SchemaElement } from "hyparquet";
import { ByteWriter, parquetWrite } from "hyparquet-writer";
import { compressSync as snappy } from "snappy";
import { CaplineError } from "../core/errors.ts";
import { type CaplineEvent, ROW_FIELDS } from "../core/schema/events.ts";
import type { RangeEvent } from "./lake.ts";
import { isoMillis, toMillis } from "./time.ts";

/**
 * The Parquet encoding of lake files, behind one function (DESIGN.md, "Parquet writer"): a batch
 * is encoded once and the same bytes go to every store. Written column-wise with hyparquet-writer
 * and read back (compaction) with hyparquet, its sibling reader.
 *
 * For the lake's readers (DuckDB, Spark, pyarrow):
 * - `event_time` is a TIMESTAMP(MILLIS) with `isAdjustedToUTC = true` (an instant: DuckDB reads it
 *   as TIMESTAMP WITH TIME ZONE, pyarrow as `timestamp[ms, tz=UTC]`), with the matching legacy
 *   converted type TIMESTAMP_MILLIS for older readers;
 * - the columns readers filter on have statistics (min/max, null count) per row group, so engines
 *   skip row groups by event_time, event_type, user_id, price, source_line, kafka_partition or
 *   kafka_offset; string bounds are kept whole up to 64 bytes (every id of a real export),
 *   truncated beyond as the format allows. The other string columns have none: computing bounds
 *   of unique or unordered strings cost a fifth of the encoding's CPU for nothing an engine uses;
 * - strings that repeat (event types, categories, brands, file names) are dictionary-encoded
 *   where the writer finds it pays; ids as UTF8, price as DOUBLE, row groups of ROW_GROUP_SIZE
 *   rows; Snappy pages compressed by the native `snappy` package (hyparquet-writer's own
 *   compressor hook): its JavaScript Snappy was about 2 % of the processing CPU.
 *
 * Deterministic: the same rows (partition, order) always give the same bytes, so a rewrite is
 * identical and both stores hold the same file. The Kafka partition and offset of each row are
 * kept: they identify a row across files, which compaction and audits rely on.
 */

export const LAKE_COLUMNS = [
  "event_id",
  ...ROW_FIELDS,
  "source_file",
  "source_line",
  "kafka_partition",
  "kafka_offset",
] as const;

/** Rows per row group: large enough for efficient column chunks, small enough to bound memory. */
export const ROW_GROUP_SIZE = 16_384;

/** Bytes kept of a string column's min/max statistics. */
const STATISTICS_BYTES = 64;

const string = (name: string, optional = false): SchemaElement => ({
  name,
  type: "BYTE_ARRAY",
  converted_type: "UTF8",
  logical_type: { type: "STRING" },
  repetition_type: optional ? "OPTIONAL" : "REQUIRED",
});

/** The lake file schema, as Parquet schema elements (the root first). */
export const LAKE_SCHEMA: SchemaElement[] = [
  { name: "root", num_children: LAKE_COLUMNS.length },
  string("event_id"),
  {
    name: "event_time",
    type: "INT64",
    converted_type: "TIMESTAMP_MILLIS",
    logical_type: { type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" },
    repetition_type: "REQUIRED",
  },
  string("event_type"),
  string("product_id"),
  string("category_id"),
  string("category_code", true),
  string("brand", true),
  { name: "price", type: "DOUBLE", repetition_type: "REQUIRED" },
  string("user_id"),
  string("user_session"),
  string("source_file"),
  { name: "source_line", type: "INT64", repetition_type: "REQUIRED" },
  { name: "kafka_partition", type: "INT32", repetition_type: "REQUIRED" },
  { name: "kafka_offset", type: "INT64", repetition_type: "REQUIRED" },
];

/** Encodes the rows of one lake file (partition given, rows in the order given). */
export async function encodeParquet(partition: number, rows: readonly RangeEvent[]): Promise<Buffer> {
  const n = rows.length;
  const column = <T>(get: (row: RangeEvent) => T): T[] => {
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = get(rows[i] as RangeEvent);
    return out;
  };
  const writer = new ByteWriter();
  parquetWrite({
    writer,
    schema: LAKE_SCHEMA,
    columnData: [
      // Unique per row: neither a dictionary nor bounds would ever pay.
      {
        name: "event_id",
        data: utf8Column(column((r) => r.event.event_id)),
        encoding: "PLAIN",
        statistics: false,
      },
      { name: "event_time", data: column((r) => BigInt(toMillis(r.event.event_time))) },
      { name: "event_type", data: column((r) => r.event.event_type) },
      { name: "product_id", data: column((r) => r.event.product_id), statistics: false },
      { name: "category_id", data: column((r) => r.event.category_id), statistics: false },
      { name: "category_code", data: column((r) => r.event.category_code), statistics: false },
      { name: "brand", data: column((r) => r.event.brand), statistics: false },
      { name: "price", data: Float64Array.from(rows, (r) => r.event.price) },
      { name: "user_id", data: column((r) => r.event.user_id) },
      { name: "user_session", data: column((r) => r.event.user_session), statistics: false },
      { name: "source_file", data: column((r) => r.event.source.file), statistics: false },
      { name: "source_line", data: column((r) => BigInt(r.event.source.line)) },
      { name: "kafka_partition", data: new Int32Array(n).fill(partition) },
      { name: "kafka_offset", data: column((r) => BigInt(r.offset)) },
    ],
    codec: "SNAPPY",
    compressors: { SNAPPY: snappy },
    statistics: true,
    statisticsTruncateLength: STATISTICS_BYTES,
    rowGroupSize: ROW_GROUP_SIZE,
    createdBy: "capline",
  });
  return Buffer.from(writer.getBuffer());
}

/**
 * The UTF-8 bytes of each string, cut from one encoding of them all: hyparquet-writer encodes a
 * plain string column value by value with TextEncoder, about 0.4 µs a value against 0.1 µs here
 * (event_id, unique per row, is the one plain string column). The bytes are the same.
 */
function utf8Column(values: readonly string[]): Uint8Array[] {
  const text = values.join("");
  const all = Buffer.from(text, "utf8");
  // Only ASCII text has one byte per UTF-16 unit; anything else is encoded value by value.
  if (all.length !== text.length) return values.map((value) => Buffer.from(value, "utf8"));
  const out = new Array<Uint8Array>(values.length);
  let at = 0;
  for (let i = 0; i < values.length; i++) {
    const end = at + (values[i] as string).length;
    out[i] = all.subarray(at, end);
    at = end;
  }
  return out;
}

/**
 * The rows of a lake file back as the events they were written from, in file order: what
 * compaction merges. Read with hyparquet (no parquetjs-lite: it cannot read dictionary pages,
 * statistics or UTC timestamps).
 */
export async function decodeParquet(bytes: Buffer): Promise<Array<RangeEvent & { partition: number }>> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const rows = (await parquetReadObjects({ file, utf8: true })) as Array<Record<string, unknown>>;
  return rows.map((r) => ({
    partition: Number(r.kafka_partition),
    offset: Number(r.kafka_offset),
    event: {
      event_id: String(r.event_id),
      event_time: isoMillis(timeOf(r.event_time)),
      event_type: r.event_type as CaplineEvent["event_type"],
      product_id: String(r.product_id),
      category_id: String(r.category_id),
      category_code: (r.category_code ?? null) as string | null,
      brand: (r.brand ?? null) as string | null,
      price: Number(r.price),
      user_id: String(r.user_id),
      user_session: String(r.user_session),
      source: { file: String(r.source_file), line: Number(r.source_line) },
    },
  }));
}

function timeOf(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === "bigint" || typeof value === "number") return Number(value);
  throw new CaplineError("INTERNAL", `a lake file's event_time is not a timestamp (${typeof value})`);
}
