import { describe, expect, it } from "vitest";
import type { CaplineEvent } from "../core/schema/events.ts";
import { CsvParser, parseMapOption, RowValidator, resolveHeader, rowLimits } from "../ingestion/index.ts";
import type { FileHeader } from "./read.ts";
import type { RefusedRow } from "./records.ts";
import { refusedIdentity } from "./records.ts";
import { planReplay } from "./replay-plan.ts";

const FILE_ID = "a".repeat(64);
const HEADER = ["time", "kind", "sku", "cat", "code", "brand", "amount", "customer", "session"];
const RIGHT =
  "time=event_time,kind=event_type,sku=product_id,cat=category_id,code=category_code,amount=price,customer=user_id,session=user_session";
/** Price and category code swapped: every row with a code fails bad_price, every other missing_field. */
const WRONG =
  "time=event_time,kind=event_type,sku=product_id,cat=category_id,code=price,amount=category_code,customer=user_id,session=user_session";
const limits = rowLimits(undefined, Date.parse("2026-01-01T00:00:00Z"));

/** A small custom-header file: good rows, an exact duplicate, rows bad whatever the mapping. */
function fileText(): string {
  const rows = [HEADER.join(",")];
  const types = ["view", "cart", "purchase", "remove_from_cart"];
  for (let i = 0; i < 40; i++) {
    const code = i % 3 === 0 ? "" : `electronics.item${i % 4}`;
    rows.push(
      `2019-10-0${1 + (i % 5)} 0${i % 10}:00:0${i % 7},${types[i % 4]},${1000 + (i % 9)},77,${code},brand${i % 2},${(i * 1.25).toFixed(2)},u${i % 6},s${i % 11}`,
    );
    if (i === 7) rows.push(rows[rows.length - 1] as string); // an exact duplicate row
  }
  rows.push("2019-13-45 00:00:00,view,1,2,,b,1.00,u1,s1"); // bad_timestamp whatever the mapping
  rows.push('"quoted, with a comma",view,1,2,,b,1.00,u1,s1'); // bad_timestamp, quoted field
  rows.push("2019-10-01 00:00:00,view,1,2"); // malformed_row (field count)
  rows.push("2019-10-01 00:00:00,look,1,2,,b,1.00,u1,s1"); // bad_event_type
  return `${rows.join("\n")}\n`;
}

/** What `capline ingest` does with the file under `map`: events and DLQ rows (with the file id). */
function ingest(text: string, map: string) {
  const parser = new CsvParser();
  const records = [...parser.push(text), ...parser.end()];
  const [header, ...rows] = records;
  const columns = resolveHeader(header?.fields ?? [], "data/shop.csv", parseMapOption(map));
  const validator = new RowValidator(columns, "data/shop.csv", 20_000, limits);
  const events: CaplineEvent[] = [];
  const values: string[] = [];
  const refused: RefusedRow[] = [];
  for (const record of rows) {
    const outcome = validator.process(record);
    if (outcome.kind === "event") {
      events.push(outcome.event);
      values.push(outcome.value);
    } else if (outcome.kind === "reject")
      refused.push({
        kind: "refused",
        partition: 0,
        offset: refused.length,
        day: "2026-12-01",
        fileId: FILE_ID,
        ...outcome.row,
      });
  }
  return { events, values, refused, counts: validator.counts };
}

const headers = new Map<string, FileHeader>([
  [FILE_ID, { file: "data/shop.csv", header: HEADER, map: WRONG }],
]);

describe("planReplay", () => {
  it("sends, after the mapping is fixed, exactly the events a clean ingest of the corrected file sends", () => {
    const wrong = ingest(fileText(), WRONG);
    const clean = ingest(fileText(), RIGHT);
    expect(wrong.events).toHaveLength(0); // the swap refuses every row
    expect(clean.events.length).toBeGreaterThan(30);
    const [plan] = planReplay({
      rows: wrong.refused,
      headers,
      replayed: () => false,
      map: RIGHT,
      limits,
      duplicateWindow: 20_000,
    });
    expect(plan?.send.map((e) => e.value)).toEqual(clean.values);
    expect(plan?.send.map((e) => e.eventId)).toEqual(clean.events.map((e) => e.event_id));
    expect(plan?.duplicates).toHaveLength(clean.counts.duplicates);
    expect(plan?.format).toBe("mapped");
    // What still fails is what a clean ingest refuses, by reason (the malformed row is not validated again).
    const { malformed_row, ...others } = clean.counts.rejectedByReason;
    expect(plan?.notReplayable.malformed_row).toBe(malformed_row);
    expect(plan?.stillFailing).toEqual({ ...others, malformed_row: 0 });
    expect(plan?.failingExamples[0]).toMatchObject({ reason: "bad_timestamp" });
  });

  it("without --map uses the ingest's own mapping: nothing passes, nothing is sent", () => {
    const wrong = ingest(fileText(), WRONG);
    const [plan] = planReplay({
      rows: wrong.refused,
      headers,
      replayed: () => false,
      map: undefined,
      limits,
      duplicateWindow: 20_000,
    });
    expect(plan?.send).toHaveLength(0);
    const still = plan?.stillFailing;
    expect((still?.bad_price ?? 0) + (still?.missing_field ?? 0)).toBeGreaterThan(30);
  });

  it("skips the rows already replayed, and still sees them for the duplicate window", () => {
    const wrong = ingest(fileText(), WRONG);
    const clean = ingest(fileText(), RIGHT);
    const first = planReplay({
      rows: wrong.refused,
      headers,
      replayed: () => false,
      map: RIGHT,
      limits,
      duplicateWindow: 20_000,
    })[0];
    // Say the first half was sent (and its transaction committed) before a kill -9.
    const sent = new Set(first?.send.slice(0, 20).map((e) => e.identity));
    const rerun = planReplay({
      rows: wrong.refused,
      headers,
      replayed: (id) => sent.has(id),
      map: RIGHT,
      limits,
      duplicateWindow: 20_000,
    })[0];
    expect(rerun?.alreadyReplayed).toBe(20);
    expect([...sent, ...(rerun?.send.map((e) => e.identity) ?? [])]).toEqual(
      first?.send.map((e) => e.identity),
    );
    // The duplicate of a row sent before the kill stays a duplicate.
    expect(rerun?.duplicates).toHaveLength(clean.counts.duplicates);
  });

  it("a raised bound lets rows through with ids independent of the bound", () => {
    const text = `${["event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session", "1985-06-01 10:00:00,view,1,2,,b,3.50,u1,s1", "2019-10-01 10:00:00,view,1,2,,b,3.50,u1,s1"].join("\n")}\n`;
    const parser = new CsvParser();
    const [header, ...rows] = [...parser.push(text), ...parser.end()];
    const columns = resolveHeader(header?.fields ?? [], "old.csv");
    const strict = new RowValidator(columns, "old.csv", 100, limits);
    const outcome = strict.process(rows[0] as NonNullable<(typeof rows)[0]>);
    expect(outcome.kind).toBe("reject");
    if (outcome.kind !== "reject") return;
    const widened = { ...limits, eventTimeMin: "1980-01-01T00:00:00.000Z" };
    const [plan] = planReplay({
      rows: [
        { kind: "refused", partition: 0, offset: 0, day: "2026-12-01", fileId: FILE_ID, ...outcome.row },
      ],
      headers: new Map([[FILE_ID, { file: "old.csv", header: header?.fields ?? [], map: undefined }]]),
      replayed: () => false,
      map: undefined,
      limits: widened,
      duplicateWindow: 100,
    });
    const clean = new RowValidator(columns, "old.csv", 100, widened).process(
      rows[0] as NonNullable<(typeof rows)[0]>,
    );
    expect(clean.kind).toBe("event");
    expect(plan?.send.map((e) => e.value)).toEqual([clean.kind === "event" ? clean.value : ""]);
  });

  it("refuses to guess: no header on record, a cut raw text, a mapping that does not fit", () => {
    const row: RefusedRow = {
      kind: "refused",
      partition: 0,
      offset: 0,
      day: "2026-12-01",
      file: "x.csv",
      fileId: undefined,
      line: 2,
      raw: "a,b",
      reason: "bad_price",
      detail: "",
    };
    const base = { headers, replayed: () => false, map: undefined, limits, duplicateWindow: 10 };
    expect(planReplay({ ...base, rows: [row] })[0]?.notReplayable.no_header).toBe(1);
    const cut = {
      ...row,
      fileId: FILE_ID,
      raw: "x".repeat(4096),
      detail: "price (raw text cut to its first 4096 of 9000 characters)",
    };
    expect(planReplay({ ...base, rows: [cut] })[0]?.notReplayable.raw_cut).toBe(1);
    expect(() => planReplay({ ...base, rows: [{ ...row, fileId: FILE_ID }], map: "nosuch=price" })).toThrow(
      /--map does not fit x.csv's header: --map names column\(s\) nosuch/,
    );
    expect(refusedIdentity({ ...row, fileId: FILE_ID })).toBe(`${FILE_ID}:2`);
  });
});
