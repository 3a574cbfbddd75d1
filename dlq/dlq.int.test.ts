import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { problems } from "../analytics/test/schemas.ts";
import type { SnakeKeys } from "../core/json/index.ts";
import {
  IdempotentProducer,
  KafkaAdmin,
  type KafkaOptions,
  readCommittedPartition,
} from "../core/kafka/index.ts";
import { checkpointTopicOf, dlqReplayTopicOf } from "../core/names.ts";
import type { CaplineEvent } from "../core/schema/events.ts";
import {
  CsvParser,
  type IngestSummary,
  parseMapOption,
  RowValidator,
  resolveHeader,
} from "../ingestion/index.ts";
import { Pipeline } from "../processing/test/harness.ts";
import { CLI, runCapline } from "../test/support/cli.ts";
import type { ShowResult } from "./query.ts";
import type { ReplaySummary } from "./replay.ts";
import type { DlqStats } from "./stats.ts";

/**
 * `capline dlq` against the real stack, as a user runs it (the compiled CLI): the issue's
 * acceptance (stats equal the ingest summary by reason; after the mapping is fixed, replay sends
 * the repaired rows once and the processed figures equal a clean ingest of the corrected file),
 * a kill -9 in the middle of a replay, and hostile input.
 */

const HEADER = "time,kind,sku,cat,code,brand,amount,customer,session";
const RIGHT =
  "time=event_time,kind=event_type,sku=product_id,cat=category_id,code=category_code,amount=price,customer=user_id,session=user_session";
/** Price and category code swapped: every row is refused (bad_price, or missing_field without a code). */
const WRONG =
  "time=event_time,kind=event_type,sku=product_id,cat=category_id,code=price,amount=category_code,customer=user_id,session=user_session";

const dir = mkdtempSync(join(tmpdir(), "capline-dlq-"));

/** A shop export with a custom header: `rows` good rows (a few exact duplicates) and rows bad whatever the mapping. */
function shopFile(name: string, rows: number): string {
  const types = ["view", "view", "cart", "purchase", "remove_from_cart"];
  const lines = [HEADER];
  for (let i = 0; i < rows; i++) {
    const code = i % 4 === 0 ? "" : `electronics.item${i % 7}`;
    const day = String(1 + (i % 9)).padStart(2, "0");
    const second = String(i % 60).padStart(2, "0");
    lines.push(
      `2019-10-${day} ${String(i % 24).padStart(2, "0")}:${String(i % 59).padStart(2, "0")}:${second},${types[i % 5]},${5000 + (i % 37)},2053,${code},brand${i % 5},${((i % 300) + 0.99).toFixed(2)},${100 + (i % 53)},s${i % 97}`,
    );
    if (i % 250 === 3) lines.push(lines[lines.length - 1] as string);
  }
  lines.push("2019-13-45 00:00:00,view,1,2,,b,1.00,u1,s1"); // bad_timestamp, whatever the mapping
  lines.push("2019-10-01 00:00:00,vi\u001b]0;owned\u0007ew,1,2,,b,1.00,u1,s1"); // bad_event_type, hostile text
  lines.push("2019-10-01 00:00:00,view,1,2"); // malformed_row
  const path = join(dir, name);
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

/** The events a clean ingest of the file with `map` sends, computed here with the ingester's validator. */
function cleanIngest(path: string, text: string, map: string): CaplineEvent[] {
  const parser = new CsvParser();
  const [header, ...records] = [...parser.push(text), ...parser.end()];
  const columns = resolveHeader(header?.fields ?? [], path, parseMapOption(map));
  const validator = new RowValidator(columns, path);
  const out: CaplineEvent[] = [];
  for (const record of records) {
    const outcome = validator.process(record);
    if (outcome.kind === "event") out.push(outcome.event);
  }
  return out;
}

/** event_id → how many times it is in the topic (read_committed, every partition). */
async function eventIds(kafka: KafkaOptions, topic: string): Promise<Map<string, number>> {
  const admin = new KafkaAdmin(kafka);
  const ids = new Map<string, number>();
  try {
    const described = await admin.describeTopic(topic);
    for (const { partition } of described?.partitions ?? [])
      await readCommittedPartition(kafka, topic, partition, (r) => {
        const id = (JSON.parse(r.value?.toString() ?? "{}") as { event_id: string }).event_id;
        ids.set(id, (ids.get(id) ?? 0) + 1);
      });
  } finally {
    await admin.close();
  }
  return ids;
}

/** A `--json` output, checked against docs/schemas/dlq.schema.json (and for snake_case keys). */
function parsed<T>(stdout: string): SnakeKeys<T> {
  const value = JSON.parse(stdout) as SnakeKeys<T>;
  expect(problems("dlq", value)).toEqual([]);
  return value;
}
const stats = (stdout: string) => parsed<DlqStats>(stdout);
const replayed = (stdout: string) => parsed<ReplaySummary>(stdout);

async function dropTopics(pipeline: Pipeline): Promise<void> {
  const admin = new KafkaAdmin(pipeline.kafka);
  const ours = [checkpointTopicOf(pipeline.name), dlqReplayTopicOf(pipeline.name)];
  const existing = new Set(await admin.listTopics().catch(() => []));
  await admin.deleteTopics(ours.filter((t) => existing.has(t))).catch(() => undefined);
  await admin.close();
}

/** The characters of `text` a terminal would act on (BEL, ESC, the bidi overrides), as code points. */
function controls(text: string): number[] {
  return [...text]
    .map((c) => c.codePointAt(0) ?? 0)
    .filter((c) => c === 7 || c === 27 || (c >= 0x202a && c <= 0x202e));
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("capline dlq: the acceptance of issue 14", () => {
  const pipeline = new Pipeline({ hdfs: true });
  const file = shopFile("shop.csv", 1500);
  const text = () => readFileSync(file, "utf8");
  const dlq = (...args: string[]) => runCapline(["dlq", ...args], pipeline.env);
  let ingest: SnakeKeys<IngestSummary>;

  beforeAll(async () => {
    await pipeline.setup();
    const run = await runCapline(["ingest", file, "--map", WRONG, "--json"], pipeline.env);
    expect(run.code, run.stderr).toBe(3);
    ingest = JSON.parse(run.stdout);
    expect(ingest.sent).toBe(0);
  });
  afterAll(async () => {
    await pipeline.cleanup();
    await dropTopics(pipeline);
  });

  it("dlq stats --json equals the ingest summary by reason", async () => {
    const run = await dlq("stats", "--json");
    expect(run.code, run.stderr).toBe(0);
    const s = stats(run.stdout);
    expect(s.refused.by_reason).toEqual(ingest.rejected_by_reason);
    expect(s.refused).toMatchObject({ total: ingest.rejected, replayed: 0, pending: ingest.rejected });
    expect(s.refused.by_file).toEqual([
      expect.objectContaining({ file, total: ingest.rejected, by_reason: expect.any(Object) }),
    ]);
    expect(s.refused.by_day).toHaveLength(1);
    expect(s.failed.total).toBe(0);
  });

  it("dlq show prints the rows with line, reason and raw text, escaped", async () => {
    const run = await dlq("show", "--reason", "bad_price", "--file", "shop.csv", "--limit", "2");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`${file}:3  bad_price`);
    expect(run.stdout).toContain(
      `of ${ingest.rejected_by_reason.bad_price.toLocaleString("en-US")} matching entries shown`,
    );
    const json = parsed<ShowResult>((await dlq("show", "--json", "--limit", "3")).stdout);
    expect(json.matched).toBe(ingest.rejected);
    expect(json.entries[0]).toMatchObject({
      kind: "refused",
      file,
      line: 2,
      reason: "missing_field",
      replayed: false,
    });
    const all = await dlq("show", "--limit", "100000");
    // The row with an OSC sequence arrives as text: no ESC or BEL reaches the terminal.
    expect(all.stdout).toContain("vi\\x1b]0;owned\\x07ew");
    expect(controls(all.stdout)).toEqual([]);
  });

  it("after the mapping is fixed, replay sends the repaired rows once; a second replay sends nothing", async () => {
    const clean = cleanIngest(file, text(), RIGHT);
    const dry = await dlq("replay", "--map", RIGHT, "--dry-run", "--json");
    expect(dry.code, dry.stderr).toBe(3);
    expect(replayed(dry.stdout)).toMatchObject({ dry_run: true, sent: clean.length, transactions: 0 });
    expect((await eventIds(pipeline.kafka, pipeline.name)).size).toBe(0);

    const run = await dlq("replay", "--map", RIGHT, "--json", "--chunk-rows", "400");
    expect(run.code, run.stderr).toBe(3);
    const summary = replayed(run.stdout);
    expect(summary).toMatchObject({
      sent: clean.length,
      already_replayed: 0,
      still_failing: { total: 2, by_reason: { bad_timestamp: 1, bad_event_type: 1 } },
      not_replayable: { total: 1, by_cause: { malformed_row: 1 } },
    });
    expect(summary.duplicates).toBeGreaterThan(0);
    const again = await dlq("replay", "--map", RIGHT, "--json");
    expect(replayed(again.stdout)).toMatchObject({
      sent: 0,
      duplicates: 0,
      already_replayed: summary.sent + summary.duplicates,
    });

    // The topic holds each event of a clean ingest of the corrected file once, with its id.
    const ids = await eventIds(pipeline.kafka, pipeline.name);
    expect([...ids.keys()].sort()).toEqual(clean.map((e) => e.event_id).sort());
    expect([...ids.values()].every((n) => n === 1)).toBe(true);

    const after = stats((await dlq("stats", "--json")).stdout);
    expect(after.refused).toMatchObject({ replayed: summary.sent + summary.duplicates, pending: 3 });
  });

  it("after processing, profiles, aggregates and the lake equal a clean ingest of the corrected file", async () => {
    const run = await pipeline.run(["--until-idle", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    await pipeline.verify(cleanIngest(file, text(), RIGHT));
  });
});

describe("capline dlq replay under kill -9", () => {
  const pipeline = new Pipeline({ hdfs: false });
  const file = shopFile("big.csv", 6000);

  beforeAll(async () => {
    const run = await runCapline(["ingest", file, "--map", WRONG, "--json"], pipeline.env);
    expect(run.code, run.stderr).toBe(3);
  });
  afterAll(async () => {
    await pipeline.cleanup();
    await dropTopics(pipeline);
  });

  it("killed mid-replay, a rerun still sends each repaired row exactly once", async () => {
    const admin = new KafkaAdmin(pipeline.kafka);
    const marks = async () =>
      (await admin.offsets(dlqReplayTopicOf(pipeline.name)).catch(() => [])).reduce((n, o) => n + o.high, 0);
    const child = spawn(process.execPath, [CLI, "dlq", "replay", "--map", RIGHT, "--chunk-rows", "50"], {
      env: { ...process.env, ...pipeline.env },
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      // Some transactions committed, and more to come: kill -9 in the middle.
      const deadline = Date.now() + 120_000;
      while ((await marks()) < 500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      child.kill("SIGKILL");
      expect(await exited).toBeNull();
    } finally {
      child.kill("SIGKILL");
      await admin.close();
    }
    const clean = cleanIngest(file, readFileSync(file, "utf8"), RIGHT);
    const partial = await eventIds(pipeline.kafka, pipeline.name);
    expect(partial.size).toBeGreaterThan(0);
    expect(partial.size).toBeLessThan(clean.length);

    const rerun = await runCapline(["dlq", "replay", "--map", RIGHT, "--json"], pipeline.env);
    expect(rerun.code, rerun.stderr).toBe(3);
    const summary = replayed(rerun.stdout);
    expect(summary.already_replayed).toBeGreaterThan(0);
    const ids = await eventIds(pipeline.kafka, pipeline.name);
    expect([...ids.keys()].sort()).toEqual(clean.map((e) => e.event_id).sort());
    expect([...ids.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  });
});

describe("capline dlq with hostile input", () => {
  const pipeline = new Pipeline({ hdfs: false });
  const dlq = (args: string[], env: Record<string, string> = {}) =>
    runCapline(["dlq", ...args], { ...pipeline.env, ...env });

  afterAll(async () => {
    await pipeline.cleanup();
    await dropTopics(pipeline);
  });

  it("a bad flag names the flag and the fix (exit 2)", async () => {
    const reason = await dlq(["show", "--reason", "bad_prize"]);
    expect(reason.code).toBe(2);
    expect(reason.stderr).toContain("--reason");
    expect(reason.stderr).toContain("did you mean bad_price?");
    const processing = await dlq(["replay", "--reason", "invalid_event"]);
    expect(processing.code).toBe(2);
    expect(processing.stderr).toContain("replay re-validates refused CSV rows only");
    const map = await dlq(["replay", "--map", "ts=when"]);
    expect(map.code).toBe(2);
    expect(map.stderr).toMatch(/--map.*"ts=when" is not csvColumn=field/);
    const limit = await dlq(["show", "--limit", "0"]);
    expect(limit.code).toBe(2);
    expect(limit.stderr).toContain("--limit takes a whole number from 1");
  });

  it("Kafka down is named with its address (exit 4); a DLQ topic that does not exist is no data (exit 6)", async () => {
    const down = await dlq(["stats"], { KAFKA_BROKERS: "127.0.0.1:1", KAFKA_CONNECT_TIMEOUT_MS: "1000" });
    expect(down.code).toBe(4);
    expect(down.stderr).toContain("127.0.0.1:1");
    const missing = await dlq(["stats"]);
    expect(missing.code).toBe(6);
    expect(missing.stderr).toContain(`${pipeline.name}.dlq`);
  });

  it("records anyone could have written are counted and shown as text, never trusted", async () => {
    const producer = new IdempotentProducer(pipeline.kafka);
    const admin = new KafkaAdmin(pipeline.kafka);
    for (const topic of [pipeline.name, `${pipeline.name}.dlq`])
      await admin.createTopic({ topic, partitions: 2, replicationFactor: 1 });
    await admin.close();
    const hostile = [
      "\u001b[2J\u001b[31mnot json",
      JSON.stringify({
        file: "\u001b]8;;http://x\u0007f.csv",
        line: 2,
        raw: "a\u001b[0m",
        reason: "bad_price",
        detail: "\u202ed",
      }),
      JSON.stringify({ file: "f.csv", line: -4, raw: "x", reason: "bad_price", detail: "" }),
      JSON.stringify({
        source: { topic: "t", partition: 0, offset: 1 },
        raw: null,
        reason: "\u001b[1mX",
        detail: "y",
      }),
    ];
    await producer.send(
      hostile.map((value, i) => ({ topic: `${pipeline.name}.dlq`, key: null, value, partition: i % 2 })),
    );
    await producer.close();
    expect(stats((await dlq(["stats", "--json"])).stdout)).toMatchObject({
      records: 4,
      refused: { total: 1 },
      failed: { total: 1, by_reason: { unrecognised: 1 } },
      unrecognised: { total: 2 },
    });
    const shown = parsed<ShowResult>((await dlq(["show", "--json"])).stdout);
    expect(shown.entries.map((e) => e.kind).sort()).toEqual([
      "failed",
      "refused",
      "unrecognised",
      "unrecognised",
    ]);
    for (const args of [["show"], ["stats"]]) {
      const run = await dlq(args);
      expect(run.code, run.stderr).toBe(0);
      expect(controls(run.stdout)).toEqual([]);
    }
    // Not one of capline's refused rows (no header on record): nothing is sent.
    const replay = await dlq(["replay", "--json"]);
    expect(replayed(replay.stdout)).toMatchObject({
      sent: 0,
      not_replayable: { by_cause: { no_header: 1 } },
    });
  });
});
