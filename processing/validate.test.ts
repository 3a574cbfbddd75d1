import { describe, expect, it } from "vitest";
import { generateEvents } from "./test/events.ts";
import { checkEvent } from "./validate.ts";
import { cappedBackoff } from "./worker.ts";

describe("checkEvent", () => {
  const good = generateEvents(1, 1)[0];
  it("accepts a canonical event", () => {
    expect(checkEvent(JSON.stringify(good))).toEqual({ ok: true, event: good });
  });
  it.each([
    [null, "no value"],
    ["not json", "not JSON"],
    ["[1]", "not a JSON object"],
    [JSON.stringify({ ...good, user_id: 5 }), "user_id is not a string"],
    [JSON.stringify({ ...good, user_id: "" }), "user_id is empty"],
    [JSON.stringify({ ...good, event_time: "yesterday" }), "event_time"],
    [JSON.stringify({ ...good, event_type: "click" }), "event_type"],
    [JSON.stringify({ ...good, price: -1 }), "price"],
    [JSON.stringify({ ...good, price: "1.00" }), "price"],
    [JSON.stringify({ ...good, brand: 3 }), "brand"],
    [JSON.stringify({ ...good, source: undefined }), "source"],
  ])("refuses %s", (value, detail) => {
    const checked = checkEvent(value);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.detail).toContain(detail);
  });
});

describe("cappedBackoff", () => {
  it("doubles from 250 ms and stops at 30 s", () => {
    expect([1, 2, 3, 7, 20, 1000].map(cappedBackoff)).toEqual([500, 1000, 2000, 30_000, 30_000, 30_000]);
    expect(cappedBackoff(0)).toBe(250);
  });
});
