import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { parseLakeKey } from "../../core/names.ts";

/**
 * Lake contents as DuckDB reads them, every column of every row, one JSON string per row (sorted),
 * for row-for-row comparisons; and the reader rule that makes a lake exact even while compaction
 * runs or after it was killed.
 */

export interface FullRow {
  file: string;
  partition: number;
  offset: number;
  json: string;
}

export async function readAllRows(files: Map<string, Buffer>): Promise<FullRow[]> {
  if (files.size === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), "capline-compact-read-"));
  try {
    const nameOf = new Map<string, string>();
    let n = 0;
    for (const [name, bytes] of files) {
      const path = join(dir, `f${n++}.parquet`);
      writeFileSync(path, bytes);
      nameOf.set(path, name);
    }
    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    const list = [...nameOf.keys()].map((p) => `'${p}'`).join(",");
    const reader = await conn.runAndReadAll(
      `SELECT event_id, strftime(make_timestamp(epoch_ms(event_time) * 1000), '%Y-%m-%dT%H:%M:%S.%g') AS event_time, event_type, product_id,
              category_id, category_code, brand, price, user_id, user_session, source_file,
              source_line::DOUBLE AS source_line, kafka_partition, kafka_offset::DOUBLE AS kafka_offset, filename
         FROM read_parquet([${list}], filename = true)`,
    );
    const rows = reader.getRowObjects().map((r) => {
      const { filename, ...columns } = r;
      return {
        file: nameOf.get(String(filename)) ?? "",
        partition: Number(r.kafka_partition),
        offset: Number(r.kafka_offset),
        json: JSON.stringify(columns),
      };
    });
    conn.closeSync();
    return rows.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Files whose offset interval lies inside another file's of the same day and partition. */
export function coveredFiles(keys: Iterable<string>): Set<string> {
  const parsed = [...keys].flatMap((k) => {
    const p = parseLakeKey(k);
    return p ? [{ key: k, ...p }] : [];
  });
  const out = new Set<string>();
  for (const f of parsed)
    if (
      parsed.some(
        (o) =>
          o.key !== f.key &&
          o.dt === f.dt &&
          o.topic === f.topic &&
          o.partition === f.partition &&
          o.first <= f.first &&
          f.last <= o.last,
      )
    )
      out.add(f.key);
  return out;
}
