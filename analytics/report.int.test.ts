import { execFile } from "node:child_process";
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createElasticsearch } from "../core/clients/elasticsearch.ts";
import { createMinio } from "../core/clients/minio.ts";
import { createRedis } from "../core/clients/redis.ts";
import { createWebHdfs } from "../core/clients/webhdfs.ts";
import type { Config } from "../core/config/index.ts";
import { KafkaAdmin, kafkaOptions } from "../core/kafka/index.ts";
import { aliasName, concreteIndexName, dispatcherGroupOf } from "../core/names.ts";
import { INDEX_NAMES } from "../core/schema/indices.ts";
import { PROSPECT, type ReferenceRfm, referenceRfm } from "../processing/test/rfm.ts";
import { isolatedNames, testConfig, uniqueName } from "../test/support/index.ts";
import { parseParams, type RawReportFlags, type ReportName, runReports } from "./index.ts";
import {
  buyersIn,
  byKey,
  type Customer,
  cents,
  cohortsOf,
  customers,
  customersIn,
  type Ev,
  monday,
  parseEvents,
  type Range,
  select,
  sums,
} from "./test/reference.ts";
import { problems } from "./test/schemas.ts";

/**
 * Every report against the real pipeline: a generated REES46-style file (plus refused rows, an
 * exact duplicate and a spreadsheet-formula brand) goes through `capline setup`, `ingest` and
 * `process --until-idle` into its own topic, queues, indices, bucket and HDFS root; the reports'
 * figures must equal this test's own computation from the CSV (test/reference.ts), for several
 * ranges and filters, revenue to the cent.
 */

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "capline.mjs");
const utc = (s: string) => Date.parse(s);
const DAY = 86_400_000;

/** A rate as the reports give it: null over zero. */
function expectRate(got: number | null, a: number, b: number, label: string) {
  if (b === 0) expect(got, label).toBeNull();
  else expect(got, label).toBeCloseTo(a / b, 12);
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const name = uniqueName("report");
const env: Record<string, string> = {
  ...isolatedNames(name),
  LOG_LEVEL: "warn",
};
const dir = mkdtempSync(join(tmpdir(), "capline-report-"));
const csv = join(dir, "events.csv");
const FORMULA_BRAND = "=HYPERLINK(evil)";

let config: Config;
let events: Ev[] = [];
let people = new Map<string, Customer>();
let topCategory = "";
let topBrand = "";

async function report(name: ReportName, flags: RawReportFlags) {
  const [r] = await runReports(config, [name], parseParams(flags));
  if (!r) throw new Error("no result");
  // biome-ignore lint/suspicious/noExplicitAny: the JSON figures are checked field by field below
  return { data: r.data as any, empty: r.empty, result: r };
}

async function cleanup(): Promise<void> {
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
}

beforeAll(async () => {
  config = testConfig(env);
  const setup = await cli(["setup", "--json"], env);
  expect(setup.code, setup.stderr + setup.stdout).toBe(0);
  const gen = await cli(
    ["generate", "--out", csv, "--events", "4000", "--days", "20", "--users", "300", "--seed", "5150"],
    env,
  );
  expect(gen.code, gen.stderr).toBe(0);
  const lines = readFileSync(csv, "utf8").trimEnd().split("\n");
  const purchase = lines.find((l) => l.includes(",purchase,")) ?? "";
  appendFileSync(
    csv,
    [
      // Refused by the row rules: never counted.
      "2019-10-05 10:00:00 UTC,purchase,1,2,,,12.5x,1599999999000000001,s1",
      "2019/10/05 10:00:00,purchase,1,2,,,10.00,1599999999000000001,s1",
      "2019-10-05 10:00:00 UTC,click,1,2,,,10.00,1599999999000000001,s1",
      "2019-10-05 10:00:00 UTC,purchase,1,2,,,,1599999999000000001,s1",
      // An exact duplicate: counted once.
      purchase,
      // Accepted, with a brand a spreadsheet would run as a formula.
      `2019-10-06 11:15:00 UTC,purchase,99000001,2053013555631882655,electronics.smartphone,${FORMULA_BRAND},19.99,1599999999000000002,sx`,
      `2019-10-06 11:10:00 UTC,view,99000001,2053013555631882655,electronics.smartphone,${FORMULA_BRAND},19.99,1599999999000000002,sx`,
      "",
    ].join("\n"),
  );
  const ingest = await cli(["ingest", csv, "--json"], env);
  // 3 = done, some rows refused.
  expect(ingest.code, ingest.stderr).toBe(3);
  expect(problems("ingest", JSON.parse(ingest.stdout))).toEqual([]);
  const processed = await cli(["process", "--until-idle", "--json"], env, 280_000);
  expect(processed.code, processed.stderr.slice(-2000)).toBe(0);
  expect(problems("process", JSON.parse(processed.stdout))).toEqual([]);
  const parsed = parseEvents(readFileSync(csv, "utf8"));
  expect(parsed.rejected).toBe(4);
  expect(parsed.duplicates).toBeGreaterThanOrEqual(1);
  events = parsed.events;
  expect(JSON.parse(processed.stdout)).toMatchObject({
    status: "idle",
    dispatcher: { events: events.length },
  });
  people = customers(events);
  const count = (d: "category" | "brand") =>
    [...byKey(events, d)].filter(([k]) => k !== "unknown").sort((a, b) => b[1].views - a[1].views)[0]?.[0] ??
    "";
  topCategory = count("category");
  topBrand = count("brand");
}, 300_000);

afterAll(async () => {
  if (config) await cleanup();
});

interface Case {
  label: string;
  flags: RawReportFlags;
  range: Range;
  category?: string;
  brand?: string;
}

const RANGES: Array<Pick<Case, "label" | "flags" | "range">> = [
  { label: "all time", flags: {}, range: {} },
  {
    label: "whole days Oct 3..9 (daily aggregates)",
    flags: { from: "2019-10-03", to: "2019-10-09" },
    range: { from: utc("2019-10-03T00:00:00Z"), to: utc("2019-10-10T00:00:00Z") },
  },
  {
    label: "Oct 4 06:00 .. Oct 11 18:00 (hourly aggregates)",
    flags: { from: "2019-10-04 06:00", to: "2019-10-11T20:00:00+02:00" },
    range: { from: utc("2019-10-04T06:00:00Z"), to: utc("2019-10-11T18:00:00Z") },
  },
  {
    label: "Oct 6 10:00 .. 15:00 (inside one day: products from state.hours only)",
    flags: { from: "2019-10-06 10:00", to: "2019-10-06 15:00" },
    range: { from: utc("2019-10-06T10:00:00Z"), to: utc("2019-10-06T15:00:00Z") },
  },
];

function cases(withFilters: boolean): Case[] {
  const out: Case[] = [];
  for (const r of RANGES) {
    out.push({ ...r });
    if (!withFilters) continue;
    out.push({
      ...r,
      label: `${r.label}, top category`,
      flags: { ...r.flags, category: topCategory },
      category: topCategory,
    });
    out.push({
      ...r,
      label: `${r.label}, top brand`,
      flags: { ...r.flags, brand: topBrand },
      brand: topBrand,
    });
    out.push({
      ...r,
      label: `${r.label}, unknown category`,
      flags: { ...r.flags, category: "unknown" },
      category: "unknown",
    });
  }
  return out;
}

/** A ranking equals the expected one up to the order of ties: same values in the same order, same figures per key. */
function expectRanking<T>(
  label: string,
  got: Array<{ key: string; value: number }>,
  want: Map<string, T>,
  score: (t: T) => number,
  top: number,
) {
  const sorted = [...want.values()].map(score).sort((a, b) => b - a);
  expect(
    got.map((g) => g.value),
    label,
  ).toEqual(sorted.slice(0, top));
  for (const g of got) expect(want.has(g.key), `${label}: ${g.key}`).toBe(true);
  expect(new Set(got.map((g) => g.key)).size, label).toBe(got.length);
}

describe("report figures equal the independent computation from the CSV", () => {
  it("overview", async () => {
    for (const c of cases(true)) {
      const { data, empty } = await report("overview", c.flags);
      const ev = select(events, c.range, c.category, c.brand);
      const s = sums(ev);
      expect(empty, c.label).toBe(false);
      expect(data.events, c.label).toEqual({
        total: ev.length,
        views: s.views,
        carts: s.carts,
        removes: s.removes,
        purchases: s.purchases,
      });
      expect(cents(data.revenue), c.label).toBe(s.cents);
      expect(data.orders, c.label).toBe(s.purchases);
      if (s.purchases === 0) expect(data.avg_order_value, c.label).toBeNull();
      else expect(cents(data.avg_order_value), c.label).toBe(Math.round(s.cents / s.purchases));
      expectRate(data.conversion.view_to_cart, s.carts, s.views, c.label);
      expectRate(data.conversion.cart_to_purchase, s.purchases, s.carts, c.label);
      expectRate(data.conversion.view_to_purchase, s.purchases, s.views, c.label);
      const cs = customersIn(people, c.range, c.category, c.brand);
      expect(data.customers, c.label).toBe(cs.length);
      expect(data.purchasers, c.label).toBe(cs.filter((x) => x.purchases > 0).length);
      if (c.category === undefined && c.brand === undefined) {
        for (const d of ["category", "brand"] as const) {
          const want = byKey(ev, d);
          const got = (d === "category" ? data.top_categories : data.top_brands) as Array<{
            key: string;
            views: number;
            carts: number;
            purchases: number;
            revenue: number;
          }>;
          expectRanking(
            `${c.label} top ${d}`,
            got.map((g) => ({ key: g.key, value: cents(g.revenue) })),
            want,
            (x) => x.cents,
            10,
          );
          for (const g of got)
            expect({ ...g, revenue: cents(g.revenue) }, `${c.label} ${d} ${g.key}`).toEqual({
              key: g.key,
              views: want.get(g.key)?.views,
              carts: want.get(g.key)?.carts,
              purchases: want.get(g.key)?.purchases,
              revenue: want.get(g.key)?.cents,
            });
        }
      } else expect(data.top_categories).toEqual([]);
      // The previous period of the same length (the data's extent when the range is open).
      const start = c.range.from ?? Date.parse(data.range.first_bucket);
      const end = c.range.to ?? Date.parse(data.range.data_until);
      const before = { from: start - (end - start), to: start };
      expect(data.previous_period, c.label).toEqual({
        from: new Date(before.from).toISOString(),
        to: new Date(before.to).toISOString(),
      });
      const pe = select(events, before, c.category, c.brand);
      const ps = sums(pe);
      const pc = customersIn(people, before, c.category, c.brand);
      if (pe.length + pc.length === 0) expect(data.previous.revenue, c.label).toBeNull();
      else {
        expect(
          {
            events: data.previous.events,
            orders: data.previous.orders,
            revenue: cents(data.previous.revenue),
            customers: data.previous.customers,
            purchasers: data.previous.purchasers,
          },
          `${c.label} previous`,
        ).toEqual({
          events: pe.length,
          orders: ps.purchases,
          revenue: ps.cents,
          customers: pc.length,
          purchasers: pc.filter((x) => x.purchases > 0).length,
        });
        if (ps.cents > 0)
          expect(data.change.revenue, c.label).toBeCloseTo((s.cents - ps.cents) / ps.cents, 9);
        if (s.views > 0 && ps.views > 0)
          expect(data.change.view_to_purchase, `${c.label} change in points`).toBeCloseTo(
            s.purchases / s.views - ps.purchases / ps.views,
            12,
          );
      }
    }
    const none = await report("overview", { compare: "none" });
    expect(none.data.previous).toBeNull();
    expect(none.result.sections[0]?.kpis?.every((k) => k.previous === undefined)).toBe(true);
  });

  it("revenue by hour, day, week and month", async () => {
    const start: Record<string, (ms: number) => number> = {
      hour: (ms) => ms - (ms % 3_600_000),
      day: (ms) => ms - (ms % DAY),
      week: monday,
      month: (ms) => Date.UTC(new Date(ms).getUTCFullYear(), new Date(ms).getUTCMonth(), 1),
    };
    const next: Record<string, (ms: number) => number> = {
      hour: (ms) => ms + 3_600_000,
      day: (ms) => ms + DAY,
      week: (ms) => ms + 7 * DAY,
      month: (ms) => Date.UTC(new Date(ms).getUTCFullYear(), new Date(ms).getUTCMonth() + 1, 1),
    };
    const label: Record<string, (ms: number) => string> = {
      hour: (ms) => `${new Date(ms).toISOString().slice(0, 13)}:00Z`,
      day: (ms) => new Date(ms).toISOString().slice(0, 10),
      week: (ms) => new Date(ms).toISOString().slice(0, 10),
      month: (ms) => new Date(ms).toISOString().slice(0, 7),
    };
    for (const c of cases(true))
      for (const by of ["hour", "day", "week", "month"] as const) {
        if (by === "hour" && c.range.from === undefined) continue;
        const { data } = await report("revenue", { ...c.flags, by });
        const ev = select(events, c.range, c.category, c.brand);
        const lo = c.range.from ?? Math.min(...ev.map((e) => e.ms));
        const hi = c.range.to !== undefined ? c.range.to - 1 : Math.max(...ev.map((e) => e.ms));
        const want: Array<{ period: string; revenue: number; orders: number }> = [];
        for (let p = start[by]?.(lo) ?? 0; p <= hi; p = next[by]?.(p) ?? Number.POSITIVE_INFINITY) {
          const end = next[by]?.(p) ?? 0;
          const s = sums(ev.filter((e) => e.ms >= p && e.ms < end));
          want.push({ period: label[by]?.(p) ?? "", revenue: s.cents, orders: s.purchases });
        }
        const got = (data.series as Array<{ period: string; revenue: number; orders: number }>).map((x) => ({
          period: x.period,
          revenue: cents(x.revenue),
          orders: x.orders,
        }));
        expect(got, `${c.label} by ${by}`).toEqual(want);
        expect(cents(data.total.revenue), `${c.label} by ${by}`).toBe(sums(ev).cents);
      }
  });

  it("revenue split by category, brand and product", async () => {
    for (const c of cases(false))
      for (const split of ["category", "brand", "product"] as const) {
        const { data } = await report("revenue", { ...c.flags, by: "week", split, top: 3 });
        const ev = select(events, c.range);
        const want = byKey(ev, split);
        const keys = data.keys as Array<{ key: string; revenue: number; orders: number }>;
        expectRanking(
          `${c.label} split ${split}`,
          keys.map((k) => ({ key: k.key, value: cents(k.revenue) })),
          want,
          (x) => x.cents,
          3,
        );
        for (const row of data.rows as Array<{
          period: string;
          key: string;
          revenue: number;
          orders: number;
        }>) {
          const p = Date.parse(`${row.period}T00:00:00Z`);
          const s = sums(
            ev.filter(
              (e) =>
                e.ms >= p &&
                e.ms < p + 7 * DAY &&
                (split === "product"
                  ? e.product
                  : ((split === "category" ? e.category : e.brand) ?? "unknown")) === row.key,
            ),
          );
          expect(
            { revenue: cents(row.revenue), orders: row.orders },
            `${c.label} ${row.period} ${row.key}`,
          ).toEqual({
            revenue: s.cents,
            orders: s.purchases,
          });
        }
      }
  });

  it("funnel, at event and customer level, overall and per category", async () => {
    for (const c of cases(true)) {
      const { data } = await report("funnel", c.flags);
      const ev = select(events, c.range, c.category, c.brand);
      const s = sums(ev);
      expect(data.event_level, c.label).toMatchObject({
        views: s.views,
        carts: s.carts,
        removes: s.removes,
        purchases: s.purchases,
      });
      expectRate(data.event_level.view_to_cart, s.carts, s.views, c.label);
      if (s.carts === 0) expect(data.event_level.cart_abandonment).toBeNull();
      else expect(data.event_level.cart_abandonment).toBeCloseTo(Math.max(0, 1 - s.purchases / s.carts), 12);
      const cs = customersIn(people, c.range, c.category, c.brand);
      const steps = (list: Customer[]) => ({
        customers: list.length,
        viewed: list.filter((x) => x.views > 0).length,
        carted: list.filter((x) => x.views > 0 && x.carts > 0).length,
        purchased: list.filter((x) => x.views > 0 && x.carts > 0 && x.purchases > 0).length,
        any_cart: list.filter((x) => x.carts > 0).length,
        cart_no_purchase: list.filter((x) => x.carts > 0 && x.purchases === 0).length,
      });
      const want = steps(cs);
      expect(data.customer_level, c.label).toMatchObject(want);
      expectRate(data.customer_level.cart_abandonment, want.cart_no_purchase, want.any_cart, c.label);
      expectRate(data.customer_level.view_to_purchase, want.purchased, want.viewed, c.label);
      if (c.brand === undefined) {
        const per = byKey(ev, "category");
        const rows = data.by_category as Array<{
          category: string;
          views: number;
          carts: number;
          purchases: number;
        }>;
        expectRanking(
          `${c.label} by category`,
          rows.map((r) => ({ key: r.category, value: r.views })),
          per,
          (x) => x.views,
          10,
        );
        for (const r of rows)
          expect({ carts: r.carts, purchases: r.purchases }, `${c.label} ${r.category}`).toEqual({
            carts: per.get(r.category)?.carts,
            purchases: per.get(r.category)?.purchases,
          });
      } else expect(data.by_category).toEqual([]);
      const groups = new Map<string, Customer[]>();
      for (const x of cs)
        groups.set(x.topCategory ?? "unknown", [...(groups.get(x.topCategory ?? "unknown") ?? []), x]);
      const byTop = data.by_top_category as Array<{ top_category: string }>;
      expectRanking(
        `${c.label} by top category`,
        byTop.map((r) => ({ key: r.top_category, value: (r as unknown as { customers: number }).customers })),
        groups,
        (x) => x.length,
        10,
      );
      for (const r of byTop)
        expect(r, `${c.label} ${r.top_category}`).toMatchObject(steps(groups.get(r.top_category) ?? []));
    }
  });

  it("segments, customers and cohorts (profiles)", async () => {
    for (const c of cases(true)) {
      const cs = customersIn(people, c.range, c.category, c.brand);
      const seg = (await report("segments", c.flags)).data;
      const rows = seg.segments as Array<{
        segment: string;
        customers: number;
        revenue: number;
        avg_monetary: number;
      }>;
      expect(seg.customers, c.label).toBe(cs.length);
      expect(
        rows.reduce((a, r) => a + r.customers, 0),
        c.label,
      ).toBe(cs.length);
      const spent = cs.reduce((a, x) => a + x.cents, 0);
      expect(cents(seg.revenue), c.label).toBe(spent);
      expect(
        rows.reduce((a, r) => a + cents(r.revenue), 0),
        c.label,
      ).toBe(spent);
      // customers: --category/--brand mean "bought at least once" (the other reports: the top one).
      const buyers = buyersIn(people, c.range, c.category, c.brand);
      for (const metric of ["total_spent", "purchases"] as const) {
        const top = (await report("customers", { ...c.flags, metric, top: 7 })).data;
        const value = (x: Customer) => (metric === "total_spent" ? x.cents : x.purchases);
        const want = [...buyers]
          .sort((a, b) => value(b) - value(a) || (a.user < b.user ? -1 : 1))
          .slice(0, 7)
          .map((x) => ({
            user_id: x.user,
            total_spent: x.cents,
            purchases: x.purchases,
            views: x.views,
            sessions: x.sessions.size,
          }));
        expect(
          (
            top.customers as Array<{
              user_id: string;
              total_spent: number;
              purchases: number;
              views: number;
              sessions: number;
            }>
          ).map((x) => ({
            user_id: x.user_id,
            total_spent: cents(x.total_spent),
            purchases: x.purchases,
            views: x.views,
            sessions: x.sessions,
          })),
          `${c.label} customers by ${metric}`,
        ).toEqual(want);
      }
      const co = (await report("cohorts", c.flags)).data;
      expect(
        (co.cohorts as Array<{ cohort_week: string; size: number; active: number[] }>).map((r) => ({
          cohort_week: r.cohort_week,
          size: r.size,
          active: r.active,
        })),
        `${c.label} cohorts`,
      ).toEqual(cohortsOf(people, c.range, c.category, c.brand));
    }
  });

  it("segments: RFM sizes, shares and averages per segment; customers by more metrics with their RFM", async () => {
    // `process --until-idle` scores RFM before it exits: every purchaser has its segment, scored
    // by the tests' own RFM code (processing/test/rfm.ts) over all accepted events of the CSV.
    const rfm = referenceRfm(
      [...people.values()]
        .filter((x) => x.purchases > 0)
        .map((x) => ({
          user: x.user,
          lastPurchaseMs: x.lastPurchase ?? 0,
          purchases: x.purchases,
          cents: x.cents,
        })),
      Math.max(...events.map((e) => e.ms)),
    );
    const segmentOf = (x: Customer) => (x.purchases > 0 ? (rfm.get(x.user)?.segment ?? "?") : PROSPECT);
    expect(new Set([...people.values()].map(segmentOf)).size).toBeGreaterThanOrEqual(4);
    for (const c of cases(true)) {
      const cs = customersIn(people, c.range, c.category, c.brand);
      const spent = cs.reduce((a, x) => a + x.cents, 0);
      const groups = new Map<string, Customer[]>();
      for (const x of cs) groups.set(segmentOf(x), [...(groups.get(segmentOf(x)) ?? []), x]);
      const want = [...groups]
        .map(([segment, members]) => ({ segment, members }))
        .sort((a, b) => b.members.length - a.members.length || (a.segment < b.segment ? -1 : 1));
      const rows = (await report("segments", c.flags)).data.segments as Array<{
        segment: string;
        customers: number;
        customer_share: number | null;
        revenue: number;
        revenue_share: number | null;
        avg_recency_days: number | null;
        avg_frequency: number | null;
        avg_monetary: number | null;
      }>;
      expect(
        rows.map((r) => [r.segment, r.customers]),
        `${c.label}: segments and sizes`,
      ).toEqual(want.map((w) => [w.segment, w.members.length]));
      for (const [i, w] of want.entries()) {
        const r = rows[i];
        const label = `${c.label}: ${w.segment}`;
        if (!r) throw new Error(`${label}: missing row`);
        const n = w.members.length;
        const revenue = w.members.reduce((a, x) => a + x.cents, 0);
        expect(cents(r.revenue), label).toBe(revenue);
        expectRate(r.customer_share, n, cs.length, `${label} customer share`);
        expectRate(r.revenue_share, revenue, spent, `${label} revenue share`);
        const recencies = w.members.flatMap((x) => {
          const d = rfm.get(x.user)?.recency_days;
          return d === undefined ? [] : [d];
        });
        if (recencies.length === 0) expect(r.avg_recency_days, label).toBeNull();
        else
          expect(r.avg_recency_days, `${label} recency`).toBeCloseTo(
            recencies.reduce((a, d) => a + d, 0) / recencies.length,
            9,
          );
        expect(r.avg_frequency, `${label} frequency`).toBeCloseTo(
          w.members.reduce((a, x) => a + x.purchases, 0) / n,
          9,
        );
        // Whole cents: the exact mean rounded, up to a half-cent tie that doubles may break either way.
        expect(
          Math.abs(cents(r.avg_monetary ?? Number.NaN) - revenue / n),
          `${label} monetary`,
        ).toBeLessThanOrEqual(0.5 + 1e-9);
      }
      const rfmFigures = (x: Customer, scores: ReferenceRfm | undefined) => ({
        segment: segmentOf(x),
        rfm: scores ? `${scores.r}${scores.f}${scores.m}` : null,
        recency_days: scores?.recency_days ?? null,
      });
      for (const [metric, value] of [
        ["total_spent", (x: Customer) => x.cents],
        ["views", (x: Customer) => x.views],
        ["carts", (x: Customer) => x.carts],
        ["sessions", (x: Customer) => x.sessions.size],
      ] as const) {
        const top = (await report("customers", { ...c.flags, metric, top: 9 })).data;
        const buyers = buyersIn(people, c.range, c.category, c.brand);
        const wantTop = [...buyers]
          .sort((a, b) => value(b) - value(a) || (a.user < b.user ? -1 : 1))
          .slice(0, 9)
          .map((x) => ({
            user_id: x.user,
            [metric]: value(x),
            purchases: x.purchases,
            total_spent: x.cents,
            ...rfmFigures(x, rfm.get(x.user)),
          }));
        expect(top.customers_in_range, `${c.label} customers by ${metric}`).toBe(buyers.length);
        expect(
          (top.customers as Array<Record<string, unknown>>).map((x) => ({
            user_id: x.user_id,
            [metric]: metric === "total_spent" ? cents(Number(x[metric])) : x[metric],
            purchases: x.purchases,
            total_spent: cents(Number(x.total_spent)),
            segment: x.segment,
            rfm: x.rfm,
            recency_days: x.recency_days,
          })),
          `${c.label} customers by ${metric}`,
        ).toEqual(wantTop);
      }
    }
  });

  it("products, categories and brands leaderboards", async () => {
    for (const c of cases(false))
      for (const [board, dim] of [
        ["products", "product"],
        ["categories", "category"],
        ["brands", "brand"],
      ] as const)
        for (const sort of ["revenue", "views"] as const) {
          const { data } = await report(board, { ...c.flags, sort, top: 8 });
          const ev = select(events, c.range);
          const want = byKey(ev, dim);
          const rows = data.rows as Array<{
            key: string;
            views: number;
            carts: number;
            purchases: number;
            revenue: number;
            conversion: number | null;
          }>;
          expectRanking(
            `${c.label} ${board} by ${sort}`,
            rows.map((r) => ({ key: r.key, value: sort === "revenue" ? cents(r.revenue) : r.views })),
            want,
            (x) => (sort === "revenue" ? x.cents : x.views),
            8,
          );
          for (const r of rows) {
            const w = want.get(r.key);
            expect(
              { views: r.views, carts: r.carts, purchases: r.purchases, revenue: cents(r.revenue) },
              `${board} ${r.key}`,
            ).toEqual({
              views: w?.views,
              carts: w?.carts,
              purchases: w?.purchases,
              revenue: w?.cents,
            });
            if (w) expectRate(r.conversion, w.purchases, w.views, `${board} ${r.key}`);
          }
          expect(data.distinct_keys, `${c.label} ${board}`).toBe(want.size);
          if (dim === "product")
            for (const r of data.rows as Array<{
              key: string;
              brand: string | null;
              category: string | null;
            }>) {
              // A product's brand and category: the alphabetically first of its events' (all time).
              const first = (f: "brand" | "category") =>
                events
                  .filter((e) => e.product === r.key && e[f] !== null)
                  .map((e) => e[f] as string)
                  .sort()[0] ?? null;
              expect({ brand: r.brand, category: r.category }, `product ${r.key}`).toEqual({
                brand: first("brand"),
                category: first("category"),
              });
            }
          expect(cents(data.total_revenue)).toBe(sums(ev).cents);
        }
  });

  it("hourly: hour of day × day of week", async () => {
    for (const c of cases(true)) {
      const { data } = await report("hourly", c.flags);
      const ev = select(events, c.range, c.category, c.brand);
      const want = Array.from({ length: 168 }, () => ({ events: 0, purchases: 0, cents: 0 }));
      for (const e of ev) {
        const d = new Date(e.ms);
        const cell = want[((d.getUTCDay() + 6) % 7) * 24 + d.getUTCHours()];
        if (!cell) continue;
        cell.events++;
        if (e.type === "purchase") {
          cell.purchases++;
          cell.cents += e.cents;
        }
      }
      expect(
        (data.cells as Array<{ events: number; purchases: number; revenue: number }>).map((x) => ({
          events: x.events,
          purchases: x.purchases,
          cents: cents(x.revenue),
        })),
        c.label,
      ).toEqual(want);
    }
  });

  it("a range without data is empty, not an error", async () => {
    const flags = { from: "2018-01-01", to: "2018-01-31" };
    const o = await report("overview", flags);
    expect(o.empty).toBe(true);
    expect(o.data.events.total).toBe(0);
    expect(o.data.revenue).toBe(0);
    expect(o.data.customers).toBe(0);
    const f = await report("funnel", flags);
    expect(f.data.event_level.view_to_cart).toBeNull();
    const run = await cli(
      ["report", "revenue", "--from", "2018-01-01", "--to", "2018-01-31", "--format", "json"],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain("revenue: no data in the selected range/filter");
    const body = JSON.parse(run.stdout);
    expect(body.empty).toBe(true);
    expect(body.data.series.every((p: { revenue: number }) => p.revenue === 0)).toBe(true);
    expect(body.data.series).toHaveLength(31);
  });
});

describe("the CLI: formats and exit codes", () => {
  it("JSON from the CLI equals the figures in-process; --verbose times each report", async () => {
    const run = await cli(["report", "overview", "--format", "json", "--verbose"], env);
    expect(run.code, run.stderr).toBe(0);
    const body = JSON.parse(run.stdout);
    expect(body.report).toBe("overview");
    expect(cents(body.data.revenue)).toBe(sums(events).cents);
    expect(body.data.events.total).toBe(events.length);
    expect(run.stderr).toMatch(/overview: \d+ queries, Elasticsearch \d+ ms .*total \d+ ms/);
    expect(problems("report", body)).toEqual([]);
    const all = await cli(["report", "all", "--json", "--currency", "EUR"], env);
    expect(all.code, all.stderr).toBe(0);
    expect(problems("report", JSON.parse(all.stdout))).toEqual([]);
    expect(JSON.parse(all.stdout).meta).toMatchObject({
      dataset: { topic: env.KAFKA_TOPIC, index_prefix: env.ELASTICSEARCH_INDEX_PREFIX },
      time_zone: "UTC",
      currency: "EUR",
      compare: "previous",
    });
    for (const flags of [
      ["--from", "2019-10-04 06:00", "--to", "2019-10-06"],
      ["--compare", "none"],
    ]) {
      const one = await cli(["report", "overview", "--json", ...flags], env);
      expect(problems("report", JSON.parse(one.stdout)), flags.join(" ")).toEqual([]);
    }
    const monitor = await cli(["monitor", "--json", "--skip", "kibana"], env);
    expect(problems("monitor", JSON.parse(monitor.stdout), ["documents", "partitions", "labels"])).toEqual(
      [],
    );
    expect(Object.keys(JSON.parse(all.stdout).reports)).toEqual([
      "overview",
      "revenue",
      "funnel",
      "segments",
      "customers",
      "products",
      "categories",
      "brands",
      "cohorts",
      "hourly",
    ]);
  });

  it("CSV parses, has the JSON keys as headers, and a formula-like brand is neutralised", async () => {
    const out = join(dir, "brands.csv");
    const run = await cli(["report", "brands", "--format", "csv", "--top", "1000", "--out", out], env);
    expect(run.code, run.stderr).toBe(0);
    const lines = readFileSync(out, "utf8").trimEnd().split("\r\n");
    expect(lines[0]).toBe("rank,key,views,carts,purchases,revenue,conversion,revenue_share");
    const json = JSON.parse((await cli(["report", "brands", "--json", "--top", "1000"], env)).stdout);
    expect(Object.keys(json.data.rows[0])).toEqual(expect.arrayContaining(lines[0]?.split(",") ?? []));
    const want = byKey(events, "brand");
    expect(lines).toHaveLength(want.size + 1);
    const evil = lines.find((l) => l.includes("HYPERLINK"));
    expect(evil?.split(",")[1]).toBe(`'${FORMULA_BRAND}`);
    for (const line of lines.slice(1)) {
      const [, brand, views, , purchases, revenue] = line.split(",");
      const key = brand?.startsWith("'") ? brand.slice(1) : (brand ?? "");
      expect(
        { views: Number(views), purchases: Number(purchases), revenue: cents(Number(revenue)) },
        key,
      ).toEqual({
        views: want.get(key)?.views,
        purchases: want.get(key)?.purchases,
        revenue: want.get(key)?.cents,
      });
    }
  });

  it("report all --format csv --out DIR: one tidy file per table, raw numbers; without a directory, exit 2", async () => {
    const out = join(dir, "tables");
    const run = await cli(["report", "all", "--format", "csv", "--out", out], env);
    expect(run.code, run.stderr).toBe(0);
    const files = readdirSync(out).sort();
    const all = await runReports(config, "all", parseParams({}));
    expect(files).toEqual(all.flatMap((r) => r.sections.map((x) => `${r.report}-${x.id}.csv`)).sort());
    for (const f of files) {
      const text = readFileSync(join(out, f), "utf8");
      const [header, ...rows] = text.trimEnd().split("\r\n");
      expect(header, f).toMatch(/^[a-z0-9_]+(,[a-z0-9_]+)*$/);
      expect(text, f).not.toMatch(/^#/m);
      // Raw numbers: no thousands separators (a quoted "1,234"), no % or currency signs.
      for (const row of rows) expect(row, f).not.toMatch(/"\d{1,3}(,\d{3})+(\.\d+)?"|\d%|€/);
    }
    const figures = readFileSync(join(out, "overview-key_figures.csv"), "utf8").split("\r\n");
    expect(figures[0]).toBe("figure,label,value,previous,change");
    const revenue = figures.find((l) => l.startsWith("revenue,"))?.split(",");
    expect(cents(Number(revenue?.[2]))).toBe(sums(events).cents);
    const refused = await cli(["report", "all", "--format", "csv"], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("give --out DIR");
  });

  it("tables fit --width; piped, nothing is shortened; Markdown renders pipe tables", async () => {
    for (const width of [60, 100]) {
      const run = await cli(["report", "all", "--width", String(width)], env);
      expect(run.code, run.stderr).toBe(0);
      for (const line of run.stdout.split("\n")) expect([...line].length, line).toBeLessThanOrEqual(width);
      expect(run.stdout).toContain("Weekly cohort retention");
    }
    // No terminal, no --width: every cell whole (no "…", no split tables), even with COLUMNS set.
    const piped = await cli(["report", "customers", "--top", "50"], { ...env, COLUMNS: "60" });
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout).not.toContain("…");
    const header = piped.stdout.split("\n").find((l) => l.startsWith("Rank"));
    for (const label of ["Customer", "Spent", "Segment", "Top category", "First seen", "Last seen"])
      expect(header, label).toContain(label);
    for (const x of [...customersIn(people, {})].filter((c) => c.topCategory).slice(0, 5))
      if (piped.stdout.includes(x.user)) expect(piped.stdout).toContain(x.topCategory ?? "");
    const md = await cli(["report", "categories", "--format", "md", "--top", "5"], env);
    expect(md.code, md.stderr).toBe(0);
    const table = md.stdout.split("\n").filter((l) => l.startsWith("|"));
    expect(table).toHaveLength(7);
    expect(table[1]).toBe("|---:|---|---:|---:|---:|---:|---:|---:|");
  });

  it("exit codes: unknown report 2, inapplicable filter 2, Elasticsearch down 4, no data 6", async () => {
    const unknown = await cli(["report", "sales"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("valid reports: overview, revenue, funnel");
    const filter = await cli(["report", "products", "--brand", "x"], env);
    expect(filter.code).toBe(2);
    expect(filter.stderr).toContain("--brand does not apply");
    // `all` with a filter the leaderboards cannot honour: they are left out, the rest answer.
    const filtered = await cli(["report", "all", "--category", topCategory, "--json"], env);
    expect(filtered.code, filtered.stderr).toBe(0);
    expect(Object.keys(JSON.parse(filtered.stdout).reports)).toEqual([
      "overview",
      "revenue",
      "funnel",
      "segments",
      "customers",
      "cohorts",
      "hourly",
    ]);
    expect(filtered.stderr).toContain("products left out: products: --category does not apply");
    const down = await cli(["report", "overview"], { ...env, ELASTICSEARCH_URL: "http://127.0.0.1:1" });
    expect(down.code).toBe(4);
    expect(down.stderr).toContain("Elasticsearch is not reachable at http://127.0.0.1:1");
    const missing = uniqueName("report-none");
    const none = await cli(["report", "overview"], { ...env, ELASTICSEARCH_INDEX_PREFIX: missing });
    expect(none.code).toBe(6);
    expect(none.stderr).toContain("no data yet — run ingest and process");
    // Indices that exist but are empty: the same answer.
    const emptyPrefix = uniqueName("report-empty");
    const es = createElasticsearch(config);
    try {
      for (const n of INDEX_NAMES)
        await es.indices.create({
          index: concreteIndexName(emptyPrefix, n),
          aliases: { [aliasName(emptyPrefix, n)]: {} },
        });
      const empty = await cli(["report", "funnel", "--json"], {
        ...env,
        ELASTICSEARCH_INDEX_PREFIX: emptyPrefix,
      });
      expect(empty.code).toBe(6);
      expect(JSON.parse(empty.stdout)).toMatchObject({ ok: false, error: { code: "NO_DATA" } });
    } finally {
      await es.indices.delete({
        index: INDEX_NAMES.map((n) => concreteIndexName(emptyPrefix, n)),
        ignore_unavailable: true,
      });
      await es.close();
    }
  });
});

/** A command of the machine (poppler's pdftoppm / pdftotext), its output. */
function tool(command: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

describe("HTML in a real browser", () => {
  const CHROMIUM = "/usr/bin/chromium";
  const browser = (args: string[]) =>
    new Promise<Run>((resolve) => {
      const profile = mkdtempSync(join(tmpdir(), "capline-chromium-"));
      execFile(
        CHROMIUM,
        [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          `--user-data-dir=${profile}`,
          ...args,
        ],
        { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => {
          rmSync(profile, { recursive: true, force: true });
          resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr });
        },
      );
    });

  async function screenshot(html: string, height = 2000, width = 1280) {
    const { decodePng } = await import("./test/png.ts");
    const png = `${html}.png`;
    const run = await browser([`--screenshot=${png}`, `--window-size=${width},${height}`, `file://${html}`]);
    expect(run.code, run.stderr.slice(-500)).toBe(0);
    return decodePng(readFileSync(png));
  }

  const mainBlue = (r: number, g: number, b: number) => r === 31 && g === 119 && b === 180;
  // The heatmap scale runs from rgb(222,235,247) to rgb(8,81,156): blue clearly above red.
  const heatBlue = (r: number, g: number, b: number) =>
    b > 140 && b - r > 40 && g > r && !(r === 0 && g === 0);

  it("every chart is drawn: coloured pixels in the screenshot that vanish without the SVG", async () => {
    const { countPixels } = await import("./test/png.ts");
    for (const [reportName, colour, minimum] of [
      ["overview", mainBlue, 3000],
      ["revenue", mainBlue, 3000],
      ["funnel", mainBlue, 1500],
      ["segments", mainBlue, 300],
      ["cohorts", heatBlue, 300],
      ["hourly", heatBlue, 3000],
    ] as const) {
      const file = join(dir, `${reportName}.html`);
      const run = await cli(["report", reportName, "--format", "html", "--out", file], env);
      expect(run.code, run.stderr).toBe(0);
      const html = readFileSync(file, "utf8");
      const withCharts = countPixels(await screenshot(file), colour);
      const bare = join(dir, `${reportName}-bare.html`);
      writeFileSync(bare, html.replace(/<svg class="chart"[\s\S]*?<\/svg>/g, ""));
      const without = countPixels(await screenshot(bare), colour);
      expect(withCharts, `${reportName}: chart pixels`).toBeGreaterThanOrEqual(minimum);
      expect(without, `${reportName}: the same pixels without the charts`).toBeLessThan(minimum / 10);
    }
  });

  /** Layout facts measured by the browser itself, on a copy of the page with a measuring script. */
  const MEASURE = `
    const box = (e) => { const r = e.getBoundingClientRect(); return { left: r.left, right: r.right, width: r.width, height: r.height }; };
    const out = {
      innerWidth: window.innerWidth,
      scrollWidth: document.documentElement.scrollWidth,
      overflowing: [...document.querySelectorAll(".wide")].filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.closest("section").id),
      charts: [...document.querySelectorAll("svg.chart")].map((svg) => ({
        section: svg.closest("section").id,
        type: svg.dataset.chart,
        box: box(svg),
        title: svg.querySelector(".chart-title")?.textContent ?? null,
        legend: svg.querySelector(".legend") ? box(svg.querySelector(".legend")) : null,
        axisTitles: [...svg.querySelectorAll(".axis-title")].map((t) => t.textContent),
        ticks: [...svg.querySelectorAll(".tick")].map((t) => t.textContent),
      })),
      kpis: [...document.querySelectorAll(".kpi")].map((k) => ({ key: k.dataset.key, value: k.dataset.value, text: k.querySelector(".kpi-value").textContent, change: k.querySelector(".kpi-change")?.textContent ?? null, box: box(k) })),
      facts: Object.fromEntries([...document.querySelectorAll("dl.facts div")].map((d) => [d.querySelector("dt").textContent, d.querySelector("dd").textContent])),
      definitions: [...document.querySelectorAll("section.definitions dt")].map((d) => d.textContent),
    };
    const pre = document.createElement("pre"); pre.id = "measure"; pre.textContent = JSON.stringify(out); document.body.appendChild(pre);`;

  async function measure(file: string, width = 1400) {
    const probe = `${file}.probe.html`;
    writeFileSync(
      probe,
      readFileSync(file, "utf8")
        .replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, "")
        .replace("</body>", `<script>${MEASURE}</script></body>`),
    );
    const dom = await browser([
      "--dump-dom",
      `--window-size=${width},1000`,
      "--virtual-time-budget=5000",
      `file://${probe}`,
    ]);
    expect(dom.code, dom.stderr.slice(-500)).toBe(0);
    const text = /<pre id="measure">([\s\S]*?)<\/pre>/.exec(dom.stdout)?.[1] ?? "";
    const json = text
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&amp;/g, "&");
    // biome-ignore lint/suspicious/noExplicitAny: the measured facts are checked field by field
    return JSON.parse(json) as any;
  }

  const FLAGS = ["--from", "2019-10-04", "--to", "2019-10-10", "--currency", "EUR"];

  it("the report an analyst sends, at 1,400 px: header facts, KPI cards equal to the JSON, every chart titled with axes and a legend, nothing wider than the page", async () => {
    const file = join(dir, "analyst.html");
    const run = await cli(["report", "all", "--format", "html", "--out", file, ...FLAGS], env);
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse((await cli(["report", "all", "--json", ...FLAGS], env)).stdout);
    const m = await measure(file);
    expect(m.innerWidth).toBe(1400);
    expect(m.scrollWidth, "the page scrolls sideways").toBeLessThanOrEqual(m.innerWidth);
    expect(m.overflowing, "tables wider than their box").toEqual([]);
    expect(m.facts).toMatchObject({
      Dataset: `topic ${env.KAFKA_TOPIC} · indices ${env.ELASTICSEARCH_INDEX_PREFIX}-*`,
      Period: "2019-10-04 ≤ event time < 2019-10-11",
      "Compared with": "2019-09-27 ≤ event time < 2019-10-04 (the period of the same length before)",
      "Time zone": "UTC (event times and every period)",
      Currency: "EUR",
    });
    expect(m.facts.Generated).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$/);
    // Headline cards: the JSON's figures, as people read them, with the change.
    const overview = json.reports.overview.data;
    const figure: Record<string, number | null> = {
      revenue: overview.revenue,
      orders: overview.orders,
      avg_order_value: overview.avg_order_value,
      customers: overview.customers,
      purchasers: overview.purchasers,
      view_to_purchase: overview.conversion.view_to_purchase,
    };
    expect(m.kpis.map((k: { key: string }) => k.key)).toEqual(Object.keys(figure));
    for (const k of m.kpis) {
      expect(Number(k.value), k.key).toBe(figure[k.key]);
      expect(k.box.right, `${k.key} card inside the page`).toBeLessThanOrEqual(m.innerWidth);
      expect(k.change, k.key).toMatch(/(▲|▼|=) [+−±][\d.]+ ?(%|pt) vs .* before/);
    }
    const money = (v: number) =>
      `€${v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
    expect(m.kpis[0].text).toBe(money(overview.revenue));
    expect(m.kpis[1].text).toBe(overview.orders.toLocaleString("en-US"));
    // Every chart: a title, axis titles, a legend inside the page; titles tell every chart apart.
    expect(m.charts.length).toBeGreaterThanOrEqual(12);
    for (const c of m.charts) {
      expect(c.title, c.section).toBeTruthy();
      expect(c.legend, `${c.section}: legend`).not.toBeNull();
      expect(c.legend.width, `${c.section}: legend drawn`).toBeGreaterThan(20);
      expect(c.legend.right, `${c.section}: legend inside the page`).toBeLessThanOrEqual(m.innerWidth);
      expect(c.box.right, `${c.section}: chart inside the page`).toBeLessThanOrEqual(m.innerWidth);
      expect(c.axisTitles.length, `${c.section}: axis titles`).toBe(c.type === "bars" ? 1 : 2);
      // Round tick values: 0 and multiples of 1, 2, 2.5 or 5 × 10ⁿ, in one unit (k, M or %).
      for (const t of c.ticks)
        expect(t, `${c.section}: tick`).toMatch(/^(0|\d{1,3}(,\d{3})*(\.\d+)?(k|M|%)?)$/);
    }
    const titles = m.charts.map((c: { title: string }) => c.title);
    expect(new Set(titles).size, titles.join(" | ")).toBe(titles.length);
    expect(titles).toEqual(
      expect.arrayContaining([
        "Events by weekday and hour of day (UTC)",
        "Revenue by weekday and hour of day (UTC)",
      ]),
    );
    expect(m.definitions).toEqual(
      expect.arrayContaining([
        "AOV (average order value)",
        "Conversion",
        "Retention (cohorts)",
        "Champions",
        "At risk",
        "Prospect",
      ]),
    );
    // The products table names each product's brand and category.
    const html = readFileSync(file, "utf8");
    expect(html).toMatch(/<th data-key="brand">Brand<\/th><th data-key="category">Category<\/th>/);
    // And a screenshot at that width shows the charts' colours (legend swatches included).
    const { countPixels } = await import("./test/png.ts");
    expect(countPixels(await screenshot(file, 3000, 1400), mainBlue)).toBeGreaterThan(3000);
  });

  it("printed to PDF: A4 pages, none blank, with the header, the headline figures and the definitions", async () => {
    const file = join(dir, "analyst.html");
    const pdf = join(dir, "analyst.pdf");
    const run = await browser(["--no-pdf-header-footer", `--print-to-pdf=${pdf}`, `file://${file}`]);
    expect(run.code, run.stderr.slice(-500)).toBe(0);
    const pages = join(dir, "page");
    const ppm = await tool("pdftoppm", ["-r", "30", "-png", pdf, pages]);
    expect(ppm.code, ppm.stderr).toBe(0);
    const { decodePng, countPixels } = await import("./test/png.ts");
    const images = readdirSync(dir)
      .filter((f) => /^page-\d+\.png$/.test(f))
      .sort();
    // One article per page at least: ten reports and the definitions.
    expect(images.length).toBeGreaterThanOrEqual(11);
    for (const name of images) {
      const image = decodePng(readFileSync(join(dir, name)));
      // A4 portrait at 30 dpi: 248 × 351.
      expect([image.width, image.height], name).toEqual([248, 351]);
      expect(
        countPixels(image, (r, g, b) => r + g + b < 600),
        `${name}: not blank`,
      ).toBeGreaterThan(200);
    }
    const text = await tool("pdftotext", ["-layout", pdf, "-"]);
    expect(text.code, text.stderr).toBe(0);
    const json = JSON.parse((await cli(["report", "overview", "--json", ...FLAGS], env)).stdout);
    const revenue = `€${json.data.revenue.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
    for (const want of [
      "capline report: customers and sales",
      "Dataset",
      "2019-10-04 ≤ event time < 2019-10-11",
      revenue,
      "Definitions",
      "Champions",
    ])
      expect(text.stdout, want).toContain(want);
  });

  it("report all --format html: one self-contained file whose SVG the browser lays out", async () => {
    const file = join(dir, "report.html");
    const run = await cli(["report", "all", "--format", "html", "--out", file], env);
    expect(run.code, run.stderr).toBe(0);
    const html = readFileSync(file, "utf8");
    expect(html).not.toMatch(/<script|<link|<img|\ssrc=|url\(|@import/);
    const dom = await browser(["--dump-dom", `file://${file}`]);
    expect(dom.code, dom.stderr.slice(-500)).toBe(0);
    const svgs = dom.stdout.match(/<svg class="chart"[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs.length).toBeGreaterThanOrEqual(12);
    for (const svg of svgs) {
      const sizes = [...svg.matchAll(/<rect [^>]*width="([\d.]+)" height="([\d.]+)"/g)].map(
        (m) => Number(m[1]) * Number(m[2]),
      );
      const lines = svg.match(/<polyline/g)?.length ?? 0;
      expect(sizes.some((a) => a > 0) || lines > 0, svg.slice(0, 200)).toBe(true);
    }
    const image = await screenshot(file, 6000);
    const { countPixels } = await import("./test/png.ts");
    expect(countPixels(image, mainBlue)).toBeGreaterThan(5000);
  });
});
