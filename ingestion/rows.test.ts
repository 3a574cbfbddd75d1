import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CsvParser } from "./csv-parser.ts";
import { parseMapOption, resolveHeader } from "./header.ts";
import {
  canonicalRow,
  DuplicateWindow,
  eventIdOf,
  jsonString,
  parsePrice,
  type RowOutcome,
  RowValidator,
} from "./rows.ts";
import { parseTimestamp } from "./timestamp.ts";

const REES46 = "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session";

function run(
  text: string,
  map?: string,
  window?: number,
): { outcomes: RowOutcome[]; validator: RowValidator } {
  const parser = new CsvParser();
  const records = [...parser.push(text), ...parser.end()];
  const header = records.shift();
  if (!header) throw new Error("no header");
  const columns = resolveHeader(header.fields, "test.csv", map ? parseMapOption(map) : undefined);
  const validator = new RowValidator(columns, "test.csv", window);
  return { outcomes: records.map((r) => validator.process(r)), validator };
}

describe("parseTimestamp", () => {
  it.each([
    ["2019-10-01 00:00:00", "2019-10-01T00:00:00.000Z"],
    ["2019-10-01 23:59:59 UTC", "2019-10-01T23:59:59.000Z"],
    ["2019-10-01T00:00:00Z", "2019-10-01T00:00:00.000Z"],
    ["2019-10-01T00:00:00.5Z", "2019-10-01T00:00:00.500Z"],
    ["2019-10-01T00:00:00.123456789Z", "2019-10-01T00:00:00.123Z"],
    ["2019-10-01T02:30:00+02:00", "2019-10-01T00:30:00.000Z"],
    ["2019-10-01T00:30:00-0130", "2019-10-01T02:00:00.000Z"],
    ["2019-10-01T01:00:00+01", "2019-10-01T00:00:00.000Z"],
    ["2019-12-31T23:30:00-01:00", "2020-01-01T00:30:00.000Z"],
    ["2020-02-29 12:00:00", "2020-02-29T12:00:00.000Z"],
    ["2000-02-29 12:00:00 UTC", "2000-02-29T12:00:00.000Z"],
  ])("accepts %s", (input, iso) => {
    expect(parseTimestamp(input)).toEqual({ ok: true, iso });
  });

  it.each([
    "2019-10-01T00:00:00",
    "2019/10/01 00:00:00",
    "1569888000",
    "1569888000000",
    "2019-02-29 00:00:00",
    "1900-02-29 00:00:00",
    "2019-04-31 00:00:00",
    "2019-13-01 00:00:00",
    "2019-10-00 00:00:00",
    "2019-10-01 24:00:00",
    "2019-10-01 00:60:00",
    "2019-10-01 00:00:60",
    "2019-10-01 00:00:00 CET",
    "2019-10-01 00:00:00 utc",
    "2019-10-01 00:00:00UTC",
    "2019-10-01 00:00:00Z",
    "2019-10-01T00:00:00+25:00",
    "2019-10-01T00:00:00+02:0",
    "2019-10-01T00:00:00.Z",
    "2019-10-01T00:00:00ZZ",
    "2019-10-01",
    " 2019-10-01 00:00:00",
    "2019-1-01 00:00:00",
    "0000-01-01 00:00:00",
    "Tue Oct 01 2019 00:00:00",
    "",
  ])("refuses %j", (input) => {
    expect(parseTimestamp(input).ok).toBe(false);
  });
});

describe("parsePrice", () => {
  it.each([
    ["12.99", 12.99],
    ["0", 0],
    ["0.00", 0],
    ["12", 12],
    ["1234567.5", 1234567.5],
  ])("accepts %s", (input, value) => {
    expect(parsePrice(input)).toBe(value);
  });
  it.each([
    "-1.00",
    "-0",
    "12,99",
    "1e3",
    "NaN",
    "Infinity",
    ".5",
    "5.",
    "1.2.3",
    "$12",
    " 12",
    "12 ",
    "+12",
    "0x1F",
  ])("refuses %j", (input) => {
    expect(typeof parsePrice(input)).toBe("string");
  });
});

describe("RowValidator", () => {
  const good =
    "2019-10-01 00:00:00 UTC,view,44600062,2103807459595387724,,shiseido,35.79,541312140,72d76fde-8bb3";

  it("keeps 19-digit ids as exact strings and turns empty codes and brands into null", () => {
    const row =
      "2019-10-01 00:00:00 UTC,purchase,1005115,2053013555631882655,,,987.86,1515915625519388267,LJuJVLEjPT";
    const { outcomes } = run(`${REES46}\n${row}\n`);
    const o = outcomes[0];
    if (o?.kind !== "event") throw new Error(`expected an event, got ${JSON.stringify(o)}`);
    expect(o.event).toMatchObject({
      user_id: "1515915625519388267",
      category_id: "2053013555631882655",
      category_code: null,
      brand: null,
      price: 987.86,
      event_time: "2019-10-01T00:00:00.000Z",
    });
    const parsed = JSON.parse(o.value);
    expect(parsed).toEqual(o.event);
    expect(o.value).toContain('"user_id":"1515915625519388267"');
  });

  it("builds the same JSON as JSON.stringify, for unicode and escapes too", () => {
    const row = '2019-10-01T00:00:00Z,view,1,2,"kids,toys","Löwe ""Ä"" \\ 😀",1.5,3,s';
    const { outcomes } = run(`${REES46}\n${row}\n`);
    const o = outcomes[0];
    if (o?.kind !== "event") throw new Error("expected an event");
    expect(o.event.brand).toBe('Löwe "Ä" \\ 😀');
    expect(o.event.category_code).toBe("kids,toys");
    expect(JSON.parse(o.value)).toEqual(o.event);
  });

  it("gives each broken row its reason", () => {
    const rows = [
      ",view,1,2,,,1.00,3,s", // missing event_time
      "2019-10-01 00:00:00 UTC,,1,2,,,1.00,3,s", // missing event_type
      "2019-10-01 00:00:00 UTC,view,,2,,,1.00,3,s", // missing product_id
      "2019-10-01 00:00:00 UTC,view,1,2,,,,3,s", // missing price
      "2019-10-01 00:00:00 UTC,view,1,2,,,1.00,,s", // missing user_id
      "2019/10/01 00:00:00,view,1,2,,,1.00,3,s",
      "2019-10-01 00:00:00 UTC,click,1,2,,,1.00,3,s",
      "2019-10-01 00:00:00 UTC,View,1,2,,,1.00,3,s",
      "2019-10-01 00:00:00 UTC,view,1,2,,,-3.00,3,s",
      "2019-10-01 00:00:00 UTC,view,1,2,,,abc,3,s",
      "2019-10-01 00:00:00 UTC,view,1,2,,,1.00,3",
      "2019-10-01 00:00:00 UTC,view,1,2,,,1.00,3,s,extra",
      '2019-10-01 00:00:00 UTC,view,1,2,,ab"c,1.00,3,s',
    ];
    const { outcomes, validator } = run(`${REES46}\n${rows.join("\n")}\n${good}\n`);
    expect(outcomes.map((o) => (o.kind === "reject" ? o.row.reason : o.kind))).toEqual([
      "missing_field",
      "missing_field",
      "missing_field",
      "missing_field",
      "missing_field",
      "bad_timestamp",
      "bad_event_type",
      "bad_event_type",
      "bad_price",
      "bad_price",
      "malformed_row",
      "malformed_row",
      "malformed_row",
      "event",
    ]);
    const first = outcomes[0];
    expect(first?.kind === "reject" && first.row).toEqual({
      file: "test.csv",
      line: 2,
      raw: rows[0],
      reason: "missing_field",
      detail: "empty event_time",
    });
    expect(validator.counts).toEqual({
      rows: 14,
      sent: 1,
      rejected: 13,
      duplicates: 0,
      rejectedByReason: {
        missing_field: 5,
        bad_timestamp: 1,
        bad_event_type: 2,
        bad_price: 2,
        malformed_row: 3,
        id_too_long: 0,
        event_too_large: 0,
      },
    });
  });

  it("checks rules in DESIGN.md order: an empty field wins over a bad timestamp", () => {
    const { outcomes } = run(`${REES46}\nnot-a-time,view,1,2,,,,3,s\n`);
    expect(outcomes[0]?.kind === "reject" && outcomes[0].row.reason).toBe("missing_field");
  });

  it("counts exact duplicates once, and only exact ones", () => {
    const near = good.replace("35.79", "35.80");
    const { outcomes, validator } = run(`${REES46}\n${good}\n${good}\n${near}\n${good}\r\n`);
    expect(outcomes.map((o) => o.kind)).toEqual(["event", "duplicate", "event", "duplicate"]);
    expect(validator.counts).toMatchObject({ rows: 4, sent: 2, duplicates: 2, rejected: 0 });
  });

  it("treats a quoted and an unquoted spelling of the same values as the same row", () => {
    const quoted = good.replace(",shiseido,", ',"shiseido",');
    const { outcomes } = run(`${REES46}\n${good}\n${quoted}\n`);
    expect(outcomes.map((o) => o.kind)).toEqual(["event", "duplicate"]);
  });

  it("forgets duplicates beyond the window", () => {
    const other = good.replace("44600062", "1");
    const { outcomes } = run(`${REES46}\n${good}\n${other}\n${good}\n`, undefined, 1);
    expect(outcomes.map((o) => o.kind)).toEqual(["event", "event", "event"]);
  });

  it("derives event ids from content only: sha1 of the canonical row", () => {
    const { outcomes } = run(`${REES46}\n${good}\n`);
    const expected = createHash("sha1").update(good).digest("hex").slice(0, 32);
    expect(outcomes[0]?.kind === "event" && outcomes[0].event.event_id).toBe(expected);
    expect(canonicalRow(["a,b", 'q"', "x"])).toBe('"a,b","q""",x');
    expect(eventIdOf(canonicalRow(["a,b", "c"]))).not.toBe(eventIdOf(canonicalRow(["a", "b,c"])));
  });

  it("reads the short form, with missing fields empty or null", () => {
    const { outcomes, validator } = run(
      "user_id,event_type,product_id,price,timestamp\n1515915625519388267,cart,5,9.99,2019-10-01T10:00:00+02:00\n",
    );
    const o = outcomes[0];
    if (o?.kind !== "event") throw new Error("expected an event");
    expect(o.event).toMatchObject({
      user_id: "1515915625519388267",
      event_type: "cart",
      event_time: "2019-10-01T08:00:00.000Z",
      category_id: "",
      category_code: null,
      brand: null,
      user_session: "",
    });
    expect(validator.counts.sent).toBe(1);
  });

  it("reads any header through --map", () => {
    const { outcomes } = run(
      "when,what,sku,customer,amount,extra\n2019-10-01 00:00:00,view,7,42,3.50,ignored\n",
      "when=event_time,what=event_type,sku=product_id,customer=user_id,amount=price",
    );
    expect(outcomes[0]?.kind === "event" && outcomes[0].event).toMatchObject({
      product_id: "7",
      user_id: "42",
      price: 3.5,
    });
  });
});

describe("DuplicateWindow", () => {
  it("remembers exactly the last N ids", () => {
    const w = new DuplicateWindow(2);
    expect([w.check("a"), w.check("b"), w.check("a"), w.check("c"), w.check("a"), w.check("c")]).toEqual([
      false,
      false,
      true,
      false,
      false,
      true,
    ]);
  });
});

describe("resolveHeader", () => {
  it("recognises REES46 and the short form", () => {
    expect(resolveHeader(REES46.split(","), "f").format).toBe("rees46");
    expect(resolveHeader("user_id,event_type,product_id,price,timestamp".split(","), "f").format).toBe(
      "short",
    );
  });
  it("refuses a header without a required column, naming it", () => {
    expect(() => resolveHeader("event_time,event_type,product_id,user_id".split(","), "f.csv")).toThrow(
      /lacks required column\(s\) price/,
    );
  });
  it("refuses a bad --map", () => {
    expect(() => parseMapOption("ts=when")).toThrow(/--map/);
    expect(() => resolveHeader(["a"], "f", parseMapOption("b=price"))).toThrow(/--map names column/);
  });
});

describe("jsonString", () => {
  it("equals JSON.stringify on plain, escaped, control, unicode and surrogate text", () => {
    const samples = [
      "",
      "apple",
      "1515915625519388267",
      "electronics.smartphone",
      'say "hi"',
      "back\\slash",
      "tab\there",
      "line\nbreak",
      "\u0000\u001f\u007f",
      "Löwe бренд 😀",
      "\ud83d",
      "x\udc00y",
      "\u2028\u2029",
      "</script>",
    ];
    for (let c = 0; c < 0x10000; c += 7) samples.push(`a${String.fromCharCode(c)}b`);
    for (const s of samples) expect(jsonString(s), JSON.stringify(s)).toBe(JSON.stringify(s));
  });
});
