/**
 * `npm run bench:as-of`: the cost of `report customers --all --as-of DATE` (analytics/as-of.ts
 * over processing/lake-reader.ts), beside a like-for-like reference in the same run: DuckDB (its
 * native Parquet reader, multi-threaded) computing the same per-customer figures from the same
 * files with one GROUP BY. Both read lake files as the archive writes them (hyparquet-writer,
 * ranges of 20,000 events, 6 partitions) from memory / a temporary folder, so the store's network
 * is left out: what is measured is decoding and folding.
 *
 * Printed: events read per second and CPU µs per event (process CPU, user + system: DuckDB's
 * threads count too), peak RSS growth, the customers found by each (they must agree), and the load
 * average at the start.
 *
 *   npm run bench:as-of [-- --events N --users U]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { asOfCustomers, parseAsOf } from "../analytics/as-of.ts";
import { parseParams } from "../analytics/options.ts";
import type { CaplineEvent } from "../core/schema/events.ts";
import type { CompactStore } from "../processing/compact.ts";
import { lakeFiles } from "../processing/lake.ts";
import { LakeReader } from "../processing/lake-reader.ts";
import { encodeParquet } from "../processing/parquet.ts";
import { rng } from "../processing/test/events.ts";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const EVENTS = flag("--events", 1_000_000);
const USERS = flag("--users", 100_000);
const DAYS = 30;
const TOPIC = "bench-as-of";

function event(i: number, rand: () => number): CaplineEvent {
  const ms = Date.parse("2019-10-01T00:00:00Z") + Math.floor(rand() * DAYS * 86_400_000);
  const r = rand();
  return {
    event_id: `e${i}`,
    event_time: new Date(ms).toISOString(),
    event_type: r < 0.8 ? "view" : r < 0.93 ? "cart" : r < 0.96 ? "remove_from_cart" : "purchase",
    product_id: String(1_000_000 + Math.floor(rand() * 50_000)),
    category_id: "2053013555631882655",
    category_code: rand() < 0.3 ? null : "electronics.smartphone",
    brand: rand() < 0.2 ? null : "apple",
    price: Math.floor(rand() * 100_000) / 100,
    user_id: String(500_000_000 + Math.floor(rand() * USERS)),
    user_session: `s${Math.floor(rand() * USERS * 3)}`,
    source: { file: "bench.csv", line: i + 2 },
  };
}

async function buildLake(): Promise<Map<string, Buffer>> {
  const rand = rng(7);
  const files = new Map<string, Buffer>();
  const partitions = 6;
  const buffers: Array<Array<{ offset: number; event: CaplineEvent }>> = Array.from(
    { length: partitions },
    () => [],
  );
  const flush = async (p: number) => {
    const range = buffers[p] ?? [];
    for (const f of lakeFiles(TOPIC, p, range)) files.set(f.key, await encodeParquet(p, f.events));
    buffers[p] = [];
  };
  const next = Array.from({ length: partitions }, () => 0);
  for (let i = 0; i < EVENTS; i++) {
    const e = event(i, rand);
    const p = Number(BigInt(e.user_id) % BigInt(partitions));
    buffers[p]?.push({ offset: next[p] ?? 0, event: e });
    next[p] = (next[p] ?? 0) + 1;
    if ((buffers[p]?.length ?? 0) >= 20_000) await flush(p);
  }
  for (let p = 0; p < partitions; p++) await flush(p);
  return files;
}

function memoryStore(files: Map<string, Buffer>): CompactStore {
  const dayOf = (key: string) => /dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1] ?? "";
  return {
    name: "minio",
    days: async () => [...new Set([...files.keys()].map(dayOf))].sort(),
    list: async (dt) =>
      [...files].filter(([k]) => dayOf(k) === dt).map(([key, b]) => ({ key, size: b.length })),
    get: async (key) => files.get(key) as Buffer,
    put: async () => undefined,
    remove: async () => undefined,
  };
}

const cpuMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function main(): Promise<void> {
  const load = loadavg().map((l) => l.toFixed(2));
  console.log(
    `as-of benchmark: ${EVENTS.toLocaleString("en-US")} events, ${USERS.toLocaleString("en-US")} users, ${DAYS} days`,
  );
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, Node ${process.version}, load ${load.join(" ")}`,
  );
  const files = await buildLake();
  const bytes = [...files.values()].reduce((s, b) => s + b.length, 0);
  console.log(`lake: ${files.size} files, ${(bytes / 1024 / 1024).toFixed(1)} MiB`);
  const asOf = parseAsOf("2019-10-29"); // all but the last day

  // capline: LakeReader + asOfCustomers
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const c0 = cpuMicros();
  const t0 = performance.now();
  const result = await asOfCustomers(
    new LakeReader(memoryStore(files), TOPIC, "memory"),
    asOf,
    parseParams({}),
    {},
  );
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuMicros() - c0;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(
    `capline  ${result.lakeRows.toLocaleString("en-US")} events, ${result.rows.length.toLocaleString("en-US")} customers: ` +
      `${Math.round(result.lakeRows / wall).toLocaleString("en-US")} events/s, ${(cpu / result.lakeRows).toFixed(2)} CPU µs/event, ` +
      `peak RSS +${((peak - rss0) / 1024 / 1024).toFixed(0)} MiB`,
  );

  // reference: DuckDB over the same files
  const dir = mkdtempSync(join(tmpdir(), "capline-bench-as-of-"));
  try {
    let n = 0;
    for (const [, b] of files) writeFileSync(join(dir, `f${n++}.parquet`), b);
    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    const c1 = cpuMicros();
    const t1 = performance.now();
    const reader = await conn.runAndReadAll(
      `SELECT count(*) AS customers, sum(n) AS events FROM (
         SELECT user_id, count(*) AS n, min(event_time), max(event_time),
                count(*) FILTER (WHERE event_type = 'purchase') AS purchases,
                sum(round(price * 100)) FILTER (WHERE event_type = 'purchase') AS cents,
                max(event_time) FILTER (WHERE event_type = 'purchase') AS last_purchase
           FROM read_parquet('${dir}/*.parquet')
          WHERE event_time < TIMESTAMPTZ '${new Date(asOf.endMs).toISOString()}'
          GROUP BY user_id)`,
    );
    const wall1 = (performance.now() - t1) / 1000;
    const cpu1 = cpuMicros() - c1;
    const row = reader.getRowObjects()[0] ?? {};
    const events = Number(row.events);
    console.log(
      `duckdb   ${events.toLocaleString("en-US")} events, ${Number(row.customers).toLocaleString("en-US")} customers: ` +
        `${Math.round(events / wall1).toLocaleString("en-US")} events/s, ${(cpu1 / events).toFixed(2)} CPU µs/event (all threads)`,
    );
    if (events !== result.lakeRows || Number(row.customers) !== result.rows.length)
      throw new Error("capline and DuckDB disagree on the events or customers read");
    conn.closeSync();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
