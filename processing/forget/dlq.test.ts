import { describe, expect, it } from "vitest";
import type { CommittedRecord } from "../../core/kafka/index.ts";
import { customersNamed, type DlqMessage, planDlqRewrite } from "./dlq.ts";
import { holdsInOrder } from "./dlq-kafka.ts";

const event = (user: string) =>
  JSON.stringify({ event_id: "e", user_id: user, event_type: "view", price: 1, product_id: "512475445" });
const processing = (user: string) =>
  JSON.stringify({
    source: { topic: "t", partition: 0, offset: 3 },
    raw: event(user),
    reason: "sink_refused",
  });
const ingest = (raw: string) =>
  JSON.stringify({ file: "f.csv", line: 7, raw, reason: "bad_price", detail: "x" });

describe("forget: DLQ records naming a customer", () => {
  it("a message of the events topic names its user_id only", () => {
    expect(customersNamed(processing("518514099"))).toEqual(["518514099"]);
    expect(customersNamed(Buffer.from(processing("518514099")))).toEqual(["518514099"]);
    // A JSON raw value without a user_id (an invalid event) names nobody.
    expect(customersNamed(JSON.stringify({ raw: '{"event_id":1}', reason: "invalid_event" }))).toEqual([]);
  });

  it("a refused CSV row names each of its fields, quoted or not", () => {
    const raw =
      '2019-10-01 00:00:00 UTC,view,44600062,2103807459595387724,,"shiseido, inc",abc,518514099,s-1';
    const named = customersNamed(ingest(raw));
    expect(named).toContain("518514099");
    expect(named).toContain("shiseido, inc");
    expect(named).not.toContain("51851409");
  });

  it("a row whose quoting is broken is searched as text between separators", () => {
    const named = customersNamed(ingest('2019-10-01,view,"44600062,518514099,s-1'));
    expect(named).toContain("518514099");
  });

  it("what is not a capline DLQ record names nobody", () => {
    expect(customersNamed(null)).toEqual([]);
    expect(customersNamed("not json")).toEqual([]);
    expect(customersNamed(JSON.stringify({ raw: 12 }))).toEqual([]);
    expect(customersNamed(JSON.stringify(null))).toEqual([]);
  });

  it("the rewrite keeps every other record before the last one dropped, in order", () => {
    const m = (offset: number, value: string): DlqMessage => ({
      offset,
      key: null,
      value: Buffer.from(value),
    });
    const records = [
      m(10, processing("a")),
      m(11, processing("x")),
      m(13, ingest("1,view,x,9")),
      m(14, processing("b")),
      m(15, processing("x")),
      m(16, processing("c")),
    ];
    const isForgotten = (u: string) => u === "x";
    expect(planDlqRewrite(records, isForgotten)).toEqual({
      dropped: [11, 13, 15],
      keep: [records[0], records[3]],
      deleteBefore: 16,
    });
    expect(planDlqRewrite(records, () => false)).toBeUndefined();
    expect(planDlqRewrite([], isForgotten)).toBeUndefined();
  });
});

describe("forget: finding a killed run's copies in a DLQ partition", () => {
  const r = (offset: number, value: string, timestamp = 1000 + offset): CommittedRecord => ({
    offset,
    key: Buffer.from("shop.csv"),
    value: Buffer.from(value),
    timestamp,
  });
  const keep = [r(1, "a"), r(2, "b"), r(4, "c")];

  it("finds them in order among what others appended meanwhile", () => {
    const after = [
      r(20, "z", 9),
      { ...keep[0], offset: 21 },
      r(22, "y", 9),
      { ...keep[1], offset: 23 },
      { ...keep[2], offset: 24 },
    ];
    expect(holdsInOrder(after as CommittedRecord[], keep)).toBe(true);
    expect(holdsInOrder([], [])).toBe(true);
  });

  it("not when one is missing, out of order, or only equal in value (another time: another record)", () => {
    const moved = (x: CommittedRecord, offset: number) => ({ ...x, offset });
    const [a, b, c] = keep as [CommittedRecord, CommittedRecord, CommittedRecord];
    expect(holdsInOrder([moved(a, 20), moved(c, 21)], keep)).toBe(false);
    expect(holdsInOrder([moved(b, 20), moved(a, 21), moved(c, 22)], keep)).toBe(false);
    expect(holdsInOrder([moved(a, 20), moved(b, 21), { ...moved(c, 22), timestamp: 5 }], keep)).toBe(false);
    expect(holdsInOrder([moved(a, 20), moved(b, 21), { ...moved(c, 22), key: null }], keep)).toBe(false);
  });
});
