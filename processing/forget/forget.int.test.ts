import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { problems } from "../../analytics/test/schemas.ts";
import { createRedis } from "../../core/clients/redis.ts";
import { IdempotentProducer, KafkaAdmin, readCommittedPartition } from "../../core/kafka/index.ts";
import { aliasName, tombstonesKey } from "../../core/names.ts";
import type { CaplineEvent } from "../../core/schema/events.ts";
import { generateEvents } from "../test/events.ts";
import { Pipeline } from "../test/harness.ts";
import { readAllRows } from "../test/lake-rows.ts";
import { produceEvents } from "../test/produce.ts";
import { hdfsFiles, minioFiles } from "../test/stores.ts";
import { customersNamed } from "./dlq.ts";
import { forgetHash } from "./tombstones.ts";

/**
 * `capline forget` end to end, as the CLI runs (child processes of the compiled program) against
 * the real Kafka, Redis, Elasticsearch, MinIO and HDFS of the stack: after processing a known set
 * of events, three customers are forgotten; then no profile, no lake row in either store (read back
 * with DuckDB), every aggregate equal to the independent computation over the events without them;
 * a full replay of the topic keeps them out; the DLQ keeps every record but theirs (same key, value
 * and timestamp, in order); kill -9 of the forget process midway and a rerun give the same end state.
 */

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "capline.mjs");

/** Events as a real export has them: one brand and category per product. */
function exportLike(count: number, seed: number, users: number): CaplineEvent[] {
  const brands = ["apple", "samsung", null, "bosch", "xiaomi"];
  const categories = ["electronics.smartphone", null, "apparel.shoes", "appliances.kitchen"];
  return generateEvents(count, seed, users, 6).map((e) => {
    const p = Number(e.product_id);
    return {
      ...e,
      brand: brands[p % brands.length] ?? null,
      category_code: categories[p % categories.length] ?? null,
    };
  });
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function forgetChild(pipeline: Pipeline, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [BIN, "forget", ...args], {
    env: { ...process.env, ...pipeline.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  pipeline.children.add(child);
  child.on("exit", () => pipeline.children.delete(child));
  return child;
}

function finished(child: ChildProcess, onStderr?: (text: string) => void): Promise<Run> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += String(d);
  });
  child.stderr?.on("data", (d) => {
    stderr += String(d);
    onStderr?.(stderr);
  });
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
}

/** Every lake row of one store, as DuckDB reads it, with its user_id. */
async function lakeUsers(files: Map<string, Buffer>): Promise<string[]> {
  return (await readAllRows(files)).map((r) => (JSON.parse(r.json) as { user_id: string }).user_id);
}

interface DlqRecord {
  partition: number;
  key: string | null;
  value: string;
  timestamp: number;
}

const DLQ_PARTITIONS = 2;

/**
 * DLQ records as the ingester and processing write them: refused CSV rows (key = the file) and
 * failed events (key = their source), some naming `named`, the rest other customers, written two
 * hours ago (their timestamps must survive the rewrite). Not earlier: the broker's retention (7 days
 * by default) deletes a segment whose newest timestamp is older, at a check every 5 minutes, so
 * records dated a month back vanish at some random point of the test.
 */
function dlqRecordsOf(named: readonly string[], others: readonly string[]): DlqRecord[] {
  const out: DlqRecord[] = [];
  const people = [...named, ...others];
  const at = Math.floor(Date.now() / 60_000) * 60_000 - 2 * 3_600_000;
  for (let i = 0; i < 24; i++) {
    const user = people[i % people.length] as string;
    const refused = i % 3 !== 0;
    const value = refused
      ? JSON.stringify({
          file: "shop.csv",
          line: i + 2,
          raw: `2019-10-01 00:00:00 UTC,purchase,p${i},2053013555631882655,,apple,-${i}.5,${user},s-${i}`,
          reason: "bad_price",
          detail: "price is negative",
        })
      : JSON.stringify({
          source: { topic: "t", partition: 0, offset: i },
          raw: JSON.stringify({ event_id: `d${i}`, user_id: user, event_type: "view", price: 1 }),
          reason: "sink_refused",
          detail: "a sink refused it",
        });
    out.push({
      partition: i % DLQ_PARTITIONS,
      key: refused ? "shop.csv" : `t+0+${i}`,
      value,
      timestamp: at + i * 60_000,
    });
  }
  return out;
}

async function writeDlq(pipeline: Pipeline, records: readonly DlqRecord[]): Promise<void> {
  const topic = pipeline.config.kafka.dlqTopic;
  const admin = new KafkaAdmin(pipeline.kafka);
  await admin.createTopic({ topic, partitions: DLQ_PARTITIONS, replicationFactor: 1 }, { ifMissing: true });
  await admin.close();
  const producer = new IdempotentProducer(pipeline.kafka);
  await producer.send(records.map((r) => ({ topic, ...r })));
  await producer.close();
}

/**
 * Every committed record of the DLQ, by partition and timestamp (the rewrite moves the records it
 * keeps from before the last one it drops to the end of their partition).
 */
async function readDlqRecords(pipeline: Pipeline): Promise<DlqRecord[]> {
  const out: DlqRecord[] = [];
  for (let partition = 0; partition < DLQ_PARTITIONS; partition++)
    await readCommittedPartition(pipeline.kafka, pipeline.config.kafka.dlqTopic, partition, (r) =>
      out.push({
        partition,
        key: r.key?.toString() ?? null,
        value: r.value?.toString() ?? "",
        timestamp: r.timestamp,
      }),
    );
  return byPlace(out);
}

const byPlace = (records: readonly DlqRecord[]) =>
  [...records].sort((a, b) => a.partition - b.partition || a.timestamp - b.timestamp);

/** Each case runs several CLI processes (process, forget, a replay): on a loaded 2-core machine that takes minutes. */
const SLOW = 600_000;

describe("capline forget", () => {
  const pipeline = new Pipeline({ hdfs: true });
  const events = exportLike(5000, 31, 40);
  const users = [...new Set(events.map((e) => e.user_id))].sort();
  const first = users.slice(0, 3);
  const second = users.slice(3, 6);
  const without = (gone: readonly string[]) => events.filter((e) => !gone.includes(e.user_id));
  const dlq = dlqRecordsOf([...first, ...second], users.slice(6, 10));
  const dlqWithout = (gone: readonly string[]) =>
    dlq.filter((r) => !customersNamed(r.value).some((u) => gone.includes(u)));

  beforeAll(async () => {
    await pipeline.setup();
    await writeDlq(pipeline, dlq);
    await produceEvents(pipeline.kafka, pipeline.name, 3, events);
    const run = await pipeline.run(["--until-idle", "--json", "--range-size", "700"]);
    expect(run.code, run.stderr).toBe(0);
    await pipeline.verify(events);
  });
  afterAll(() => pipeline.cleanup());

  it("refuses without --yes when there is no terminal (exit 2, naming --yes), changing nothing", async () => {
    const run = await finished(forgetChild(pipeline, [...first]));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--yes/);
    const bad = await finished(forgetChild(pipeline, ["--yes", "--wait-jobs", "0", ...first]));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--wait-jobs/);
    await pipeline.verify(events);
  });

  it("--dry-run lists what would change and changes nothing", async () => {
    const run = await finished(forgetChild(pipeline, ["--dry-run", "--json", ...first]));
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(problems("forget", out)).toEqual([]);
    const rows = events.filter((e) => first.includes(e.user_id)).length;
    expect(out).toMatchObject({
      ok: true,
      dry_run: true,
      customers: 3,
      counts: { profiles: 3, lake_rows: rows * 2, dlq_records: dlq.length - dlqWithout(first).length },
    });
    expect(out.counts.dlq_records).toBeGreaterThan(0);
    expect(out.counts.aggregates_decremented).toBeGreaterThan(0);
    expect(out.lake.map((l: { store: string; rows: number }) => [l.store, l.rows])).toEqual([
      ["minio", rows],
      ["hdfs", rows],
    ]);
    expect(run.stdout).not.toContain(first[0]);
    await pipeline.verify(events);
  });

  it(
    "forgets three customers: no profile, no lake row in either store, aggregates without them; an audit record",
    async () => {
      const run = await finished(forgetChild(pipeline, ["--yes", "--json", ...first]));
      expect(run.code, run.stderr).toBe(0);
      const out = JSON.parse(run.stdout);
      expect(problems("forget", out)).toEqual([]);
      const rows = events.filter((e) => first.includes(e.user_id)).length;
      expect(out).toMatchObject({
        ok: true,
        dry_run: false,
        customers: 3,
        counts: { profiles: 3, lake_rows: rows * 2, dlq_records: dlq.length - dlqWithout(first).length },
      });
      for (const id of first) expect(run.stdout + run.stderr).not.toContain(id);
      await pipeline.verify(without(first));
      // The DLQ: every other record once, as it was (key, value, timestamp, partition).
      expect(await readDlqRecords(pipeline)).toEqual(byPlace(dlqWithout(first)));
      for (const files of [
        await minioFiles(pipeline.minio, pipeline.name),
        await hdfsFiles(pipeline.hdfs, `/${pipeline.name}`),
      ]) {
        const lake = await lakeUsers(files);
        expect(lake.length).toBe(without(first).length);
        expect(lake.filter((u) => first.includes(u))).toEqual([]);
      }
      // The audit record: who, when, how many; never an id.
      await pipeline.es.indices.refresh({ index: aliasName(pipeline.name, "ops") });
      const audit = await pipeline.es.get<Record<string, unknown>>({
        index: aliasName(pipeline.name, "ops"),
        id: `forget:${out.run_id}`,
      });
      expect(audit._source).toMatchObject({
        kind: "forget",
        status: "done",
        customers: 3,
        profiles: 3,
        rows: rows * 2,
        dlq_records: dlq.length - dlqWithout(first).length,
      });
      expect(typeof audit._source?.actor).toBe("string");
      const text = JSON.stringify(audit._source);
      for (const id of first) expect(text).not.toContain(id);
      // The forget list holds hashes only.
      const redis = createRedis(pipeline.config);
      const members = await redis.zrange(tombstonesKey(pipeline.name), "0", "-1");
      redis.disconnect();
      expect(members.sort()).toEqual(first.map(forgetHash).sort());
      // Run again: nothing left to do, same end state.
      const again = await finished(forgetChild(pipeline, ["--yes", "--json", ...first]));
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ already_done: true });
      await pipeline.verify(without(first));
    },
    SLOW,
  );

  it(
    "a full replay of the events topic keeps them out",
    async () => {
      await pipeline.forgetProgress();
      const run = await pipeline.run(["--until-idle", "--json", "--range-size", "450"]);
      expect(run.code, run.stderr).toBe(0);
      // Every message replayed: the forgotten customers' events are left out by the dispatcher
      // (counted as forgotten), the others dispatched again.
      const { dispatcher } = JSON.parse(run.stdout) as { dispatcher: { events: number; forgotten: number } };
      const theirs = events.length - without(first).length;
      expect(theirs).toBeGreaterThan(0);
      expect(dispatcher.forgotten).toBe(theirs);
      expect(dispatcher.events).toBe(events.length - theirs);
      await pipeline.verify(without(first));
    },
    SLOW,
  );

  it(
    "kill -9 midway (after planning, while rewriting the lake, then the DLQ): a rerun gives the same end state",
    async () => {
      const gone = [...first, ...second];
      const killPoints = [
        /"phase":"planned"/,
        /lake file rewritten/,
        /DLQ partition planned/,
        /DLQ partition copied/,
      ];
      for (const killAt of killPoints) {
        const child = forgetChild(pipeline, ["--yes", "--json", ...second], { LOG_LEVEL: "debug" });
        let killed = false;
        const run = await finished(child, (stderr) => {
          if (!killed && killAt.test(stderr)) {
            killed = true;
            child.kill("SIGKILL");
          }
        });
        expect(killed, run.stderr).toBe(true);
        expect(run.code).toBeNull();
      }
      const rerun = await finished(forgetChild(pipeline, ["--yes", "--json", ...second]));
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(JSON.parse(rerun.stdout)).toMatchObject({ ok: true, customers: 3 });
      await pipeline.verify(without(gone));
      for (const files of [
        await minioFiles(pipeline.minio, pipeline.name),
        await hdfsFiles(pipeline.hdfs, `/${pipeline.name}`),
      ])
        expect((await lakeUsers(files)).filter((u) => gone.includes(u))).toEqual([]);
      // The DLQ: no record of theirs, every other one exactly once, as it was.
      expect(await readDlqRecords(pipeline)).toEqual(byPlace(dlqWithout(gone)));
      // And a replay still keeps all six out.
      await pipeline.forgetProgress();
      const replay = await pipeline.run(["--until-idle", "--json"]);
      expect(replay.code, replay.stderr).toBe(0);
      await pipeline.verify(without(gone));
    },
    SLOW,
  );
});

describe("capline forget while the pipeline runs and the customers' events keep arriving", () => {
  const pipeline = new Pipeline({ hdfs: true });
  const events = exportLike(9000, 47, 30);
  const [before, during, after] = [events.slice(0, 3000), events.slice(3000, 6000), events.slice(6000)];
  const gone = [...new Set(events.map((e) => e.user_id))].sort().slice(0, 3);

  beforeAll(async () => {
    await pipeline.setup();
    await produceEvents(pipeline.kafka, pipeline.name, 3, before);
    const run = await pipeline.run(["--until-idle", "--json", "--range-size", "300"]);
    expect(run.code, run.stderr).toBe(0);
  });
  afterAll(() => pipeline.cleanup());

  it(
    "leaves no trace of them, and every other event exactly once",
    async () => {
      // A running pipeline with small ranges, busy with the next events while forget runs.
      const processing = pipeline.spawn(["--range-size", "100", "--concurrency", "2"]);
      const producing = produceEvents(pipeline.kafka, pipeline.name, 3, during, { batch: 200 });
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const run = await finished(forgetChild(pipeline, ["--yes", "--json", ...gone]));
      expect(run.code, run.stderr).toBe(0);
      await producing;
      // Events of theirs that arrive after the erasure are dropped too.
      await produceEvents(pipeline.kafka, pipeline.name, 3, after, { batch: 500 });
      processing.kill("SIGTERM");
      await new Promise((resolve) => processing.on("exit", resolve));
      const rest = await pipeline.run(["--until-idle", "--json"]);
      expect(rest.code, rest.stderr).toBe(0);
      const remaining = events.filter((e) => !gone.includes(e.user_id));
      await pipeline.verify(remaining);
      for (const files of [
        await minioFiles(pipeline.minio, pipeline.name),
        await hdfsFiles(pipeline.hdfs, `/${pipeline.name}`),
      ])
        expect((await lakeUsers(files)).filter((u) => gone.includes(u))).toEqual([]);
    },
    SLOW,
  );
});
