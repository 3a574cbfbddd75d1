import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Customer, customers, type Ev, parseEvents } from "../analytics/test/reference.ts";
import { createElasticsearch } from "../core/clients/elasticsearch.ts";
import { createMinio } from "../core/clients/minio.ts";
import { createRedis } from "../core/clients/redis.ts";
import { createWebHdfs } from "../core/clients/webhdfs.ts";
import type { Config } from "../core/config/index.ts";
import { KafkaAdmin, kafkaOptions } from "../core/kafka/index.ts";
import { aliasName, concreteIndexName, dispatcherGroupOf } from "../core/names.ts";
import { INDEX_NAMES } from "../core/schema/indices.ts";
import { PROSPECT, referenceRfm } from "../processing/test/rfm.ts";
import { isolatedNames, testConfig, uniqueName } from "../test/support/index.ts";
import { generateObjects } from "./generate.ts";
import {
  type Doc,
  esRequest,
  esRows,
  evaluate,
  type PanelSpec,
  panelSpecs,
  type TableRow,
} from "./test/panel-queries.ts";

/**
 * Every Lens panel of the shipped dashboards, run as the Elasticsearch query Kibana would send
 * (kibana/test/panel-queries.ts), against the real Elasticsearch after the real pipeline processed
 * a known file; each table equals the same panel computed in plain TypeScript over documents this
 * test derives itself from the CSV (analytics/test/reference.ts, processing/test/rfm.ts) and from
 * the ingest summary. Kibana itself does not run here: what stays unproven is in docs/kibana.md.
 */

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "capline.mjs");
const DAY = 86_400_000;

function cli(args: string[], env: Record<string, string>, timeoutMs = 120_000) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

const name = uniqueName("panels");
const env: Record<string, string> = { ...isolatedNames(name), LOG_LEVEL: "warn" };
const dir = mkdtempSync(join(tmpdir(), "capline-panels-"));
const csv = join(dir, "events.csv");
let config: Config;
let events: Ev[] = [];
const docs = new Map<string, Doc[]>();

/** The sales aggregates of index contract v2, straight from the events. */
function salesDocs(list: readonly Ev[], hourly: boolean): Doc[] {
  const out = new Map<string, Doc & { cents: number }>();
  for (const e of list) {
    const bucket = hourly ? e.ms - (e.ms % 3_600_000) : e.ms - (e.ms % DAY);
    const dims: Array<[string, string]> = [
      ["all", "all"],
      ["category", e.category ?? "unknown"],
      ["brand", e.brand ?? "unknown"],
      ...(hourly ? [] : ([["product", e.product]] as Array<[string, string]>)),
    ];
    for (const [dimension, key] of dims) {
      const id = `${bucket}|${dimension}|${key}`;
      const d =
        out.get(id) ??
        ({
          bucket,
          dimension,
          key,
          views: 0,
          carts: 0,
          removes: 0,
          purchases: 0,
          cents: 0,
          day_of_week: ((new Date(bucket).getUTCDay() + 6) % 7) + 1,
          hour_of_day: new Date(bucket).getUTCHours(),
        } as Doc & { cents: number });
      if (e.type === "view") d.views = Number(d.views) + 1;
      if (e.type === "cart") d.carts = Number(d.carts) + 1;
      if (e.type === "remove_from_cart") d.removes = Number(d.removes) + 1;
      if (e.type === "purchase") {
        d.purchases = Number(d.purchases) + 1;
        d.cents += e.cents;
      }
      out.set(id, d);
    }
  }
  return [...out.values()].map(({ cents, ...d }) => ({ ...d, revenue: cents / 100 }));
}

function profileDocs(people: Map<string, Customer>): Doc[] {
  const newest = Math.max(...events.map((e) => e.ms));
  const rfm = referenceRfm(
    [...people.values()]
      .filter((c) => c.purchases > 0)
      .map((c) => ({
        user: c.user,
        lastPurchaseMs: c.lastPurchase ?? 0,
        purchases: c.purchases,
        cents: c.cents,
      })),
    newest,
  );
  return [...people.values()].map((c) => ({
    user_id: c.user,
    purchases: c.purchases,
    total_spent: c.cents / 100,
    sessions: c.sessions.size,
    first_seen: c.first,
    last_seen: c.last,
    segment: c.purchases > 0 ? (rfm.get(c.user)?.segment ?? "?") : PROSPECT,
    ...(c.purchases > 0 ? { recency_days: rfm.get(c.user)?.recency_days } : {}),
  }));
}

beforeAll(async () => {
  config = testConfig(env);
  expect((await cli(["setup"], env)).code).toBe(0);
  const gen = await cli(
    ["generate", "--out", csv, "--events", "6000", "--days", "20", "--users", "400", "--seed", "909"],
    env,
  );
  expect(gen.code, gen.stderr).toBe(0);
  const ingest = await cli(["ingest", csv, "--json"], env);
  expect(ingest.code, ingest.stderr).toBe(0);
  const summary = JSON.parse(ingest.stdout);
  const processed = await cli(["process", "--until-idle"], env, 400_000);
  expect(processed.code, processed.stderr.slice(-2000)).toBe(0);
  const parsed = parseEvents(readFileSync(csv, "utf8"));
  events = parsed.events;
  const file = summary.files[0];
  docs.set(aliasName(name, "sales-daily"), salesDocs(events, false));
  docs.set(aliasName(name, "sales-hourly"), salesDocs(events, true));
  docs.set(aliasName(name, "profiles"), profileDocs(customers(events)));
  // The ops records: the ingest run as the CSV says it went, and the processing records summed per
  // sink (each sink takes every event once; how ranges split over partitions and times is Kafka's).
  docs.set(aliasName(name, "ops"), [
    {
      kind: "ingest",
      file: file.file,
      "@timestamp": Date.now(),
      rows: parsed.events.length + parsed.rejected + parsed.duplicates,
      sent: parsed.events.length,
      rejected: parsed.rejected,
      duplicates: parsed.duplicates,
      "rejected_by_reason.missing_field": 0,
      "rejected_by_reason.bad_timestamp": 0,
      "rejected_by_reason.bad_event_type": 0,
      "rejected_by_reason.bad_price": 0,
      "rejected_by_reason.malformed_row": 0,
      seconds: file.seconds,
      events_per_second: summary.rows_per_second,
    },
    ...["archive", "index"].map((sink) => ({
      kind: "process",
      sink,
      partition: 0,
      events: events.length,
      dlq: 0,
      "@timestamp": Date.now(),
    })),
  ]);
}, 600_000);

afterAll(async () => {
  if (!config) return;
  const es = createElasticsearch(config);
  await es.indices
    .delete({ index: INDEX_NAMES.map((n) => concreteIndexName(name, n)), ignore_unavailable: true })
    .catch(() => undefined);
  for (const n of INDEX_NAMES)
    await es.indices.deleteIndexTemplate({ name: aliasName(name, n) }).catch(() => undefined);
  await es.close();
  const minio = createMinio(config);
  const objects: string[] = [];
  await new Promise<void>((resolve) => {
    const stream = minio.listObjectsV2(name, "", true);
    stream.on("data", (o) => o.name && objects.push(o.name));
    stream.on("end", resolve);
    stream.on("error", () => resolve());
  });
  if (objects.length > 0) await minio.removeObjects(name, objects).catch(() => undefined);
  await minio.removeBucket(name).catch(() => undefined);
  await createWebHdfs(config)
    .delete(`/${name}`, { recursive: true })
    .catch(() => undefined);
  const redis = createRedis(config);
  const keys = await redis.keys(`${name}*`).catch(() => [] as string[]);
  if (keys.length > 0) await redis.del(...keys).catch(() => undefined);
  redis.disconnect();
  const admin = new KafkaAdmin(kafkaOptions(config));
  await admin.deleteGroups([dispatcherGroupOf(name)]).catch(() => undefined);
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(name));
  await admin.deleteTopics(topics).catch(() => undefined);
  await admin.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Ops panels split by time or partition: Kafka and the clock decide those, so only the sums per the other keys are compared. */
function collapse(p: PanelSpec, rows: TableRow[]): TableRow[] {
  const keep = p.buckets.map(
    (b) => !(b.op === "date_histogram" && p.timeField === "@timestamp") && b.field !== "partition",
  );
  const out = new Map<string, TableRow>();
  for (const r of rows) {
    const keys = r.keys.filter((_, i) => keep[i]);
    const id = JSON.stringify(keys);
    const was = out.get(id);
    if (!was) out.set(id, { keys, values: { ...r.values } });
    else
      for (const m of p.metrics)
        was.values[m.id] =
          m.op === "max"
            ? Math.max(was.values[m.id] ?? -Infinity, r.values[m.id] ?? -Infinity)
            : (was.values[m.id] ?? 0) + (r.values[m.id] ?? 0);
  }
  return [...out.values()];
}

describe("every dashboard panel's Elasticsearch query gives the figures of an independent computation", () => {
  it("runs each Lens panel's query (aggregation, split, filter, time field) on the real Elasticsearch", async () => {
    const specs = panelSpecs(generateObjects(name));
    expect(specs.length).toBe(31);
    const es = createElasticsearch(config);
    try {
      await es.indices.refresh({ index: INDEX_NAMES.map((n) => aliasName(name, n)) });
      const unchecked: string[] = [];
      for (const p of specs) {
        const label = `${p.dashboard} › ${p.title}`;
        const answer = await es.search({ index: p.index, ...esRequest(p) } as never);
        const total = Number((answer.hits.total as { value: number }).value);
        let got = esRows(p, (answer.aggregations ?? {}) as Record<string, unknown>, total);
        let want = evaluate(p, docs.get(p.index) ?? []);
        if (p.index === aliasName(name, "ops")) {
          got = collapse(p, got);
          want = collapse(p, want);
        }
        expect(got.length, `${label}: rows`).toBeGreaterThan(0);
        // Measured on the run itself, not derivable from the file: only their presence is checked.
        const measured = new Set(
          p.metrics.filter((m) => m.field === "seconds" || m.field === "events_per_second").map((m) => m.id),
        );
        if (measured.size > 0) unchecked.push(label);
        expect(
          got.map((r) => r.keys),
          `${label}: buckets`,
        ).toEqual(want.map((r) => r.keys));
        got.forEach((row, i) => {
          for (const m of p.metrics) {
            const g = row.values[m.id] ?? null;
            const w = want[i]?.values[m.id] ?? null;
            if (measured.has(m.id)) {
              expect(g, `${label} ${m.label}`).toBeGreaterThan(0);
              continue;
            }
            if (w === null) expect(g, `${label} ${m.label} ${row.keys.join("/")}`).toBeNull();
            else expect(g, `${label} ${m.label} ${row.keys.join("/")}`).toBeCloseTo(w, 6);
          }
        });
      }
      expect(unchecked.map((l) => l.split(" › ")[1])).toEqual([
        "Ingest throughput (events per second)",
        "Ingest runs",
      ]);
    } finally {
      await es.close();
    }
  });
});
