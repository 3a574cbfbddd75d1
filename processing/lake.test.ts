import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { describe, expect, it } from "vitest";
import { lakeKey } from "../core/names.ts";
import { lakeFiles, type RangeEvent, uncoveredRuns } from "./lake.ts";
import { decodeParquet, encodeParquet } from "./parquet.ts";
import { generateEvents } from "./test/events.ts";

describe("lake files", () => {
  it("splits a range into one file per event date, rows in offset order", () => {
    const events = generateEvents(50, 9);
    const rows: RangeEvent[] = events.map((event, i) => ({ offset: 1000 + i * 2, event })).reverse();
    const files = lakeFiles("t", 1, rows);
    expect(files.reduce((n, f) => n + f.events.length, 0)).toBe(50);
    for (const f of files) {
      expect(f.events.every((e) => e.event.event_time.startsWith(f.dt))).toBe(true);
      const offsets = f.events.map((e) => e.offset);
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      expect(f.key).toBe(lakeKey(f.dt, "t", 1, offsets[0] ?? -1, offsets[offsets.length - 1] ?? -1));
    }
    expect(files.map((f) => f.dt)).toEqual([...new Set(files.map((f) => f.dt))].sort());
  });
});

describe("uncoveredRuns", () => {
  const rows = (offsets: number[]): RangeEvent[] => {
    const [e] = generateEvents(1, 1);
    return offsets.map((offset) => ({ offset, event: e as RangeEvent["event"] }));
  };
  const offsets = (runs: RangeEvent[][]) => runs.map((r) => r.map((x) => x.offset));
  it("writes everything when nothing exists, nothing when the range is there already", () => {
    expect(offsets(uncoveredRuns(rows([1, 2, 4]), []))).toEqual([[1, 2, 4]]);
    expect(offsets(uncoveredRuns(rows([1, 2, 4]), [[1, 4]]))).toEqual([]);
  });
  it("keeps only the rows outside existing files, split around covered rows", () => {
    // A replay cut [0..9] where files [0-3] and [6-7] exist (from other cuts).
    const replay = rows([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(
      offsets(
        uncoveredRuns(replay, [
          [0, 3],
          [6, 7],
        ]),
      ),
    ).toEqual([
      [4, 5],
      [8, 9],
    ]);
    expect(offsets(uncoveredRuns(replay, [[20, 30]]))).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
  });
});

describe("parquet encoding", () => {
  it("writes typed, compressed files that DuckDB reads back row for row", async () => {
    const events = generateEvents(500, 3);
    const rows: RangeEvent[] = events.map((event, i) => ({ offset: i, event }));
    const bytes = await encodeParquet(4, rows);
    expect(bytes.subarray(0, 4).toString()).toBe("PAR1");
    const dir = mkdtempSync(join(tmpdir(), "capline-parquet-"));
    try {
      const file = join(dir, "x.parquet");
      writeFileSync(file, bytes);
      const db = await DuckDBInstance.create(":memory:");
      const conn = await db.connect();
      const types = await conn.runAndReadAll(
        `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('${file}'))`,
      );
      const typeOf = Object.fromEntries(
        types.getRowObjects().map((r) => [String(r.column_name), String(r.column_type)]),
      );
      expect(typeOf).toMatchObject({
        event_time: "TIMESTAMP WITH TIME ZONE",
        price: "DOUBLE",
        user_id: "VARCHAR",
        kafka_offset: "BIGINT",
      });
      const meta = await conn.runAndReadAll(`SELECT DISTINCT compression FROM parquet_metadata('${file}')`);
      expect(meta.getRowObjects().map((r) => String(r.compression))).toEqual(["SNAPPY"]);
      const read = await conn.runAndReadAll(
        `SELECT event_id, strftime(make_timestamp(epoch_ms(event_time) * 1000), '%Y-%m-%dT%H:%M:%S.%g') || 'Z' AS t, event_type, product_id,
                category_id, category_code, brand, price, user_id, user_session, source_file,
                source_line::INTEGER AS line, kafka_partition, kafka_offset::INTEGER AS off
           FROM read_parquet('${file}') ORDER BY kafka_offset`,
      );
      const got = read.getRowObjects();
      expect(got.length).toBe(500);
      got.forEach((r, i) => {
        const e = events[i];
        expect(r).toEqual({
          event_id: e?.event_id,
          t: e?.event_time,
          event_type: e?.event_type,
          product_id: e?.product_id,
          category_id: e?.category_id,
          category_code: e?.category_code,
          brand: e?.brand,
          price: e?.price,
          user_id: e?.user_id,
          user_session: e?.user_session,
          source_file: e?.source.file,
          line: e?.source.line,
          kafka_partition: 4,
          off: i,
        });
      });
      conn.closeSync();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("encodes the same rows to the same bytes (rewrites are identical)", async () => {
    const rows: RangeEvent[] = generateEvents(100, 5).map((event, i) => ({ offset: i, event }));
    expect((await encodeParquet(0, rows)).equals(await encodeParquet(0, rows))).toBe(true);
  });

  it("keeps event ids that are not ASCII byte for byte (another producer's ids)", async () => {
    const ids = ["plain-ascii-id", "caf\u00e9", "\u{1F600}-emoji", "\u4e2d\u6587", "tail"];
    const rows: RangeEvent[] = generateEvents(ids.length, 5).map((event, i) => ({
      offset: i,
      event: { ...event, event_id: ids[i] as string },
    }));
    const back = await decodeParquet(await encodeParquet(0, rows));
    expect(back.map((r) => r.event.event_id)).toEqual(ids);
    const ascii = rows.map((r, i) => ({ ...r, event: { ...r.event, event_id: `id-${i}` } }));
    expect((await decodeParquet(await encodeParquet(0, ascii))).map((r) => r.event.event_id)).toEqual(
      ascii.map((r) => r.event.event_id),
    );
  });
});
