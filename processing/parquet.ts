import { ByteWriter, parquetWrite } from "hyparquet-writer";
import parquet from "parquetjs-lite";
import { CaplineError } from "../core/errors.ts";
import { ROW_FIELDS } from "../core/schema/events.ts";
import type { RangeEvent } from "./lake.ts";
import { toMillis } from "./time.ts";

/**
 * The Parquet encoding of lake files, behind one function (DESIGN.md, "Parquet writer"): a batch
 * is encoded once and the same bytes go to every store. Typed columns (TIMESTAMP event_time, UTF8
 * ids, DOUBLE price), Snappy-compressed, PLAIN-encoded v2 data pages (read by DuckDB, Spark, pyarrow,
 * parquetjs-lite alike). `lakeSchema` describes the same columns for parquetjs-lite (compaction).
 * The Kafka partition and offset of each row are kept: they identify a row across files, which
 * compaction and audits rely on.
 */

const { ParquetSchema } = parquet;

const snappy = { compression: "SNAPPY" } as const;

export const LAKE_COLUMNS = [
  "event_id",
  ...ROW_FIELDS,
  "source_file",
  "source_line",
  "kafka_partition",
  "kafka_offset",
] as const;

export const lakeSchema = new ParquetSchema({
  event_id: { type: "UTF8", ...snappy },
  event_time: { type: "TIMESTAMP_MILLIS", ...snappy },
  event_type: { type: "UTF8", ...snappy },
  product_id: { type: "UTF8", ...snappy },
  category_id: { type: "UTF8", ...snappy },
  category_code: { type: "UTF8", optional: true, ...snappy },
  brand: { type: "UTF8", optional: true, ...snappy },
  price: { type: "DOUBLE", ...snappy },
  user_id: { type: "UTF8", ...snappy },
  user_session: { type: "UTF8", ...snappy },
  source_file: { type: "UTF8", ...snappy },
  source_line: { type: "INT64", ...snappy },
  kafka_partition: { type: "INT32", ...snappy },
  kafka_offset: { type: "INT64", ...snappy },
});

/** Rows per row group: large enough for efficient column chunks, small enough to bound memory. */
export const ROW_GROUP_SIZE = 16_384;

/**
 * Encodes the rows of one lake file (partition given, rows in the order given).
 *
 * Written column-wise with hyparquet-writer (DESIGN.md, "Parquet writer"): parquetjs-lite shreds
 * row by row and was the largest CPU cost of `capline process` (bench:pipeline profile, 4-5× slower
 * on a 5,000-row range). The files stay readable by parquetjs-lite, whose reader `capline compact`
 * uses: PLAIN encoding (it has no RLE_DICTIONARY decoder), no statistics, and the footer's format
 * version written as 1 (it refuses any other; the pages and types used are all version-1 ones
 * except the data page header, which it reads in both versions). Same schema as `lakeSchema`:
 * required UTF8/TIMESTAMP_MILLIS/DOUBLE/INT64/INT32 columns, `category_code` and `brand` optional;
 * Snappy; row groups of ROW_GROUP_SIZE rows. Deterministic: the same rows give the same bytes.
 */
export async function encodeParquet(partition: number, rows: readonly RangeEvent[]): Promise<Buffer> {
  const n = rows.length;
  const column = <T>(get: (row: RangeEvent) => T): T[] => {
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = get(rows[i] as RangeEvent);
    return out;
  };
  const required = { nullable: false, encoding: "PLAIN" } as const;
  const optional = { nullable: true, encoding: "PLAIN" } as const;
  const writer = new ByteWriter();
  parquetWrite({
    writer,
    columnData: [
      { name: "event_id", data: column((r) => r.event.event_id), type: "STRING", ...required },
      {
        name: "event_time",
        data: column((r) => new Date(toMillis(r.event.event_time))),
        type: "TIMESTAMP",
        ...required,
      },
      { name: "event_type", data: column((r) => r.event.event_type), type: "STRING", ...required },
      { name: "product_id", data: column((r) => r.event.product_id), type: "STRING", ...required },
      { name: "category_id", data: column((r) => r.event.category_id), type: "STRING", ...required },
      { name: "category_code", data: column((r) => r.event.category_code), type: "STRING", ...optional },
      { name: "brand", data: column((r) => r.event.brand), type: "STRING", ...optional },
      { name: "price", data: column((r) => r.event.price), type: "DOUBLE", ...required },
      { name: "user_id", data: column((r) => r.event.user_id), type: "STRING", ...required },
      { name: "user_session", data: column((r) => r.event.user_session), type: "STRING", ...required },
      { name: "source_file", data: column((r) => r.event.source.file), type: "STRING", ...required },
      { name: "source_line", data: column((r) => BigInt(r.event.source.line)), type: "INT64", ...required },
      { name: "kafka_partition", data: column(() => partition), type: "INT32", ...required },
      { name: "kafka_offset", data: column((r) => BigInt(r.offset)), type: "INT64", ...required },
    ],
    codec: "SNAPPY",
    statistics: false,
    rowGroupSize: ROW_GROUP_SIZE,
    createdBy: "capline",
  });
  return asFormatVersion1(Buffer.from(writer.getBuffer()));
}

/**
 * Rewrites the footer's FileMetaData.version from 2 to 1 (one byte, same length). The footer is
 * Thrift compact: it starts with field 1 (i32, header byte 0x15) whose zigzag varint is 0x04 for 2.
 */
function asFormatVersion1(file: Buffer): Buffer {
  const metadataLength = file.readUInt32LE(file.length - 8);
  const at = file.length - 8 - metadataLength;
  if (file[at] !== 0x15 || file[at + 1] !== 0x04)
    throw new CaplineError("INTERNAL", "unexpected Parquet footer from hyparquet-writer (format version)");
  file[at + 1] = 0x02;
  return file;
}
