/**
 * `npm run bench:cpu [-- N [RANGE_SIZE]]`: the CPU the worker side spends per event on its own
 * computation, without any service: the first N rows (default 300,000) of the pipeline benchmark's
 * file, cut into ranges of RANGE_SIZE (default 20,000) over 6 partitions, each range's payload
 * encoded and decoded, planned (profiles, daily, hourly), merged into in-memory "indices" and its
 * bulk operations serialized, and its lake files Parquet-encoded. Prints µs/event and the CPU ms of
 * each step. `V2=1` keeps only the hourly documents of the version-2 index contract (no product),
 * to estimate what that contract removes. Run it on two checkouts back to back for a before/after
 * that the machine's load does not blur (BENCHMARKS.md, "Half the cost per event").
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "../core/config/index.ts";
import type { CaplineEvent } from "../core/schema/events.ts";
import { generate } from "../ingestion/index.ts";
import { planIndex } from "../processing/index-sink.ts";
import { decodePayload, encodePayload } from "../processing/jobs.ts";
import type { RangeEvent } from "../processing/lake.ts";
import { lakeFiles } from "../processing/lake.ts";
import { encodeParquet } from "../processing/parquet.ts";

const n = Number(process.argv[2] ?? 300_000);
const file = join(PROJECT_ROOT, "benchmarks", "out", "bench-885129.csv");
if (!existsSync(file)) await generate({ out: file, events: 885_129, seed: 42 });
const lines = readFileSync(file, "utf8")
  .split("\n")
  .slice(1, n + 1);
const parts = 6;
const rangeSize = Number(process.argv[3] ?? 20_000);
const byPart: RangeEvent[][] = Array.from({ length: parts }, () => []);
let i = 0;
for (const line of lines) {
  const [t, type, pid, cid, ccode, brand, price, user, session] = line.split(",");
  if (!user) continue;
  const e: CaplineEvent = {
    event_id: `e${i}`,
    event_time: new Date(`${t?.replace(" UTC", "Z").replace(" ", "T")}`).toISOString(),
    event_type: type as CaplineEvent["event_type"],
    product_id: pid ?? "",
    category_id: cid ?? "",
    category_code: ccode || null,
    brand: brand || null,
    price: Number(price),
    user_id: user,
    user_session: session ?? "",
    source: { file: "bench.csv", line: i + 2 },
  };
  const p = Number(BigInt(user) % BigInt(parts));
  byPart[p]?.push({ offset: byPart[p]?.length ?? 0, event: e });
  i++;
}
const stores = [new Map<string, unknown>(), new Map<string, unknown>(), new Map<string, unknown>()];
const t: Record<string, number> = { payload: 0, plan: 0, merge: 0, serialize: 0, parquet: 0 };
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
};
const c0 = cpu();
let docs = 0;
const perType = [0, 0, 0];
for (let p = 0; p < parts; p++) {
  const rows = byPart[p] ?? [];
  for (let a = 0; a < rows.length; a += rangeSize) {
    const slice = rows.slice(a, a + rangeSize);
    const range = { topic: "t", partition: p, first: slice[0]?.offset ?? 0, last: slice.at(-1)?.offset ?? 0 };
    let s = cpu();
    const decoded = decodePayload(encodePayload(slice));
    t.payload = (t.payload ?? 0) + cpu() - s;
    s = cpu();
    const plan = planIndex(range, decoded);
    t.plan = (t.plan ?? 0) + cpu() - s;
    s = cpu();
    const ops: unknown[] = [];
    const hourly = process.env.V2 ? plan.hourly.filter((h) => !h.id.includes("|product|")) : plan.hourly;
    [plan.profiles, plan.daily, hourly].forEach((items, k) => {
      const store = stores[k] as Map<string, unknown>;
      for (const item of items) {
        const next = (item.merge as (c: unknown) => unknown)(store.get(item.id));
        if (next !== null) {
          store.set(item.id, next);
          ops.push({ index: { _index: "x", _id: item.id, if_seq_no: 1, if_primary_term: 1 } }, next);
          docs++;
          perType[k] = (perType[k] ?? 0) + 1;
        }
      }
    });
    t.merge = (t.merge ?? 0) + cpu() - s;
    s = cpu();
    let bytes = 0;
    for (const op of ops) bytes += JSON.stringify(op).length;
    t.serialize = (t.serialize ?? 0) + cpu() - s;
    s = cpu();
    for (const day of lakeFiles("t", p, decoded)) await encodeParquet(p, day.events);
    t.parquet = (t.parquet ?? 0) + cpu() - s;
    void bytes;
  }
}
const total = cpu() - c0;
console.log(
  JSON.stringify({
    events: i,
    docs,
    profiles: perType[0],
    daily: perType[1],
    hourly: perType[2],
    cpu_ms: Math.round(total),
    us_per_event: +((total * 1000) / i).toFixed(2),
    ...Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v)])),
  }),
);
