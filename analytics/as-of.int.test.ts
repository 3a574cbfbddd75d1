import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../core/config/index.ts";
import { PROSPECT, referenceRfm } from "../processing/test/rfm.ts";
import { randomEnv, removeAll, servicesFor } from "../setup/test/fixtures.ts";
import { testConfig } from "../test/support/index.ts";
import { type Ev, parseEvents } from "./test/reference.ts";
import { problems } from "./test/schemas.ts";

/**
 * `report customers --all --as-of DATE`: a generated file goes through the real pipeline; every
 * customer's segment, R/F/M scores, recency and figures as of the end of a day in the middle equal
 * this test's own computation over the CSV rows up to that day (test/reference.ts,
 * processing/test/rfm.ts — neither uses analytics' or processing's code). Then late events, all
 * dated after that day, go through the pipeline too: the answer as of the day stays the same to
 * the byte while today's segments move.
 */

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "capline.mjs");
const DAY = 86_400_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>, timeoutMs = 180_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

const env: Record<string, string> = { ...(randomEnv("asof") as Record<string, string>), LOG_LEVEL: "warn" };
const dir = mkdtempSync(join(tmpdir(), "capline-asof-"));
const csv = join(dir, "events.csv");
let config: Config;
let events: Ev[] = [];
let days: string[] = [];
let middle = "";

interface Expected {
  segment: string;
  r: number | null;
  f: number | null;
  m: number | null;
  recency_days: number | null;
  purchases: number;
  total_spent: number;
  views: number;
  carts: number;
  first_seen: string;
  last_seen: string;
  last_purchase_at: string | null;
}

/** Every customer as of the end of `date` (UTC), from the rows up to then only. */
function expectedAsOf(all: readonly Ev[], date: string): Map<string, Expected> {
  const end = Date.parse(`${date}T00:00:00Z`) + DAY;
  const rows = all.filter((e) => e.ms < end);
  const newest = Math.max(...rows.map((e) => e.ms));
  const people = new Map<string, Ev[]>();
  for (const e of rows) people.set(e.user, [...(people.get(e.user) ?? []), e]);
  const buyers = [...people].flatMap(([user, list]) => {
    const bought = list.filter((e) => e.type === "purchase");
    return bought.length === 0
      ? []
      : [
          {
            user,
            lastPurchaseMs: Math.max(...bought.map((e) => e.ms)),
            purchases: bought.length,
            cents: bought.reduce((s, e) => s + e.cents, 0),
          },
        ];
  });
  const rfm = referenceRfm(buyers, newest);
  const out = new Map<string, Expected>();
  for (const [user, list] of people) {
    const bought = list.filter((e) => e.type === "purchase");
    const score = rfm.get(user);
    const times = list.map((e) => e.ms);
    out.set(user, {
      segment: score?.segment ?? PROSPECT,
      r: score?.r ?? null,
      f: score?.f ?? null,
      m: score?.m ?? null,
      recency_days: score?.recency_days ?? null,
      purchases: bought.length,
      total_spent: bought.reduce((s, e) => s + e.cents, 0) / 100,
      views: list.filter((e) => e.type === "view").length,
      carts: list.filter((e) => e.type === "cart").length,
      first_seen: new Date(Math.min(...times)).toISOString(),
      last_seen: new Date(Math.max(...times)).toISOString(),
      last_purchase_at:
        bought.length === 0 ? null : new Date(Math.max(...bought.map((e) => e.ms))).toISOString(),
    });
  }
  return out;
}

type Row = Record<string, string | number | null>;

function picked(r: Row): Expected {
  return {
    segment: String(r.segment),
    r: r.r as number | null,
    f: r.f as number | null,
    m: r.m as number | null,
    recency_days: r.recency_days as number | null,
    purchases: Number(r.purchases),
    total_spent: Number(r.total_spent),
    views: Number(r.views),
    carts: Number(r.carts),
    first_seen: String(r.first_seen),
    last_seen: String(r.last_seen),
    last_purchase_at: r.last_purchase_at === null ? null : String(r.last_purchase_at),
  };
}

async function asOfJson(date: string, extra: string[] = []) {
  const run = await cli(["report", "customers", "--all", "--as-of", date, "--format", "json", ...extra], env);
  expect(run.code, run.stderr).toBe(0);
  expect(problems("customers-export", JSON.parse(run.stdout))).toEqual([]);
  return {
    run,
    doc: JSON.parse(run.stdout) as {
      as_of: { date: string; end: string; recency_from: string; time_zone: string };
      columns: string[];
      customers: Row[];
      count: number;
    },
  };
}

beforeAll(async () => {
  config = testConfig(env);
  expect((await cli(["setup", "--json"], env)).code).toBe(0);
  const gen = await cli(
    ["generate", "--out", csv, "--events", "30000", "--days", "7", "--users", "2500", "--seed", "2026"],
    env,
  );
  expect(gen.code, gen.stderr).toBe(0);
  const ingest = await cli(["ingest", csv], env);
  expect(ingest.code, ingest.stderr).toBe(0);
  const processed = await cli(["process", "--until-idle"], env, 600_000);
  expect(processed.code, processed.stderr.slice(-2000)).toBe(0);
  events = parseEvents(readFileSync(csv, "utf8")).events;
  days = [...new Set(events.map((e) => new Date(e.ms).toISOString().slice(0, 10)))].sort();
  middle = days[Math.floor(days.length / 2)] ?? "";
}, 900_000);

afterAll(async () => {
  if (config) {
    const services = servicesFor(env);
    await removeAll(services, config).catch(() => undefined);
    await services.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

describe("report customers --category/--brand: bought at least once (profiles in Elasticsearch)", () => {
  const buyersOf = (field: "category" | "brand", value: string) =>
    [
      ...new Set(
        events.filter((e) => e.type === "purchase" && (e[field] ?? "unknown") === value).map((e) => e.user),
      ),
    ].sort();

  it("exports exactly the customers who bought a category, a brand or one without a brand", async () => {
    const category = events.find((e) => e.type === "purchase" && e.category)?.category ?? "";
    const brand = events.find((e) => e.type === "purchase" && e.brand)?.brand ?? "";
    for (const [flag, field, value] of [
      ["--category", "category", category],
      ["--brand", "brand", brand],
      ["--brand", "brand", "unknown"],
    ] as const) {
      const want = buyersOf(field, value);
      expect(want.length, `${flag} ${value}`).toBeGreaterThan(5);
      const run = await cli(["report", "customers", "--all", flag, value, "--format", "json"], env);
      expect(run.code, run.stderr).toBe(0);
      expect(problems("customers-export", JSON.parse(run.stdout))).toEqual([]);
      const got = (JSON.parse(run.stdout) as { customers: Row[] }).customers.map((r) => String(r.user_id));
      expect(got, `${flag} ${value}`).toEqual(want);
    }
    // The ranking takes the same filter: the top 5 by spend among those who bought the brand.
    const ranked = await cli(
      ["report", "customers", "--brand", brand, "--top", "5", "--format", "json"],
      env,
    );
    expect(ranked.code, ranked.stderr).toBe(0);
    const rows = (JSON.parse(ranked.stdout) as { data: { customers: Row[] } }).data.customers;
    const bought = new Set(buyersOf("brand", brand));
    expect(rows.length).toBe(5);
    for (const r of rows) expect(bought.has(String(r.user_id)), String(r.user_id)).toBe(true);
    // And they are the five biggest spenders among them (ties by user id), by the CSV's figures.
    const spent = new Map<string, number>();
    for (const e of events) if (e.type === "purchase") spent.set(e.user, (spent.get(e.user) ?? 0) + e.cents);
    const top5 = [...bought]
      .sort((a, b) => (spent.get(b) ?? 0) - (spent.get(a) ?? 0) || (a < b ? -1 : 1))
      .slice(0, 5);
    expect(rows.map((r) => String(r.user_id))).toEqual(top5);
  });

  it("differs from the old top-brand meaning on this data (so the test can tell them apart)", async () => {
    const brand = events.find((e) => e.type === "purchase" && e.brand)?.brand ?? "";
    const counts = new Map<string, Map<string, number>>();
    for (const e of events) {
      if (!e.brand) continue;
      const m = counts.get(e.user) ?? new Map<string, number>();
      m.set(e.brand, (m.get(e.brand) ?? 0) + 1);
      counts.set(e.user, m);
    }
    const topIs = (user: string) => {
      const m = [...(counts.get(user) ?? new Map<string, number>())].sort(
        (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1),
      );
      return m[0]?.[0] === brand;
    };
    const bought = buyersOf("brand", brand);
    expect(bought.filter((u) => !topIs(u)).length).toBeGreaterThan(0);
  });
});

describe("report customers --all --as-of DATE", () => {
  let first = "";

  it("gives every customer's segment, scores and figures as of the end of a day in the middle, exactly", async () => {
    expect(days.length).toBe(7);
    const want = expectedAsOf(events, middle);
    const { doc, run } = await asOfJson(middle);
    first = JSON.stringify(doc.customers);
    expect(doc.as_of).toMatchObject({
      date: middle,
      end: new Date(Date.parse(`${middle}T00:00:00Z`) + DAY).toISOString(),
      time_zone: "UTC",
    });
    expect(doc.count).toBe(want.size);
    expect(run.stderr).toContain(
      `exported ${want.size.toLocaleString("en-US")} customers as of the end of ${middle}`,
    );
    const got = new Map(doc.customers.map((r) => [String(r.user_id), picked(r)]));
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [user, w] of want) expect(got.get(user), user).toEqual(w);
    // In user id order, and the later customers are not there yet.
    expect(doc.customers.map((r) => r.user_id)).toEqual([...got.keys()].sort());
    expect(want.size).toBeLessThan(new Set(events.map((e) => e.user)).size);
    // The segments really differ from today's for some customers (otherwise the test proves nothing).
    const today = expectedAsOf(events, days[days.length - 1] ?? "");
    expect([...want].filter(([u, w]) => today.get(u)?.segment !== w.segment).length).toBeGreaterThan(50);
  });

  it("filters as of the date: segment, spend, last seen and a category bought by then", async () => {
    const want = expectedAsOf(events, middle);
    const atRisk = [...want].filter(([, w]) => w.segment === "At risk").map(([u]) => u);
    expect(atRisk.length).toBeGreaterThan(10);
    const seg = await asOfJson(middle, ["--segment", "at risk"]);
    expect(seg.doc.customers.map((r) => r.user_id)).toEqual(atRisk.sort());

    const end = Date.parse(`${middle}T00:00:00Z`) + DAY;
    const category = events.find((e) => e.type === "purchase" && e.category && e.ms < end)?.category ?? "";
    const bought = new Set(
      events.filter((e) => e.type === "purchase" && e.category === category && e.ms < end).map((e) => e.user),
    );
    const rich = [...want].filter(([u, w]) => bought.has(u) && w.total_spent >= 100).map(([u]) => u);
    const cat = await asOfJson(middle, ["--category", category, "--min-spend", "100"]);
    expect(cat.doc.customers.map((r) => r.user_id)).toEqual(rich.sort());
    expect(rich.length).toBeGreaterThan(0);

    const after = Date.parse(`${middle}T00:00:00Z`);
    const recent = [...want].filter(([, w]) => Date.parse(w.last_seen) >= after).map(([u]) => u);
    const seen = await asOfJson(middle, ["--last-seen-after", middle]);
    expect(seen.doc.customers.map((r) => r.user_id)).toEqual(recent.sort());
    expect(recent.length).toBeGreaterThan(0);
    expect(recent.length).toBeLessThan(want.size);

    const csvOut = join(dir, "as-of.csv");
    const run = await cli(
      ["report", "customers", "--all", "--as-of", middle, "--format", "csv", "--out", csvOut],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    const [header, ...lines] = readFileSync(csvOut, "utf8").trimEnd().split("\r\n");
    const keys = (header ?? "").split(",");
    expect(keys).toEqual(seg.doc.columns);
    const rows = lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [keys[i] ?? "", v])));
    expect(rows.length).toBe(want.size);
    for (const r of rows) expect(r.segment, r.user_id).toBe(want.get(r.user_id ?? "")?.segment);
  });

  it("as of the last day equals today's profile segments", async () => {
    const last = days[days.length - 1] ?? "";
    const asOf = await asOfJson(last);
    const run = await cli(["report", "customers", "--all", "--format", "json"], env);
    expect(run.code, run.stderr).toBe(0);
    const profiles = JSON.parse(run.stdout) as { customers: Row[] };
    const segments = (rows: Row[]) =>
      rows.map((r) => `${r.user_id} ${r.segment} ${r.rfm_score} ${r.recency_days}`);
    expect(segments(asOf.doc.customers)).toEqual(segments(profiles.customers));
  });

  it("late events dated after the date do not change the answer, while today's segments move", async () => {
    const before = await cli(["report", "customers", "--all", "--format", "json"], env);
    const todayBefore = new Map(
      (JSON.parse(before.stdout) as { customers: Row[] }).customers.map((r) => [r.user_id, r.segment]),
    );
    // Large purchases after the date by customers of the middle day, and new customers.
    const want = expectedAsOf(events, middle);
    const late = [...want.keys()].slice(0, 300);
    const lastMs = Math.max(...events.map((e) => e.ms));
    const stamp = (ms: number) => `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
    const lines = [
      "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session",
    ];
    late.forEach((user, i) => {
      const ms = lastMs - (i % 50) * 60_000;
      lines.push(
        `${stamp(ms)},purchase,9${i},1,late.category,lateb,${(900 + i).toFixed(2)},${user},late-${i}`,
      );
      lines.push(`${stamp(ms)},view,9${i},1,late.category,lateb,1.00,${user},late-${i}`);
    });
    for (let i = 0; i < 50; i++)
      lines.push(`${stamp(lastMs - i * 1000)},purchase,8${i},1,,,10.00,777000${i},late-new-${i}`);
    const lateCsv = join(dir, "late.csv");
    writeFileSync(lateCsv, `${lines.join("\n")}\n`);
    expect((await cli(["ingest", lateCsv], env)).code).toBe(0);
    const processed = await cli(["process", "--until-idle"], env, 600_000);
    expect(processed.code, processed.stderr.slice(-2000)).toBe(0);

    const again = await asOfJson(middle);
    expect(JSON.stringify(again.doc.customers)).toBe(first);
    const after = await cli(["report", "customers", "--all", "--format", "json"], env);
    const todayAfter = (JSON.parse(after.stdout) as { customers: Row[] }).customers;
    expect(todayAfter.length).toBe(todayBefore.size + 50);
    expect(todayAfter.filter((r) => todayBefore.get(r.user_id) !== r.segment).length).toBeGreaterThan(50);
  }, 900_000);

  it("refuses a bad date, a date outside the data and a report that cannot honour it (exit 2), leaving no file", async () => {
    const out = join(dir, "never.csv");
    const first = days[0] ?? "";
    const dayBefore = new Date(Date.parse(`${first}T00:00:00Z`) - DAY).toISOString().slice(0, 10);
    for (const [args, message] of [
      [["--as-of", "2019-02-30"], '--as-of: "2019-02-30" is not a date; expected YYYY-MM-DD'],
      [["--as-of", "15.10.2019"], "is not a date"],
      [["--as-of", dayBefore], `--as-of ${dayBefore}: outside the data, which covers ${first} to`],
      [["--as-of", "2031-01-01"], "outside the data"],
      [["--as-of", middle, "--segment", "(unscored)"], "every purchaser is scored"],
    ] as const) {
      const run = await cli(["report", "customers", "--all", "--format", "csv", "--out", out, ...args], env);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toContain(message);
      expect(existsSync(out)).toBe(false);
    }
    for (const args of [
      ["report", "customers", "--as-of", middle],
      ["report", "segments", "--as-of", middle],
    ]) {
      const run = await cli(args, env);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("--as-of: for the customer export only");
    }
  });

  it("reads HDFS when MinIO is not archived to, with the same answer", async () => {
    const minio = await asOfJson(middle);
    const run = await cli(["report", "customers", "--all", "--as-of", middle, "--format", "json"], {
      ...env,
      ARCHIVE_MINIO: "false",
    });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).customers).toEqual(minio.doc.customers);
    const none = await cli(["report", "customers", "--all", "--as-of", middle, "--format", "json"], {
      ...env,
      ARCHIVE_MINIO: "false",
      ARCHIVE_HDFS: "false",
    });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("the lake is switched off (ARCHIVE_MINIO=false and ARCHIVE_HDFS=false)");
  });

  it("names the lake store when it does not answer (exit 4)", async () => {
    const run = await cli(["report", "customers", "--all", "--as-of", middle, "--format", "json"], {
      ...env,
      MINIO_ENDPOINT: "http://127.0.0.1:1",
    });
    expect(run.code, run.stderr).toBe(4);
    expect(run.stderr).toContain("MinIO is not reachable at http://127.0.0.1:1");
  });
});
