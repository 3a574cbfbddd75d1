import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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
import { PROSPECT, referenceRfm } from "../processing/test/rfm.ts";
import { isolatedNames, testConfig, uniqueName } from "../test/support/index.ts";
import { type Customer, customers, parseEvents } from "./test/reference.ts";
import { problems } from "./test/schemas.ts";

/**
 * `report customers --segment NAME --all`: every customer of a segment, past Elasticsearch's
 * 10,000-hit window, streamed with a point in time and search_after. A generated file with more
 * than 10,000 prospects goes through the real pipeline; the exported ids equal this test's own
 * computation from the CSV (test/reference.ts, processing/test/rfm.ts).
 */

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "capline.mjs");

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
      { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

const name = uniqueName("export");
const env: Record<string, string> = { ...isolatedNames(name), LOG_LEVEL: "warn" };
const dir = mkdtempSync(join(tmpdir(), "capline-export-"));
const csv = join(dir, "events.csv");
let config: Config;
let people = new Map<string, Customer>();
let segmentOf: (c: Customer) => string = () => "";

/** CSV rows of an export file (the generator's values need no quoting). */
function readExport(file: string): Array<Record<string, string>> {
  const [header, ...lines] = readFileSync(file, "utf8").trimEnd().split("\r\n");
  const keys = (header ?? "").split(",");
  return lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [keys[i] ?? "", v])));
}

beforeAll(async () => {
  config = testConfig(env);
  expect((await cli(["setup", "--json"], env)).code).toBe(0);
  const gen = await cli(
    ["generate", "--out", csv, "--events", "110000", "--days", "7", "--users", "300000", "--seed", "77"],
    env,
  );
  expect(gen.code, gen.stderr).toBe(0);
  const ingest = await cli(["ingest", csv], env);
  expect(ingest.code, ingest.stderr).toBe(0);
  const processed = await cli(["process", "--until-idle"], env, 600_000);
  expect(processed.code, processed.stderr.slice(-2000)).toBe(0);
  const { events } = parseEvents(readFileSync(csv, "utf8"));
  people = customers(events);
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
  segmentOf = (c) => (c.purchases > 0 ? (rfm.get(c.user)?.segment ?? "?") : PROSPECT);
}, 900_000);

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

describe("report customers --segment NAME --all", () => {
  it("streams every customer of a segment past the 10,000-hit window, exactly", async () => {
    const want = [...people.values()].filter((c) => segmentOf(c) === PROSPECT).map((c) => c.user);
    expect(want.length).toBeGreaterThan(10_000);
    const out = join(dir, "prospects.csv");
    const run = await cli(
      ["report", "customers", "--segment", "prospect", "--all", "--format", "csv", "--out", out],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`exported ${want.length.toLocaleString("en-US")} customers`);
    const rows = readExport(out);
    expect(rows.length).toBe(want.length);
    expect(rows.map((r) => r.user_id).sort()).toEqual([...want].sort());
    // In user id order, each once, with the profile's figures.
    expect(rows.map((r) => r.user_id)).toEqual(rows.map((r) => r.user_id ?? "").sort());
    for (const r of rows.slice(0, 200)) {
      const c = people.get(r.user_id ?? "");
      expect(
        { segment: r.segment, views: Number(r.views), total_spent: Number(r.total_spent) },
        r.user_id,
      ).toEqual({
        segment: PROSPECT,
        views: c?.views,
        total_spent: 0,
      });
    }
  });

  it("every scored segment, as JSON, equals the reference RFM scoring", async () => {
    const bySegment = new Map<string, string[]>();
    for (const c of people.values())
      bySegment.set(segmentOf(c), [...(bySegment.get(segmentOf(c)) ?? []), c.user]);
    const scored = [...bySegment.keys()].filter((s) => s !== PROSPECT);
    expect(scored.length).toBeGreaterThanOrEqual(4);
    for (const segment of scored) {
      const run = await cli(["report", "customers", "--segment", segment, "--all", "--json"], env);
      expect(run.code, run.stderr).toBe(0);
      const body = JSON.parse(run.stdout);
      expect(problems("customers-export", body), segment).toEqual([]);
      expect(body.as_of).toBeNull();
      expect(body.count, segment).toBe(bySegment.get(segment)?.length);
      expect(body.filter.segment).toBe(segment);
      expect(body.customers.map((c: { user_id: string }) => c.user_id).sort(), segment).toEqual(
        [...(bySegment.get(segment) ?? [])].sort(),
      );
    }
  });

  it("targeting filters: minimum spend and last seen, with the top N or all", async () => {
    const after = Date.parse("2019-10-04T00:00:00Z");
    const want = [...people.values()]
      .filter((c) => c.cents >= 5_000 && c.last >= after)
      .map((c) => c.user)
      .sort();
    expect(want.length).toBeGreaterThan(20);
    const out = join(dir, "targets.csv");
    const run = await cli(
      [
        "report",
        "customers",
        "--all",
        "--min-spend",
        "50",
        "--last-seen-after",
        "2019-10-04",
        "--format",
        "csv",
        "--out",
        out,
      ],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(
      readExport(out)
        .map((r) => r.user_id)
        .sort(),
    ).toEqual(want);
    const before = Date.parse("2019-10-05T00:00:00Z");
    const top = JSON.parse(
      (
        await cli(
          [
            "report",
            "customers",
            "--segment",
            "Lost",
            "--last-seen-before",
            "2019-10-05",
            "--top",
            "5",
            "--json",
          ],
          env,
        )
      ).stdout,
    );
    const lost = [...people.values()].filter((c) => segmentOf(c) === "Lost" && c.last < before);
    expect(top.data.customers_in_range).toBe(lost.length);
    for (const c of top.data.customers) expect(c.segment).toBe("Lost");
  });

  it("a wrong segment, date or combination: exit 2 with a message naming the flag, never Elasticsearch's", async () => {
    for (const [args, message] of [
      [
        ["--segment", "VIP", "--all", "--format", "csv"],
        '--segment: "VIP" is not a segment; expected one of "Champions"',
      ],
      [
        ["--all", "--last-seen-before", "yesterday", "--format", "csv"],
        '--last-seen-before: "yesterday" is not a time',
      ],
      [["--all", "--min-spend", "lots", "--format", "csv"], '--min-spend: "lots" is not an amount'],
      [["--all"], "--all streams every customer as csv or json"],
    ] as const) {
      const run = await cli(["report", "customers", ...args], env);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stderr, args.join(" ")).toContain(message);
      expect(run.stderr).not.toMatch(/exception|search_phase|Result window/i);
    }
    const other = await cli(["report", "overview", "--segment", "Lost"], env);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain("for the customers report only");
  });
});
