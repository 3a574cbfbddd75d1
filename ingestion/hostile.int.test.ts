import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KafkaAdmin, readCommittedPartition } from "../core/kafka/index.ts";
import { checkpointTopicOf, ingestIdPrefix } from "../core/names.ts";
import { escapeControl } from "../core/redact.ts";
import type { CaplineEvent, RejectedRow } from "../core/schema/events.ts";
import type { RejectReason } from "../core/schema/reasons.ts";
import { generateEvents } from "../processing/test/events.ts";
import { Pipeline } from "../processing/test/harness.ts";
import { runCapline } from "../test/support/cli.ts";
import { CsvParser } from "./csv-parser.ts";
import { resolveHeader } from "./header.ts";
import { RowValidator, rowLimits } from "./rows.ts";
import { Utf8Decoder } from "./utf8.ts";

/**
 * Issue 12 end to end: one file mixing every poison row of the audit with valid rows goes through
 * `capline ingest` and `capline process --until-idle` against the real services. The run ends in
 * its normal time, every valid event is exact in Elasticsearch, MinIO and HDFS, every poison row is
 * in the DLQ (and the rejects file, formula-safe) with its reason. Then the CLI regressions: files
 * never destroyed, flags and variables named with the fix, escape sequences never echoed raw.
 */

const dir = mkdtempSync(join(tmpdir(), "capline-hostile-"));
const HEADER = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session";
const GOOD = "2019-10-30 10:00:00 UTC,purchase,5773203,1487580005134238553,,runail,2.62,463240011,26dd6e6e";

function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

function rowOf(e: CaplineEvent): string {
  return [
    e.event_time,
    e.event_type,
    e.product_id,
    e.category_id,
    e.category_code ?? "",
    e.brand ?? "",
    e.price.toFixed(2),
    e.user_id,
    e.user_session,
  ]
    .map(csvField)
    .join(",");
}

const withField = (index: number, value: string) => {
  const f = GOOD.split(",");
  f[index] = value;
  return f.map(csvField).join(",");
};

/** Every poison row of the audit, with the reason it must get. */
const POISON: { name: string; row: Buffer; reason: RejectReason }[] = [
  { name: "user_id of 600 bytes", row: Buffer.from(withField(7, "u".repeat(600))), reason: "id_too_long" },
  { name: "price 1e307", row: Buffer.from(withField(6, `1${"0".repeat(307)}`)), reason: "bad_price" },
  { name: "year 0001", row: Buffer.from(withField(0, "0001-01-01 00:00:00 UTC")), reason: "bad_timestamp" },
  { name: "year 9999", row: Buffer.from(withField(0, "9999-12-31 23:59:59 UTC")), reason: "bad_timestamp" },
  {
    name: "event over 100 KiB",
    row: Buffer.from(withField(4, "c".repeat(200_000))),
    reason: "event_too_large",
  },
  {
    name: "row over Kafka's 1 MB",
    row: Buffer.from(withField(4, "m".repeat(1_200_000))),
    reason: "malformed_row",
  },
  { name: "line of 5 MiB", row: Buffer.from("z".repeat(5 * 1024 * 1024)), reason: "malformed_row" },
  { name: "NUL byte", row: Buffer.from(withField(5, "br\0and")), reason: "malformed_row" },
  {
    name: "invalid UTF-8",
    row: Buffer.concat([Buffer.from(withField(5, "br")), Buffer.from([0xff, 0xfe]), Buffer.from("and")]),
    reason: "malformed_row",
  },
  // A DDE payload: a spreadsheet opening the rejects file must not run it.
  { name: "formula", row: Buffer.from(withField(0, "=cmd|' /C calc'!A0")), reason: "bad_timestamp" },
  { name: "escape sequence", row: Buffer.from(withField(1, "\x1b[31mview")), reason: "bad_event_type" },
  { name: "field count", row: Buffer.from(`${GOOD},extra`), reason: "malformed_row" },
  {
    name: "broken quote",
    row: Buffer.from(withField(5, 'ab"c').replace('"ab""c"', 'ab"c')),
    reason: "malformed_row",
  },
];

describe("a file mixing every poison row, through ingest and process --until-idle", () => {
  const pipeline = new Pipeline({ hdfs: true });
  const file = join(dir, "poison.csv");
  const rejects = join(dir, "out", "rejects.csv");
  const valid = generateEvents(3000, 1212, 80, 4).map((e, i) =>
    // Valid rows that look dangerous stay valid and must arrive untouched.
    i === 10
      ? { ...e, brand: "<script>alert(1)</script>" }
      : i === 11
        ? { ...e, category_code: "=SUM(A1)" }
        : e,
  );
  const poisonLines = new Map<number, (typeof POISON)[number]>();
  let expected: CaplineEvent[] = [];

  beforeAll(async () => {
    await pipeline.setup();
    const parts: Buffer[] = [Buffer.from(`${HEADER}\n`)];
    let line = 2;
    const every = Math.floor(valid.length / (POISON.length + 1));
    valid.forEach((e, i) => {
      parts.push(Buffer.from(`${rowOf(e)}\n`));
      line++;
      const p = POISON[i / every - 1];
      if (i % every === 0 && p) {
        parts.push(p.row, Buffer.from("\n"));
        poisonLines.set(line, p);
        line++;
      }
    });
    writeFileSync(file, Buffer.concat(parts));
    expect(poisonLines.size).toBe(POISON.length);
    // The events the valid rows make, as the ingester's rules define them (ids from content).
    const decoder = new Utf8Decoder();
    const parser = new CsvParser();
    const records = [...parser.push(decoder.write(readFileSync(file)) + decoder.end()), ...parser.end()];
    const header = records.shift();
    const validator = new RowValidator(resolveHeader(header?.fields ?? [], file), file, 20_000, rowLimits());
    validator.checkCharacters = decoder.suspect;
    expected = records.flatMap((r) => {
      const o = validator.process(r);
      return o.kind === "event" ? [o.event] : [];
    });
    expect(expected).toHaveLength(valid.length);
  }, 300_000);

  afterAll(async () => {
    const admin = new KafkaAdmin(pipeline.kafka);
    const groups = await admin.listGroups();
    await admin
      .deleteGroups(groups.filter((g) => g.startsWith(ingestIdPrefix(pipeline.name))))
      .catch(() => undefined);
    await admin.deleteTopics([checkpointTopicOf(pipeline.name)]).catch(() => undefined);
    await admin.close();
    await pipeline.cleanup();
  });

  it("ingest refuses each poison row with its reason and sends every valid one (exit 3)", async () => {
    const r = await runCapline(["ingest", file, "--json", "--rejects", rejects], pipeline.env, 300_000);
    expect(r.code, r.stderr.slice(-3000)).toBe(3);
    const summary = JSON.parse(r.stdout);
    const byReason = summary.rejected_by_reason ?? summary.rejectedByReason;
    const want: Record<string, number> = {};
    for (const p of POISON) want[p.reason] = (want[p.reason] ?? 0) + 1;
    for (const [reason, n] of Object.entries(byReason)) expect(n, reason).toBe(want[reason] ?? 0);
    expect(summary).toMatchObject({
      rows: valid.length + POISON.length,
      sent: valid.length,
      rejected: POISON.length,
    });
    // The rejects file: one row per poison line with its reason, formula-safe.
    const text = readFileSync(rejects, "utf8");
    expect(text.split("\n")[0]).toBe("file,line,reason,detail,raw");
    for (const [line, p] of poisonLines) expect(text, p.name).toContain(`,${line},${p.reason},`);
    expect(text).toContain(`,"'=cmd|' /C calc'!A0,purchase,`);
    expect(text).not.toMatch(/,"?=cmd/);
  }, 300_000);

  it("process --until-idle ends in its normal time; Elasticsearch, MinIO and HDFS hold exactly the valid events", async () => {
    const run = await pipeline.run(["--until-idle", "--json"], 240_000);
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    await pipeline.verify(expected);
  }, 300_000);

  it("every poison row is in the DLQ with its file, line and reason", async () => {
    const dlqTopic = pipeline.env.KAFKA_DLQ_TOPIC as string;
    const dlq: RejectedRow[] = [];
    const admin = new KafkaAdmin(pipeline.kafka);
    const partitions = await admin.offsets(dlqTopic).finally(() => admin.close());
    for (const { partition, low, high } of partitions)
      if (high > low)
        await readCommittedPartition(pipeline.kafka, dlqTopic, partition, (record) => {
          dlq.push(JSON.parse(String(record.value)) as RejectedRow);
        });
    expect(dlq).toHaveLength(POISON.length);
    for (const [line, p] of poisonLines) {
      const row = dlq.find((d) => d.line === line);
      expect(row, p.name).toMatchObject({ file, reason: p.reason });
      expect(row?.raw.length ?? 0, p.name).toBeLessThanOrEqual(4096);
    }
  });

  it("report --out never replaces a file without --overwrite; the Markdown report escapes HTML", async () => {
    const out = join(dir, "report.md");
    writeFileSync(out, "precious");
    const refused = await runCapline(["report", "brands", "--format", "md", "--out", out], pipeline.env);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain(`--out ${out}: refused: the file exists; add --overwrite`);
    expect(readFileSync(out, "utf8")).toBe("precious");
    const written = await runCapline(
      ["report", "brands", "--format", "md", "--top", "1000", "--out", out, "--overwrite"],
      pipeline.env,
    );
    expect(written.code, written.stderr).toBe(0);
    const md = readFileSync(out, "utf8");
    expect(md).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(md).not.toContain("<script>");
  });
});

describe("files are never destroyed", () => {
  const input = join(dir, "f.csv");
  const content = `${HEADER}\n${GOOD}\n${withField(6, "-1")}\n`;
  const env = { KAFKA_TOPIC: "unused-by-these-tests", KAFKA_CONNECT_TIMEOUT_MS: "2000" };

  beforeAll(() => writeFileSync(input, content));

  it("ingest f.csv --rejects f.csv leaves f.csv byte-identical and exits 2, before Kafka is asked", async () => {
    for (const rejectsPath of [input, join(dir, ".", "f.csv")]) {
      for (const more of [[], ["--overwrite"]]) {
        const r = await runCapline(["ingest", input, "--rejects", rejectsPath, ...more], {
          ...env,
          KAFKA_BROKERS: "127.0.0.1:1",
        });
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).toContain("--rejects");
        expect(r.stderr).toContain("input");
        expect(readFileSync(input, "utf8")).toBe(content);
      }
    }
  });

  it("--rejects refuses a symbolic link and an existing file; creates a missing folder", async () => {
    const target = join(dir, "target.txt");
    writeFileSync(target, "keep me");
    const link = join(dir, "link.csv");
    symlinkSync(target, link);
    const noKafka = { ...env, KAFKA_BROKERS: "127.0.0.1:1" };
    const viaLink = await runCapline(["ingest", input, "--rejects", link, "--overwrite"], noKafka);
    expect(viaLink.code, viaLink.stderr).toBe(2);
    expect(viaLink.stderr).toContain("symbolic link");
    const existing = await runCapline(["ingest", input, "--rejects", target], noKafka);
    expect(existing.code, existing.stderr).toBe(2);
    expect(existing.stderr).toContain("add --overwrite");
    expect(readFileSync(target, "utf8")).toBe("keep me");
    // A missing folder is created (then Kafka, unreachable here, is named: exit 4).
    const nested = join(dir, "new", "deeper", "rejects.csv");
    const created = await runCapline(["ingest", input, "--rejects", nested], noKafka);
    expect(created.code, created.stderr).toBe(4);
    expect(readFileSync(nested, "utf8")).toBe("file,line,reason,detail,raw\n");
    // A folder that cannot be created: exit 2 and one line, no stack trace.
    mkdirSync(join(dir, "plain"), { recursive: true });
    writeFileSync(join(dir, "plain", "file"), "");
    const blocked = await runCapline(
      ["ingest", input, "--rejects", join(dir, "plain", "file", "r.csv")],
      noKafka,
    );
    expect(blocked.code, blocked.stderr).toBe(2);
    expect(blocked.stderr.trim().split("\n")).toHaveLength(1);
    expect(blocked.stderr).toContain("cannot create the folder");
  });

  it("generate --out refuses an existing file without --overwrite", async () => {
    const out = join(dir, "sample.csv");
    writeFileSync(out, "precious");
    const r = await runCapline(["generate", "--out", out, "--events", "10"]);
    expect(r.code, r.stderr).toBe(2);
    expect(readFileSync(out, "utf8")).toBe("precious");
    const again = await runCapline(["generate", "--out", out, "--events", "10", "--overwrite"]);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(out, "utf8").split("\n")[0]).toBe(HEADER);
  });
});

describe("flags and variables are named with the fix; escape sequences are never echoed raw", () => {
  it.each([
    [["ingest", "x.csv", "--topic", "bad topic"], "--topic", "is not a valid Kafka topic name"],
    [["ingest", "x.csv", "--dlq-topic", "a/b"], "--dlq-topic", "letters, digits"],
    [
      ["ingest", "x.csv", "--rate", "10", "--replay-speed", "60"],
      "--rate and --replay-speed",
      "give one of them",
    ],
    [["ingest", "x.csv", "--rate", "1e9999"], "--rate", "takes a number"],
    [["report", "customers", "--top", "99999999"], "--top", "from 1 to 1000"],
    [["process", "--concurrency", "0"], "--concurrency", "from 1 to 256"],
    [["process", "--lock-ms", "99999999999"], "--lock-ms", "from 1000 to 3600000"],
    [["monitor", "--watch", "9999999999"], "--watch", "from 1 to 86400"],
    [["monitor", "serve", "--host", "not an address"], "--host", "127.0.0.1"],
  ])("%j", async (args, flag, fix) => {
    const r = await runCapline(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(flag);
    expect(r.stderr).toContain(fix);
  });

  it("MONITOR_HOST that is not an address stops monitor serve with the variable named", async () => {
    const r = await runCapline(["monitor", "serve"], { MONITOR_HOST: "not an address" }, 30_000);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("MONITOR_HOST");
    expect(r.stderr).toContain("127.0.0.1");
  });

  it("a header with terminal escape sequences is refused with them escaped", async () => {
    const file = join(dir, "evil-header.csv");
    writeFileSync(file, "\x1b]0;pwned\x07\x1b[2J,user\x9b31m\n1,2\n");
    // The header is read once Kafka is set up: a topic of this test's own, removed afterwards.
    const pipeline = new Pipeline({ hdfs: false });
    const r = await runCapline(["ingest", file], pipeline.env);
    await pipeline.cleanup();
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("\\x1b]0;pwned\\x07\\x1b[2J");
    expect(escapeControl(r.stderr)).toBe(r.stderr); // nothing left to escape
  });

  it("a flag value with escape sequences is echoed escaped", async () => {
    const r = await runCapline(["ingest", "x.csv", "--topic", "\x1b[31mred"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("\\x1b[31mred");
    expect(r.stderr).not.toContain("\x1b");
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));
