import { Writable } from "node:stream";
import parquet from "parquetjs-lite";
import type { RangeEvent } from "./lake.ts";
import { toMillis } from "./time.ts";

/**
 * The Parquet encoding of lake files, behind one function (DESIGN.md, "Parquet writer"): a batch
 * is encoded once and the same bytes go to every store. Typed columns (TIMESTAMP event_time, UTF8
 * ids, DOUBLE price), Snappy-compressed, v1 data pages (read by DuckDB, Spark, pyarrow alike).
 * The Kafka partition and offset of each row are kept: they identify a row across files, which
 * compaction and audits rely on.
 */

const { ParquetSchema, ParquetWriter } = parquet;

const snappy = { compression: "SNAPPY" } as const;

export const LAKE_COLUMNS = [
  "event_id",
  "event_time",
  "event_type",
  "product_id",
  "category_id",
  "category_code",
  "brand",
  "price",
  "user_id",
  "user_session",
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

/** Encodes the rows of one lake file (partition given, rows in the order given). */
export async function encodeParquet(partition: number, rows: readonly RangeEvent[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  const writer = await ParquetWriter.openStream(lakeSchema, sink, {
    rowGroupSize: ROW_GROUP_SIZE,
    useDataPageV2: false,
  });
  for (const { offset, event: e } of rows) {
    await writer.appendRow({
      event_id: e.event_id,
      event_time: new Date(toMillis(e.event_time)),
      event_type: e.event_type,
      product_id: e.product_id,
      category_id: e.category_id,
      // Optional columns: parquetjs-lite writes a null for a missing field, not for `null`.
      ...(e.category_code === null ? {} : { category_code: e.category_code }),
      ...(e.brand === null ? {} : { brand: e.brand }),
      price: e.price,
      user_id: e.user_id,
      user_session: e.user_session,
      source_file: e.source.file,
      source_line: e.source.line,
      kafka_partition: partition,
      kafka_offset: offset,
    });
  }
  await writer.close();
  return Buffer.concat(chunks);
}
