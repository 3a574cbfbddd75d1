import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { createElasticsearch } from "../core/clients/elasticsearch.ts";
import { PROJECT_ROOT } from "../core/config/index.ts";
import { CaplineError } from "../core/errors.ts";
import type { SnakeKeys } from "../core/json/index.ts";
import {
  KafkaAdmin,
  kafkaOptions,
  readCommittedPartition,
  TransactionalProducer,
} from "../core/kafka/index.ts";
import {
  aliasName,
  checkpointTopicOf,
  concreteIndexName,
  ingestIdPrefix,
  isolatedNames,
} from "../core/names.ts";
import type { CaplineEvent, RejectedRow } from "../core/schema/events.ts";
import { mappingFor } from "../core/schema/indices.ts";
import { startService, stopService } from "../stack/index.ts";
import { testConfig, uniqueName } from "../test/support/index.ts";
import { CsvParser } from "./csv-parser.ts";
import { generate } from "./generator.ts";
import { resolveHeader } from "./header.ts";
import { RowValidator } from "./rows.ts";
import type { IngestSummary } from "./types.ts";

const config = testConfig();
const dir = mkdtempSync(join(tmpdir(), "capline-ingest-"));
const CLI = join(PROJECT_ROOT, "bin", "capline.mjs");
const kafka = kafkaOptions(config);
const admin = new KafkaAdmin(kafka);
const topics: string[] = [];
// No alias of this prefix exists: the CLI runs of these tests leave the shared ops index alone.
const quietPrefix = uniqueName("noops");

afterAll(async () => {
  const existing = new Set(await admin.listTopics());
  const ours = topics
    .flatMap((t) => [t, isolatedNames(t).KAFKA_DLQ_TOPIC, checkpointTopicOf(t)])
    .filter((t) => existing.has(t));
  await admin.deleteTopics(ours).catch(() => undefined);
  await admin.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `capline ingest FILE --json` into `topic` and its DLQ `<topic>.dlq`, with more flags. */
function ingestArgs(file: string, topic: string, ...more: string[]): string[] {
  return ["ingest", file, "--json", "--topic", topic, "--dlq-topic", `${topic}.dlq`, ...more];
}

/** Messages in the topic (its partitions' end offsets summed); 0 while it has no leaders yet. */
function messagesIn(topic: string): Promise<number> {
  return admin
    .offsets(topic)
    .then((offsets) => offsets.reduce((sum, o) => sum + o.high, 0))
    .catch(() => 0);
}

/** Waits until an ingest under way has put `count` messages in the topic (2 minutes at most). */
async function waitForMessages(topic: string, count: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  // Right after the ingest creates the topic, its leaders may not be elected yet: messagesIn says 0.
  while ((await messagesIn(topic)) < count) {
    if (Date.now() > deadline) throw new Error("the ingest made no progress");
    await new Promise((r) => setTimeout(r, 50));
  }
}

function newTopic(prefix: string): string {
  const topic = uniqueName(prefix);
  topics.push(topic);
  return topic;
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function startCli(args: string[], env: Record<string, string> = {}, stdin?: Buffer): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, LOG_LEVEL: "warn", ELASTICSEARCH_INDEX_PREFIX: quietPrefix, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin?.end(stdin);
  return child;
}

function finished(child: ChildProcess): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr?.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

function runCli(args: string[], env: Record<string, string> = {}, stdin?: Buffer): Promise<CliResult> {
  return finished(startCli(args, env, stdin));
}

/** `npx capline ...`, exactly as a user types it. */
function runNpx(args: string[]): Promise<CliResult> {
  const child = spawn("npx", ["capline", ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, LOG_LEVEL: "warn", ELASTICSEARCH_INDEX_PREFIX: quietPrefix },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return finished(child);
}

interface Consumed {
  key: string | null;
  value: string;
  partition: number;
}

/** Every committed message of a topic (read_committed), read to the end of each partition. */
async function readTopic(topic: string): Promise<Consumed[]> {
  const out: Consumed[] = [];
  for (const { partition, low, high } of await admin.offsets(topic)) {
    if (high <= low) continue;
    await readCommittedPartition(kafka, topic, partition, (r) => {
      out.push({ key: r.key?.toString() ?? null, value: r.value?.toString() ?? "", partition });
    });
  }
  return out;
}

/** What a file should produce, computed independently of Kafka: the accepted events' ids. */
function expectedIds(path: string): string[] {
  const parser = new CsvParser();
  const text = readFileSync(path, "utf8");
  const records = [...parser.push(text), ...parser.end()];
  const header = records.shift();
  if (!header) throw new Error("no header");
  const validator = new RowValidator(resolveHeader(header.fields, path), path);
  const ids: string[] = [];
  for (const r of records) {
    const o = validator.process(r);
    if (o.kind === "event") ids.push(o.event.event_id);
  }
  return ids;
}

const parseSummary = (stdout: string) => JSON.parse(stdout) as SnakeKeys<IngestSummary>;

const sha256Of = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/**
 * The consumer groups named after the ingester's transactional ids of `topic`: capline before 0.2
 * kept each file's checkpoint in one; now the checkpoint topic is the only place, and no group may
 * hold ingest state (Kafka expires idle groups' offsets after `offsets.retention.minutes`).
 */
async function ingestGroups(topic: string): Promise<string[]> {
  return (await admin.listGroups()).filter((g) => g.startsWith(ingestIdPrefix(topic)));
}

describe("capline ingest against the real Kafka", () => {
  it("ingests the acceptance file exactly by the DESIGN.md rules (npx capline ingest FILE --json --topic T)", async () => {
    const topic = newTopic("accept");
    const dlq = `${topic}.dlq`;
    const rows = [
      "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session",
      "2019-10-01 00:00:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,72d76fde-8bb3", // 2 ok
      "2019-10-01T00:00:05Z,cart,3900821,2053013552326770905,appliances.environment.water_heater,aqua,33.20,1515915625519388267,LJuJVLEjPT", // 3 ok, ISO Z
      "2019-10-01T02:00:05+02:00,purchase,3900821,2053013552326770905,,,33.20,1515915625519388267,LJuJVLEjPT", // 4 ok, offset, empty code+brand
      '2019-10-01 00:01:00,view,17300353,2053013553853497655,"kids,toys","Löwe ""Ä"" 😀",46.31,555447699,4fe811e9-91de', // 5 ok, quoted
      "2019-10-01 00:01:00,view,17300353,2053013553853497655,,бренд,46.31,555447699,4fe811e9-91de", // 6 ok, unicode
      "2019-10-01 00:01:00,view,17300353,2053013553853497655,,бренд,46.31,555447699,4fe811e9-91de", // 7 duplicate of 6
      "2019-10-01 00:01:00,view,17300353,2053013553853497655,,бренд,46.31,555447699,4fe811e9-91de", // 8 duplicate of 6
      ",view,1,2,,,1.00,3,s", // 9 missing_field
      "2019-10-01 00:00:00 UTC,view,1,2,,,,3,s", // 10 missing_field (price)
      "2019-10-01T00:00:00,view,1,2,,,1.00,3,s", // 11 bad_timestamp (no zone)
      "2019/10/01 00:00:00,view,1,2,,,1.00,3,s", // 12 bad_timestamp (slashes)
      "1569888000,view,1,2,,,1.00,3,s", // 13 bad_timestamp (epoch)
      "2019-02-30 00:00:00 UTC,view,1,2,,,1.00,3,s", // 14 bad_timestamp (no such date)
      "2019-10-01 00:00:00 UTC,click,1,2,,,1.00,3,s", // 15 bad_event_type
      "2019-10-01 00:00:00 UTC,view,1,2,,,-1.00,3,s", // 16 bad_price (negative)
      "2019-10-01 00:00:00 UTC,view,1,2,,,12,50,3,s", // 17 malformed_row (10 fields)
      '2019-10-01 00:00:00 UTC,view,1,2,,,"12,50",3,s', // 18 bad_price (decimal comma)
      "2019-10-01 00:00:00 UTC,view,1,2,,,1.00,3", // 19 malformed_row (8 fields)
      '2019-10-01 00:00:00 UTC,view,1,2,,sam"sung,1.00,3,s', // 20 malformed_row (broken quoting)
      "2019-10-01 00:00:09 UTC,remove_from_cart,44600062,2103807459595387724,,shiseido,35.79,541312140,72d76fde-8bb3", // 21 ok
    ];
    const file = join(dir, "acceptance.csv");
    writeFileSync(file, `\uFEFF${rows.join("\r\n")}\r\n`);
    const rejectsFile = join(dir, "acceptance-rejects.csv");

    const result = await runNpx([
      "ingest",
      file,
      "--json",
      "--topic",
      topic,
      "--dlq-topic",
      dlq,
      "--rejects",
      rejectsFile,
    ]);
    expect(result.code, result.stderr).toBe(3);
    const summary = parseSummary(result.stdout);
    expect(summary).toMatchObject({
      rows: 20,
      sent: 6,
      rejected: 12,
      duplicates: 2,
      rejected_by_reason: {
        missing_field: 2,
        bad_timestamp: 4,
        bad_event_type: 1,
        bad_price: 2,
        malformed_row: 3,
      },
    });
    expect(summary.rows).toBe(summary.sent + summary.rejected + summary.duplicates);
    expect(summary.seconds).toBeGreaterThan(0);
    expect(summary.rows_per_second).toBeGreaterThan(0);

    const events = (await readTopic(topic)).map((m) => ({
      ...m,
      event: JSON.parse(m.value) as CaplineEvent,
    }));
    expect(events.map((e) => e.event.source.line).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 21]);
    for (const e of events) expect(e.key).toBe(e.event.user_id);
    const byLine = new Map(events.map((e) => [e.event.source.line, e.event]));
    expect(byLine.get(3)).toMatchObject({
      user_id: "1515915625519388267",
      category_id: "2053013552326770905",
      event_time: "2019-10-01T00:00:05.000Z",
      event_type: "cart",
      price: 33.2,
    });
    expect(byLine.get(4)).toMatchObject({
      event_time: "2019-10-01T00:00:05.000Z",
      category_code: null,
      brand: null,
    });
    expect(byLine.get(5)).toMatchObject({ category_code: "kids,toys", brand: 'Löwe "Ä" 😀' });
    expect(byLine.get(6)).toMatchObject({ brand: "бренд", category_code: null });
    expect(byLine.get(2)).toMatchObject({ event_time: "2019-10-01T00:00:00.000Z", category_code: null });
    expect(new Set(events.map((e) => e.event.event_id)).size).toBe(6);
    expect(events.every((e) => e.event.source.file === file)).toBe(true);

    const dead = (await readTopic(dlq)).map((m) => JSON.parse(m.value) as RejectedRow);
    expect(dead.map((d) => [d.line, d.reason]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [9, "missing_field"],
      [10, "missing_field"],
      [11, "bad_timestamp"],
      [12, "bad_timestamp"],
      [13, "bad_timestamp"],
      [14, "bad_timestamp"],
      [15, "bad_event_type"],
      [16, "bad_price"],
      [17, "malformed_row"],
      [18, "bad_price"],
      [19, "malformed_row"],
      [20, "malformed_row"],
    ]);
    for (const d of dead) {
      expect(d.file).toBe(file);
      expect(d.raw).toBe(rows[d.line - 1]);
      expect(d.detail.length).toBeGreaterThan(5);
    }
    const rejectsCsv = readFileSync(rejectsFile, "utf8").trim().split("\n");
    expect(rejectsCsv[0]).toBe("file,line,reason,detail,raw");
    expect(rejectsCsv).toHaveLength(13);

    // The same content is refused a second time (even under another name), and sent again with --force.
    const copy = join(dir, "acceptance-copy.csv");
    writeFileSync(copy, readFileSync(file));
    const again = await runCli(["ingest", copy, "--json", "--topic", topic, "--dlq-topic", dlq]);
    expect(again.code).toBe(5);
    expect(parseSummary(again.stdout).files[0]?.status).toBe("already_ingested");
    const human = await runCli(["ingest", file, "--topic", topic, "--dlq-topic", dlq]);
    expect(human.code).toBe(5);
    expect(human.stdout).toMatch(/already ingested.*--force/);
    expect(await readTopic(topic)).toHaveLength(6);
    const forced = await runCli(["ingest", file, "--json", "--force", "--topic", topic, "--dlq-topic", dlq]);
    expect(forced.code).toBe(3);
    const after = (await readTopic(topic)).map((m) => (JSON.parse(m.value) as CaplineEvent).event_id);
    expect(after).toHaveLength(12);
    // A forced re-ingest sends the same ids: downstream can recognise the repeat.
    expect(new Set(after).size).toBe(6);

    // The checkpoint topic the ingest created is compacted, in segments that close within an hour.
    expect(await admin.topicConfigs(checkpointTopicOf(topic))).toEqual({
      "cleanup.policy": "compact",
      "segment.ms": "3600000",
    });
  });

  it("refuses a file whose header lacks a required column before sending anything", async () => {
    const topic = newTopic("header");
    const file = join(dir, "no-price.csv");
    writeFileSync(file, "event_time,event_type,product_id,user_id\n2019-10-01 00:00:00,view,1,2\n");
    const result = await runCli(["ingest", file, "--topic", topic, "--dlq-topic", `${topic}.dlq`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/lacks required column\(s\) price/);
    const existing = await admin.listTopics();
    if (existing.includes(topic)) expect(await readTopic(topic)).toHaveLength(0);
  });

  it("reads gzip from stdin, the short form, and reports Kafka unavailable with exit code 4", async () => {
    const topic = newTopic("stdin");
    const text =
      "user_id,event_type,product_id,price,timestamp\n7,view,1,2.50,2019-10-01T00:00:00Z\n8,cart,1,2.50,2019-10-01T00:00:01Z\n";
    const result = await runCli(ingestArgs("-", topic), {}, gzipSync(text));
    expect(result.code, result.stderr).toBe(0);
    expect(parseSummary(result.stdout)).toMatchObject({ rows: 2, sent: 2, rejected: 0 });
    const got = await readTopic(topic);
    expect(got.map((m) => m.key).sort()).toEqual(["7", "8"]);

    const down = await runCli(["ingest", "-", "--topic", topic], {
      KAFKA_BROKERS: "127.0.0.1:1",
      KAFKA_CONNECT_TIMEOUT_MS: "1500",
    });
    expect(down.code).toBe(4);
    expect(down.stderr).toMatch(/Kafka is not reachable at 127\.0\.0\.1:1/);
  });

  it("writes one ops record per ingested file to Elasticsearch, and never fails for Elasticsearch", async () => {
    const topic = newTopic("ops");
    const prefix = uniqueName("ops");
    const es = createElasticsearch(config);
    const index = concreteIndexName(prefix, "ops");
    await es.indices.create({
      index,
      mappings: mappingFor("ops"),
      aliases: { [aliasName(prefix, "ops")]: {} },
    });
    try {
      const file = join(dir, "ops.csv");
      writeFileSync(
        file,
        "user_id,event_type,product_id,price,timestamp\n1,view,2,3.00,2019-10-01 00:00:00\n1,view,2,x,2019-10-01 00:00:00\n",
      );
      const args = ingestArgs(file, topic);
      const result = await runCli(args, { ELASTICSEARCH_INDEX_PREFIX: prefix });
      expect(result.code, result.stderr).toBe(3);
      await es.indices.refresh({ index });
      const found = await es.search<Record<string, unknown>>({ index: aliasName(prefix, "ops") });
      expect(found.hits.hits.map((h) => h._source)).toEqual([
        expect.objectContaining({
          kind: "ingest",
          file,
          topic,
          status: "done",
          rows: 2,
          sent: 1,
          rejected: 1,
          duplicates: 0,
          rejected_by_reason: expect.objectContaining({ bad_price: 1 }),
        }),
      ]);
      // Elasticsearch unreachable: a warning, the same exit code.
      const other = join(dir, "ops2.csv");
      writeFileSync(
        other,
        "user_id,event_type,product_id,price,timestamp\n5,view,2,3.00,2019-10-01 00:00:00\n",
      );
      const down = await runCli(["ingest", other, "--topic", topic, "--dlq-topic", `${topic}.dlq`], {
        ELASTICSEARCH_URL: "http://127.0.0.1:1",
      });
      expect(down.code, down.stderr).toBe(0);
      expect(down.stderr).toMatch(/could not write the ingest ops record/);
    } finally {
      await es.indices.delete({ index }).catch(() => undefined);
      await es.close();
    }
  });

  it("stops at --max-events and on Ctrl-C, and the next run continues from there", async () => {
    const topic = newTopic("limits");
    const file = join(dir, "limits.csv");
    await generate({ out: file, events: 3_000, seed: 17 });
    const expected = expectedIds(file);
    const args = ingestArgs(file, topic, "--chunk-rows", "100");

    const first = await runCli([...args, "--max-events", "700"]);
    expect(first.code, first.stderr).toBe(0);
    const s1 = parseSummary(first.stdout);
    expect(s1.files[0]?.status).toBe("stopped");
    expect(s1.sent).toBe(700);
    expect(s1.rows).toBe(s1.sent + s1.rejected + s1.duplicates);

    // Ctrl-C while paced: the chunk under way is committed, exit 130.
    const child = startCli([...args, "--rate", "500"]);
    const exited = finished(child);
    await new Promise((r) => setTimeout(r, 4_000));
    child.kill("SIGINT");
    const second = await exited;
    expect(second.code, second.stderr).toBe(130);
    const s2 = parseSummary(second.stdout);
    expect(s2.files[0]?.status).toBe("interrupted");
    expect(s2.files[0]?.resumed_from_line).toBe(s1.files[0]?.last_line);
    expect(s2.sent).toBeGreaterThan(700);
    expect(s2.sent).toBeLessThan(expected.length);

    const last = await runCli(args);
    expect(last.code, last.stderr).toBe(0);
    expect(parseSummary(last.stdout).sent).toBe(expected.length);
    const ids = (await readTopic(topic)).map((m) => (JSON.parse(m.value) as CaplineEvent).event_id);
    expect(ids.length).toBe(expected.length);
    expect(new Set(ids)).toEqual(new Set(expected));
  });

  it("gives every row exactly once after a kill -9 in the middle of a file and a rerun", async () => {
    const topic = newTopic("kill");
    const file = join(dir, "kill.csv");
    await generate({ out: file, events: 300_000, seed: 99 });
    const expected = expectedIds(file);
    const args = ingestArgs(file, topic, "--chunk-rows", "20000");

    const child = startCli(args);
    const exited = finished(child);
    // Kill once some chunks are committed, while the next ones are under way.
    await waitForMessages(topic, 60_000);
    child.kill("SIGKILL");
    const killed = await exited;
    expect(killed.code).toBeNull();

    const rerun = await runCli(args);
    expect(rerun.code, rerun.stderr).toBe(0);
    const summary = parseSummary(rerun.stdout);
    const file0 = summary.files[0];
    expect(file0?.resumed_from_line).toBeGreaterThan(1);
    expect(file0?.this_run.sent).toBeLessThan(expected.length);
    expect(summary.sent).toBe(expected.length);
    expect(summary.rows).toBe(summary.sent + summary.rejected + summary.duplicates);

    const ids = (await readTopic(topic)).map((m) => (JSON.parse(m.value) as CaplineEvent).event_id);
    expect(ids.length).toBe(expected.length);
    expect(new Set(ids)).toEqual(new Set(expected));
  });

  it("refuses a completely ingested file again from <topic>.checkpoints alone: no group's offsets to expire", async () => {
    const topic = newTopic("expired");
    const dlq = `${topic}.dlq`;
    const file = join(dir, "expired.csv");
    await generate({ out: file, events: 2_000, seed: 23 });
    const other = join(dir, "expired-other.csv");
    await generate({ out: other, events: 700, seed: 24 });
    const args = (path: string) => [
      "ingest",
      path,
      "--json",
      "--topic",
      topic,
      "--dlq-topic",
      dlq,
      "--chunk-rows",
      "300",
    ];

    const first = await runCli(args(file));
    expect(first.code, first.stderr).toBe(0);
    const done = parseSummary(first.stdout);
    // Another file's checkpoints come after this one's in <topic>.checkpoints.
    expect((await runCli(args(other))).code).toBe(0);
    const count = (await readTopic(topic)).length;
    expect(count).toBe(done.sent + expectedIds(other).length);

    // Nothing Kafka expires (offsets.retention.minutes drops an idle group's offsets after 7 days)
    // holds the checkpoint: no group exists for the file.
    expect(await ingestGroups(topic)).toEqual([]);

    const again = await runCli(args(file));
    expect(again.code, again.stderr).toBe(5);
    expect(parseSummary(again.stdout).files[0]).toMatchObject({
      status: "already_ingested",
      rows: done.rows,
      sent: done.sent,
      last_line: done.files[0]?.last_line,
    });
    const human = await runCli(["ingest", file, "--topic", topic, "--dlq-topic", dlq]);
    expect(human.code, human.stderr).toBe(5);
    expect(human.stdout).toMatch(/already ingested.*--force/);
    expect(await readTopic(topic)).toHaveLength(count);
    // Refusing writes nothing, and leaves no group behind either.
    expect(await ingestGroups(topic)).toEqual([]);
  });

  it("resumes a killed ingest from <topic>.checkpoints, skipping aborted checkpoints", async () => {
    const topic = newTopic("expkill");
    const file = join(dir, "expkill.csv");
    await generate({ out: file, events: 100_000, seed: 31 });
    const expected = expectedIds(file);
    const args = ingestArgs(file, topic, "--chunk-rows", "5000");

    const child = startCli(args);
    const exited = finished(child);
    await waitForMessages(topic, 20_000);
    child.kill("SIGKILL");
    expect((await exited).code).toBeNull();

    // A checkpoint of this file that was never committed (a transaction aborted) claims the file
    // is done: a reader that counted it would refuse the rest of the file.
    // It is aborted because the broker refuses another record of the same transaction (larger
    // than its topic's max.message.bytes): the checkpoint record is in the log, then its abort.
    const fileId = sha256Of(file);
    const small = newTopic("expkill-small");
    await admin.createTopic({
      topic: small,
      partitions: 1,
      replicationFactor: 1,
      configs: { "max.message.bytes": "1024" },
    });
    const checkpoints = checkpointTopicOf(topic);
    const logEnd = async () => (await admin.offsets(checkpoints))[0]?.high ?? 0;
    const before = await logEnd();
    const faker = new TransactionalProducer(kafka, { transactionalId: uniqueName("faker") });
    try {
      await faker.fence();
      const refused = await faker
        .transact([
          {
            topic: checkpoints,
            key: fileId,
            partition: 0,
            value: JSON.stringify({
              v: 1,
              fileId,
              file,
              line: 999_999,
              done: true,
              counts: {},
              runId: "aborted",
              at: new Date().toISOString(),
            }),
          },
          { topic: small, key: "big", partition: 0, value: randomBytes(20_000).toString("base64") },
        ])
        .catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(CaplineError);
    } finally {
      await faker.close();
    }
    // The aborted record and its abort marker. The coordinator writes the marker after EndTxn has
    // answered (a CI run read the log end between the two), so it is awaited, 30 s at most.
    const markerBy = Date.now() + 30_000;
    while ((await logEnd()) < before + 2 && Date.now() < markerBy)
      await new Promise((r) => setTimeout(r, 50));
    expect(await logEnd()).toBeGreaterThanOrEqual(before + 2);

    const rerun = await runCli(args);
    expect(rerun.code, rerun.stderr).toBe(0);
    const summary = parseSummary(rerun.stdout);
    const file0 = summary.files[0];
    expect(file0?.status).toBe("done");
    expect(file0?.resumed_from_line).toBeGreaterThan(1);
    expect(file0?.this_run.sent).toBeLessThan(expected.length);
    expect(summary.sent).toBe(expected.length);
    const ids = (await readTopic(topic)).map((m) => (JSON.parse(m.value) as CaplineEvent).event_id);
    expect(ids.length).toBe(expected.length);
    expect(new Set(ids)).toEqual(new Set(expected));
  });

  it("carries on without loss when Kafka is stopped and restarted in the middle of a file", async () => {
    const topic = newTopic("restart");
    const file = join(dir, "restart.csv");
    await generate({ out: file, events: 120_000, seed: 5 });
    const expected = expectedIds(file);
    const child = startCli(ingestArgs(file, topic, "--chunk-rows", "5000", "--rate", "8000"), {
      KAFKA_CONNECT_TIMEOUT_MS: "180000",
    });
    const exited = finished(child);
    let offsetsWhenStopped = 0;
    try {
      await new Promise((r) => setTimeout(r, 4_000));
      // How far the ingest had come when Kafka went away: the outage must fall inside the file.
      offsetsWhenStopped = await messagesIn(topic);
      await stopService(config, "kafka");
      await new Promise((r) => setTimeout(r, 3_000));
    } finally {
      // Others use this Kafka: always bring it back.
      await startService(config, "kafka");
    }
    const result = await exited;
    const lastWords = result.stderr
      .split("\n")
      .filter((l) => !l.startsWith("{"))
      .join("\n");
    expect(result.code, `${lastWords}\n${result.stdout}`).toBe(0);
    // The outage did hit the ingest in the middle of the file (not before or after it): part of
    // the file was in the topic when Kafka stopped, and the ingest went on afterwards. (Whether
    // the client's own retries or capline's chunk retry carried it over depends on the moment.)
    expect(offsetsWhenStopped).toBeGreaterThan(0);
    expect(offsetsWhenStopped).toBeLessThan(expected.length);
    expect(parseSummary(result.stdout).sent).toBe(expected.length);
    const ids = (await readTopic(topic)).map((m) => (JSON.parse(m.value) as CaplineEvent).event_id);
    expect(ids.length).toBe(expected.length);
    expect(new Set(ids)).toEqual(new Set(expected));
  }, 300_000);
});
