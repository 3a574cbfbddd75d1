import { describe, expect, it } from "vitest";
import { DLQ_REASONS, REJECT_REASONS } from "../core/schema/reasons.ts";
import { POISON_REASONS } from "../processing/dlq.ts";
import { CHECK_REASONS } from "../processing/validate.ts";
import { printable } from "./cli.ts";
import { classifyDlqRecord, fileMatches } from "./records.ts";
import { StatsCollector } from "./stats.ts";

const AT = Date.parse("2026-12-01T23:59:59.999Z");
const record = (value: unknown, offset = 0, timestamp = AT) => ({
  offset,
  key: null,
  value: value === null ? null : Buffer.from(typeof value === "string" ? value : JSON.stringify(value)),
  timestamp,
});
const refused = (line: number, reason = "bad_price", fileId: string | undefined = "f".repeat(64)) => ({
  file: "data/a.csv",
  line,
  raw: "x,y",
  reason,
  detail: "d",
  ...(fileId ? { file_id: fileId } : {}),
});
const failed = (offset: number, reason = "sink_refused", extra: object = {}) => ({
  source: { topic: "t", partition: 1, offset },
  raw: JSON.stringify({ event_id: "e", source: { file: "data/b.csv", line: 3 } }),
  reason,
  detail: "mapper_parsing_exception",
  ...extra,
});

describe("classifyDlqRecord", () => {
  it("tells the three writers apart", () => {
    expect(classifyDlqRecord(2, record(refused(5)))).toMatchObject({
      kind: "refused",
      partition: 2,
      file: "data/a.csv",
      fileId: "f".repeat(64),
      line: 5,
      reason: "bad_price",
      day: "2026-12-01",
    });
    expect(classifyDlqRecord(0, record(failed(9, "invalid_event")))).toMatchObject({
      kind: "failed",
      stage: "dispatch",
      sink: undefined,
      file: "data/b.csv",
      source: { topic: "t", partition: 1, offset: 9 },
    });
    expect(
      classifyDlqRecord(0, record(failed(9, "unencodable", { stage: "process", sink: "parquet" }))),
    ).toMatchObject({ kind: "failed", stage: "process", sink: "parquet" });
    expect(classifyDlqRecord(0, record("bad row"))).toMatchObject({ kind: "unrecognised", raw: "bad row" });
    expect(classifyDlqRecord(0, record(null))).toMatchObject({ kind: "unrecognised", raw: null });
  });

  it("trusts no field: lines, reasons, file ids, sizes and times are checked", () => {
    for (const bad of [
      { ...refused(0) },
      { ...refused(-1) },
      { ...refused(1.5) },
      { ...refused(2 ** 60) },
      { ...refused(3), reason: "not_a_reason" },
      { ...refused(3), raw: 42 },
      { ...refused(3), file: "" },
      [refused(3)],
    ])
      expect(classifyDlqRecord(0, record(bad)).kind).toBe("unrecognised");
    expect(classifyDlqRecord(0, record({ ...refused(3), file_id: "../../etc" }))).toMatchObject({
      kind: "refused",
      fileId: undefined,
    });
    expect(classifyDlqRecord(0, record(failed(1, "\u001b[31mred")))).toMatchObject({
      reason: "unrecognised",
    });
    expect(classifyDlqRecord(0, record(failed(1, "camelCase")))).toMatchObject({ reason: "unrecognised" });
    expect(classifyDlqRecord(0, record(refused(3), 0, -1))).toMatchObject({ day: "unknown" });
    const huge = classifyDlqRecord(0, record({ ...failed(1), detail: "x".repeat(100_000) }));
    expect(huge.kind === "failed" && huge.detail.length).toBeLessThan(20_000);
  });

  it("matches --file by the whole name or its last segments", () => {
    expect(fileMatches("data/events.csv", "events.csv")).toBe(true);
    expect(fileMatches("data/events.csv", "data/events.csv")).toBe(true);
    expect(fileMatches("data/myevents.csv", "events.csv")).toBe(false);
    expect(fileMatches(undefined, "events.csv")).toBe(false);
    expect(fileMatches(undefined, undefined)).toBe(true);
  });
});

describe("StatsCollector", () => {
  it("counts each refused row and failed record once, by reason, file and day", () => {
    const replayed = new Set([`${"f".repeat(64)}:2`]);
    const stats = new StatsCollector((id) => replayed.has(id));
    const entries = [
      record(refused(2)),
      record(refused(2)), // a --force re-ingest refused it again
      record(refused(3, "bad_timestamp")),
      record(refused(4, "bad_timestamp", undefined), 0, AT + 1),
      record(failed(7)),
      record(failed(7)), // a retried job
      record(failed(7, "sink_refused", { sink: "parquet", stage: "process" })), // another sink
      record("junk"),
    ];
    for (const [i, r] of entries.entries()) stats.add(classifyDlqRecord(0, { ...r, offset: i }));
    const s = stats.result("t", "t.dlq");
    expect(Object.keys(s.refused.byReason)).toEqual([...REJECT_REASONS]);
    expect(s.refused).toMatchObject({ total: 3, replayed: 1, pending: 2 });
    expect(s.refused.byReason).toMatchObject({ bad_price: 1, bad_timestamp: 2, malformed_row: 0 });
    expect(s.refused.byFile).toEqual([
      { file: "data/a.csv", total: 3, replayed: 1, byReason: { bad_price: 1, bad_timestamp: 2 } },
    ]);
    expect(s.refused.byDay.map((d) => [d.day, d.total])).toEqual([
      ["2026-12-01", 2],
      ["2026-12-02", 1],
    ]);
    expect(s.failed).toMatchObject({
      total: 2,
      byReason: { sink_refused: 2 },
      byStage: { dispatch: 1, process: 1 },
    });
    expect(s.failed.byFile[0]).toMatchObject({ file: "data/b.csv", total: 2 });
    expect(s).toMatchObject({ records: 8, repeats: 2, unrecognised: { total: 1 } });
  });
});

describe("reasons", () => {
  it("every reason processing writes to the DLQ is one --reason knows", () => {
    for (const reason of [...CHECK_REASONS, ...POISON_REASONS]) expect(DLQ_REASONS).toContain(reason);
    expect(new Set(DLQ_REASONS).size).toBe(DLQ_REASONS.length);
  });
});

describe("printable", () => {
  it("escapes what a terminal would interpret and keeps one line", () => {
    expect(printable("a\u001b[2Jb\nc\td\r\u202e")).toBe("a\\x1b[2Jb\\nc\\td\\x0d\\u202e");
    expect(printable("x".repeat(500), 10)).toBe("xxxxxxxxxx… (500 characters; --json for all)");
  });
});
