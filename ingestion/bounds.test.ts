import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../core/config/index.ts";
import { REJECT_REASON_DOCS, REJECT_REASONS } from "../core/schema/reasons.ts";
import { CsvParser, type CsvRecord, MAX_RAW_CHARS } from "./csv-parser.ts";
import { resolveHeader } from "./header.ts";
import {
  DEFAULT_BOUNDS,
  parsePrice,
  type RowLimits,
  type RowOutcome,
  RowValidator,
  rowLimits,
} from "./rows.ts";
import { INVALID_MARK, Utf8Decoder } from "./utf8.ts";

/**
 * The ingester's bounds (issue 12, items 1 and 2): every poison row of the audit gets its
 * documented reason, and the next row goes through.
 */

const REES46 = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session";
const GOOD = "2019-10-01 00:00:00 UTC,purchase,5773203,1487580005134238553,,runail,2.62,463240011,26dd6e6e";
const NOW = Date.parse("2026-06-01T12:00:00Z");

function validate(
  rows: string[],
  limits: RowLimits = rowLimits(undefined, NOW),
  decodeChecks = false,
): { outcomes: RowOutcome[]; validator: RowValidator } {
  const parser = new CsvParser(limits.maxLineChars);
  const records = [...parser.push(`${REES46}\n${rows.join("\n")}\n`), ...parser.end()];
  const header = records.shift() as CsvRecord;
  const validator = new RowValidator(resolveHeader(header.fields, "t.csv"), "t.csv", 1000, limits);
  validator.checkCharacters = decodeChecks;
  return { outcomes: records.map((r) => validator.process(r)), validator };
}

const reasonOf = (o: RowOutcome | undefined) => (o?.kind === "reject" ? o.row.reason : o?.kind);
const detailOf = (o: RowOutcome | undefined) => (o?.kind === "reject" ? o.row.detail : "");
const withField = (index: number, value: string) => {
  const f = GOOD.split(",");
  f[index] = value;
  return f.join(",");
};

describe("price bounds", () => {
  it("refuses 1 followed by 307 zeros (Infinity cents) and any price above the maximum", () => {
    const huge = `1${"0".repeat(307)}`;
    const { outcomes } = validate([withField(6, huge), withField(6, "1000000000000"), GOOD]);
    expect(outcomes.map(reasonOf)).toEqual(["bad_price", "bad_price", "event"]);
    expect(detailOf(outcomes[0])).toContain("above the maximum 999999999999.99 (INGEST_MAX_PRICE)");
    // The huge text is cut in the detail, not repeated whole.
    expect(detailOf(outcomes[0]).length).toBeLessThan(200);
  });

  it("accepts the maximum itself, and the bound is configurable", () => {
    expect(parsePrice("999999999999.99")).toBe(999_999_999_999.99);
    expect(parsePrice("100.01", 100)).toMatch(/above the maximum 100/);
    expect(parsePrice("100", 100)).toBe(100);
  });

  it("keeps every accepted price's cents a safe integer", () => {
    const max = rowLimits().maxPrice;
    expect(Number.isSafeInteger(Math.round(max * 100))).toBe(true);
  });
});

describe("event-time window", () => {
  it("refuses years 0001 and 9999, before 1990 and after now + 1 day", () => {
    const { outcomes } = validate([
      withField(0, "0001-01-01 00:00:00 UTC"),
      withField(0, "9999-12-31 23:59:59 UTC"),
      withField(0, "1989-12-31T23:59:59Z"),
      withField(0, "2026-06-02T12:00:01Z"),
      withField(0, "1990-01-01T00:00:00Z"),
      withField(0, "2026-06-02T12:00:00Z"),
    ]);
    expect(outcomes.map(reasonOf)).toEqual([
      "bad_timestamp",
      "bad_timestamp",
      "bad_timestamp",
      "bad_timestamp",
      "event",
      "event",
    ]);
    expect(detailOf(outcomes[0])).toContain("before 1990-01-01T00:00:00.000Z (INGEST_EVENT_TIME_MIN)");
    expect(detailOf(outcomes[1])).toContain("after 2026-06-02T12:00:00.000Z (INGEST_EVENT_TIME_MAX)");
  });

  it("takes configured bounds, fixed or relative to the run's start", () => {
    const limits = rowLimits(
      { ...DEFAULT_BOUNDS, eventTimeMin: { iso: "2019-10-01T00:00:00Z" }, eventTimeMax: { nowPlusMs: -1 } },
      Date.parse("2019-10-01T00:00:01Z"),
    );
    const { outcomes } = validate(
      [withField(0, "2019-09-30 23:59:59"), withField(0, "2019-10-01 00:00:01"), GOOD],
      limits,
    );
    expect(outcomes.map(reasonOf)).toEqual(["bad_timestamp", "bad_timestamp", "event"]);
  });
});

describe("id and event size limits", () => {
  it("refuses a user_id over 512 bytes (an Elasticsearch _id) at ingest, naming the field", () => {
    const { outcomes } = validate([withField(7, "u".repeat(513)), withField(7, "u".repeat(256)), GOOD]);
    expect(outcomes.map(reasonOf)).toEqual(["id_too_long", "event", "event"]);
    expect(detailOf(outcomes[0])).toBe(
      "user_id of 513 bytes over the limit of 256 bytes (INGEST_MAX_ID_BYTES)",
    );
  });

  it("counts bytes, not characters, and checks product_id, category_id and user_session too", () => {
    const euro = "€".repeat(86); // 258 bytes in 86 characters
    const { outcomes } = validate([withField(2, euro), withField(3, "9".repeat(300)), withField(8, euro)]);
    expect(outcomes.map(reasonOf)).toEqual(["id_too_long", "id_too_long", "id_too_long"]);
    expect(detailOf(outcomes[0])).toMatch(/^product_id of 258 bytes/);
    expect(detailOf(outcomes[1])).toMatch(/^category_id of 300 bytes/);
    expect(detailOf(outcomes[2])).toMatch(/^user_session of 258 bytes/);
  });

  it("refuses an event whose encoding exceeds the size limit, before the duplicate window", () => {
    const limits = { ...rowLimits(undefined, NOW), maxEventBytes: 2048 };
    const big = withField(4, "c".repeat(3000));
    const { outcomes, validator } = validate([big, big, GOOD], limits);
    // Both copies are refused and reported: a refused row is never remembered as a duplicate.
    expect(outcomes.map(reasonOf)).toEqual(["event_too_large", "event_too_large", "event"]);
    expect(detailOf(outcomes[0])).toMatch(/over the limit of 2048 \(INGEST_MAX_EVENT_BYTES\)/);
    expect(validator.counts).toMatchObject({ rows: 3, sent: 1, rejected: 2, duplicates: 0 });
  });

  it("keeps the raw text of a refused row to its first MAX_RAW_CHARS characters, saying so", () => {
    const limits = { ...rowLimits(undefined, NOW), maxEventBytes: 2048 };
    const { outcomes } = validate([withField(4, "c".repeat(10_000))], limits);
    const o = outcomes[0];
    expect(o?.kind === "reject" && o.row.raw.length).toBe(MAX_RAW_CHARS);
    expect(detailOf(o)).toContain(`(raw text cut to its first ${MAX_RAW_CHARS} of`);
  });
});

describe("line limit", () => {
  it("refuses a line over the limit mid-file as malformed_row and resynchronises on the next line", () => {
    const limits = { ...rowLimits(undefined, NOW), maxLineChars: 1024 };
    const long = withField(4, "x".repeat(2000));
    const { outcomes, validator } = validate([GOOD, long, withField(7, "2")], limits);
    expect(outcomes.map(reasonOf)).toEqual(["event", "malformed_row", "event"]);
    expect(detailOf(outcomes[1])).toContain("longer than the line limit of 1024 characters");
    expect(
      outcomes.map((o) => (o.kind === "reject" ? o.row.line : o.kind === "event" ? o.event.source.line : 0)),
    ).toEqual([2, 3, 4]);
    expect(validator.counts.rows).toBe(3);
  });

  it("drops a line with no end in sight as it arrives, without holding it, and goes on after it", () => {
    const parser = new CsvParser(1024);
    const out = parser.push(`${REES46}\n${GOOD}\n`);
    out.push(...parser.push("y".repeat(700)));
    out.push(...parser.push("y".repeat(700))); // over the limit, still no line end
    for (let i = 0; i < 100; i++) out.push(...parser.push("y".repeat(10_000)));
    out.push(...parser.push(`yyy\n${GOOD}\n`), ...parser.end());
    expect(out.map((r) => [r.line, r.broken === undefined])).toEqual([
      [1, true],
      [2, true],
      [3, false],
      [4, true],
    ]);
    expect(out[2]?.raw.length).toBeLessThanOrEqual(MAX_RAW_CHARS);
    expect(out[2]?.broken).toContain("line limit");
  });

  it("holds a line of exactly the limit (CRLF not counted)", () => {
    const parser = new CsvParser(10);
    const out = [...parser.push("a,b\r\n0123456789\r\n01234567890\r\nc,d\r\n"), ...parser.end()];
    expect(out.map((r) => r.broken === undefined)).toEqual([true, true, false, true]);
  });
});

describe("invalid UTF-8 and NUL bytes", () => {
  const decode = (...parts: Buffer[]) => {
    const d = new Utf8Decoder();
    const text = parts.map((p) => d.write(p)).join("") + d.end();
    return { text, d };
  };

  it("decodes valid UTF-8 as Node does, split anywhere, and stays unsuspicious", () => {
    const bytes = Buffer.from("a€b😀c\ufffdd", "utf8"); // a real U+FFFD is valid text
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { text, d } = decode(bytes.subarray(0, cut), bytes.subarray(cut));
      expect(text).toBe(bytes.toString("utf8"));
      expect(d.suspect).toBe(false);
    }
  });

  it("marks each invalid sequence, wherever the buffers are cut", () => {
    // A lone continuation, an overlong '/', a surrogate, a truncated 4-byte sequence, a stray FF.
    const bytes = Buffer.from([
      0x61, 0x80, 0x62, 0xc0, 0xaf, 0x63, 0xed, 0xa0, 0x80, 0x64, 0xf0, 0x9f, 0x98, 0x65, 0xff,
    ]);
    const expected = `a${INVALID_MARK}b${INVALID_MARK}${INVALID_MARK}c${INVALID_MARK}${INVALID_MARK}${INVALID_MARK}d${INVALID_MARK}e${INVALID_MARK}`;
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { text, d } = decode(bytes.subarray(0, cut), bytes.subarray(cut));
      expect(text).toBe(expected);
      expect(d.suspect).toBe(true);
    }
    // An incomplete sequence at the very end of the input is invalid too.
    expect(decode(Buffer.from([0x61, 0xe2, 0x82])).text).toBe(`a${INVALID_MARK}`);
  });

  it("flags a NUL byte as suspect", () => {
    expect(decode(Buffer.from("a\0b")).d.suspect).toBe(true);
  });

  it("refuses rows with invalid UTF-8 or a NUL as malformed_row, shown with U+FFFD, and keeps a real U+FFFD", () => {
    const { outcomes } = validate(
      [withField(5, `br${INVALID_MARK}and`), withField(5, "br\0and"), withField(5, "br\ufffdand")],
      rowLimits(undefined, NOW),
      true,
    );
    expect(outcomes.map(reasonOf)).toEqual(["malformed_row", "malformed_row", "event"]);
    expect(detailOf(outcomes[0])).toMatch(/^invalid UTF-8 at character \d+ \(shown as U\+FFFD\)$/);
    expect(outcomes[0]?.kind === "reject" && outcomes[0].row.raw).toContain("br\ufffdand");
    expect(detailOf(outcomes[1])).toMatch(/^a NUL byte at character \d+$/);
  });
});

describe("the list of reasons", () => {
  it("has a sentence for each reason and every reason is documented in docs/ingestion.md", () => {
    const doc = readFileSync(join(PROJECT_ROOT, "docs", "ingestion.md"), "utf8");
    for (const reason of REJECT_REASONS) {
      expect(REJECT_REASON_DOCS[reason].length).toBeGreaterThan(10);
      expect(doc).toContain(`| \`${reason}\``);
    }
  });

  it("counts every reason from zero", () => {
    const { validator } = validate([GOOD]);
    expect(Object.keys(validator.counts.rejectedByReason)).toEqual([...REJECT_REASONS]);
  });
});

describe("the invalid-byte mark (found by fuzzing)", () => {
  it("is never confused with half of a valid character: U+11FFF and U+10FFFF are accepted unchanged", () => {
    const astral = "\u{11FFF}\u{10FFFF}\u{103FF}";
    const { outcomes } = validate([withField(5, astral)], rowLimits(undefined, NOW), true);
    expect(outcomes.map(reasonOf)).toEqual(["event"]);
    expect(outcomes[0]?.kind === "event" && outcomes[0].event.brand).toBe(astral);
  });
});
