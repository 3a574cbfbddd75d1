import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mergeLakeFiles } from "./compact.ts";
import type { RangeEvent } from "./lake.ts";
import { encodeParquet, ROW_GROUP_SIZE } from "./parquet.ts";
import { generateEvents } from "./test/events.ts";

/**
 * The lake for its readers (issue 13, item 6): capline's Parquet files as DuckDB and pyarrow see
 * them. `event_time` is an instant (UTC-adjusted TIMESTAMP), and every row group carries min/max
 * statistics that let an engine skip it, for event_time, user_id, event_type and kafka_offset.
 * pyarrow comes from pip (`.ci/run` installs it).
 */

// Two row groups, so statistics are per group and differ.
const count = ROW_GROUP_SIZE + 1000;
const events = generateEvents(count, 41, 200, 3).sort((a, b) => a.event_time.localeCompare(b.event_time));
const rows: RangeEvent[] = events.map((event, i) => ({ offset: 5000 + i, event }));
const dir = mkdtempSync(join(tmpdir(), "capline-lake-readers-"));
const file = join(dir, "lake.parquet");
let bytes: Buffer;

beforeAll(async () => {
  bytes = await encodeParquet(3, rows);
  writeFileSync(file, bytes);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Expected min/max of a column over the rows of each row group. */
function groupBounds<T>(get: (r: RangeEvent) => T): Array<[T, T]> {
  const out: Array<[T, T]> = [];
  for (let i = 0; i < rows.length; i += ROW_GROUP_SIZE) {
    const values = rows.slice(i, i + ROW_GROUP_SIZE).map(get);
    const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    out.push([sorted[0] as T, sorted[sorted.length - 1] as T]);
  }
  return out;
}

describe("DuckDB", () => {
  it("reads event_time as TIMESTAMP WITH TIME ZONE, the same instants, and every row group's min/max", async () => {
    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    try {
      const schema = await conn.runAndReadAll(
        `SELECT name, logical_type FROM parquet_schema('${file}') WHERE name = 'event_time'`,
      );
      expect(String(schema.getRowObjects()[0]?.logical_type)).toMatch(/isAdjustedToUTC=1/);
      const types = await conn.runAndReadAll(`DESCRIBE SELECT event_time FROM read_parquet('${file}')`);
      expect(String(types.getRowObjects()[0]?.column_type)).toBe("TIMESTAMP WITH TIME ZONE");
      const times = await conn.runAndReadAll(
        `SELECT epoch_ms(event_time)::DOUBLE AS ms FROM read_parquet('${file}') ORDER BY kafka_offset`,
      );
      expect(times.getRowObjects().map((r) => Number(r.ms))).toEqual(
        events.map((e) => Date.parse(e.event_time)),
      );

      const stats = await conn.runAndReadAll(
        `SELECT row_group_id, path_in_schema, stats_min_value, stats_max_value
           FROM parquet_metadata('${file}')
          WHERE path_in_schema IN ('event_time', 'user_id', 'event_type', 'kafka_offset')
          ORDER BY row_group_id, path_in_schema`,
      );
      const got = new Map<string, [string, string]>();
      for (const r of stats.getRowObjects())
        got.set(`${r.row_group_id}:${r.path_in_schema}`, [
          String(r.stats_min_value),
          String(r.stats_max_value),
        ]);
      const expectBounds = (column: string, bounds: Array<[string, string]>) => {
        for (const [g, b] of bounds.entries())
          expect(got.get(`${g}:${column}`), `${column} row group ${g}`).toEqual(b);
      };
      expectBounds(
        "user_id",
        groupBounds((r) => r.event.user_id),
      );
      expectBounds(
        "event_type",
        groupBounds((r) => r.event.event_type),
      );
      expectBounds(
        "kafka_offset",
        groupBounds((r) => r.offset).map(([a, b]) => [String(a), String(b)]),
      );
      // DuckDB prints a UTC-adjusted timestamp's bounds as instants with an offset.
      const timeBounds = groupBounds((r) => Date.parse(r.event.event_time));
      timeBounds.forEach(([min, max], g) => {
        const [lo, hi] = got.get(`${g}:event_time`) ?? ["", ""];
        expect(Date.parse(lo.replace(" ", "T").replace(/\+00$/, "Z")), `event_time min ${g}`).toBe(min);
        expect(Date.parse(hi.replace(" ", "T").replace(/\+00$/, "Z")), `event_time max ${g}`).toBe(max);
      });
      // The statistics are used: a filter outside every group's range reads no row group.
      const skipped = await conn.runAndReadAll(
        `SELECT count(*)::INTEGER AS n FROM read_parquet('${file}') WHERE kafka_offset > ${5000 + count}`,
      );
      expect(Number(skipped.getRowObjects()[0]?.n)).toBe(0);
    } finally {
      conn.closeSync();
    }
  });
});

describe("pyarrow", () => {
  const script = `
import json, sys
import pyarrow.parquet as pq
f = pq.ParquetFile(sys.argv[1])
out = {"schema": {n: str(f.schema_arrow.field(n).type) for n in f.schema_arrow.names}, "groups": []}
for g in range(f.metadata.num_row_groups):
    rg = f.metadata.row_group(g)
    cols = {}
    for c in range(rg.num_columns):
        col = rg.column(c)
        s = col.statistics
        if col.path_in_schema in ("event_time", "user_id", "event_type", "kafka_offset"):
            mn, mx = s.min, s.max
            if col.path_in_schema == "event_time":
                mn, mx = int(mn.timestamp() * 1000), int(mx.timestamp() * 1000)
            cols[col.path_in_schema] = {"has_min_max": s.has_min_max, "min": mn, "max": mx}
    out["groups"].append(cols)
t = f.read()
out["rows"] = t.num_rows
first = t.column("event_time")[0].as_py()
out["first_time"] = [round(first.timestamp() * 1000), str(first.tzinfo)]
print(json.dumps(out))
`;

  it("reads event_time as timestamp[ms, tz=UTC] and the same statistics", () => {
    const text = execFileSync("python3", ["-c", script, file], { encoding: "utf8" });
    const got = JSON.parse(text) as {
      schema: Record<string, string>;
      groups: Array<Record<string, { has_min_max: boolean; min: unknown; max: unknown }>>;
      rows: number;
      first_time: [number, string];
    };
    expect(got.schema).toMatchObject({
      event_time: "timestamp[ms, tz=UTC]",
      user_id: "string",
      price: "double",
      kafka_offset: "int64",
      category_code: "string",
    });
    expect(got.rows).toBe(count);
    expect(got.first_time).toEqual([Date.parse(events[0]?.event_time ?? ""), "UTC"]);
    const expected = {
      event_time: groupBounds((r) => Date.parse(r.event.event_time)),
      user_id: groupBounds((r) => r.event.user_id),
      event_type: groupBounds((r) => r.event.event_type),
      kafka_offset: groupBounds((r) => r.offset),
    };
    expect(got.groups).toHaveLength(2);
    got.groups.forEach((g, i) => {
      for (const [column, bounds] of Object.entries(expected))
        expect(g[column], `${column} row group ${i}`).toEqual({
          has_min_max: true,
          min: bounds[i]?.[0],
          max: bounds[i]?.[1],
        });
    });
  });
});

describe("determinism and compaction", () => {
  it("the same rows give the same bytes, and a compaction of the file's halves gives the file", async () => {
    expect((await encodeParquet(3, rows)).equals(bytes)).toBe(true);
    const half = Math.floor(rows.length / 2);
    const merged = await mergeLakeFiles(3, [
      await encodeParquet(3, rows.slice(half)),
      await encodeParquet(3, rows.slice(0, half)),
    ]);
    expect(merged.equals(bytes)).toBe(true);
  });
});
