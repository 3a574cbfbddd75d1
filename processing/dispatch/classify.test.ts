import { describe, expect, it } from "vitest";
import { dlqMessageKey } from "../../core/names.ts";
import { classify, dlqRecord } from "./classify.ts";

describe("classify", () => {
  const good = {
    event_id: "0123456789abcdef0123456789abcdef",
    event_time: "2019-10-01T00:00:00.000Z",
    event_type: "purchase",
    product_id: "1",
    category_id: "2",
    category_code: null,
    brand: "apple",
    price: 12.5,
    user_id: "5",
    user_session: "s",
    source: { file: "f.csv", line: 2 },
  };

  it("parses an event once and gives the cutter the event and no DLQ record", () => {
    const m = classify(7, Buffer.from(JSON.stringify(good)));
    expect(m).toEqual({ offset: 7, event: good });
    expect(dlqRecord("events", 3, m)).toBeUndefined();
  });

  it("a message that is not an event: a DLQ record keyed by topic, partition and offset, with the raw text and the reason", () => {
    for (const [value, detail] of [
      [Buffer.from("not json"), "value is not JSON"],
      [null, "message has no value"],
      [Buffer.from(JSON.stringify({ ...good, price: -1 })), "price is not a number >= 0"],
    ] as const) {
      const m = classify(11, value);
      expect(m.event).toBeUndefined();
      const record = dlqRecord("events", 3, m);
      expect(record?.key).toBe(dlqMessageKey("events", 3, 11));
      expect(JSON.parse(record?.value ?? "{}")).toEqual({
        source: { topic: "events", partition: 3, offset: 11 },
        raw: value === null ? null : value.toString("utf8"),
        reason: "invalid_event",
        detail,
      });
    }
  });
});
