import { describe, expect, it } from "vitest";
import { customersNamed, type DlqMessage, planDlqRewrite } from "./dlq.ts";

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
