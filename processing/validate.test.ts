import { describe, expect, it } from "vitest";
import { jobBackoffMs } from "./retry.ts";
import { generateEvents } from "./test/events.ts";
import { checkEvent } from "./validate.ts";

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
  it.each([
    [{ user_id: "u".repeat(513) }, "id_too_long", "user_id is 513 bytes"],
    // 171 three-byte characters: 171 units, 513 bytes.
    [{ user_id: "€".repeat(171) }, "id_too_long", "user_id is 513 bytes"],
    [{ event_time: "+010000-01-01T00:00:00.000Z" }, "out_of_range", "event_time"],
    [{ event_time: "-000001-12-31T00:00:00.000Z" }, "out_of_range", "event_time"],
    [{ price: 1e14 }, "out_of_range", "price"],
    [{ price: 1e307 }, "out_of_range", "price"],
    [{ source: { file: "f.csv", line: 1.5 } }, "out_of_range", "source.line"],
    [{ source: { file: "f.csv", line: -1 } }, "out_of_range", "source.line"],
  ])("refuses %j as %s: no sink could hold it", (change, reason, detail) => {
    const checked = checkEvent(JSON.stringify({ ...good, ...change }));
    expect(checked).toMatchObject({ ok: false, reason });
    if (!checked.ok) expect(checked.detail).toContain(detail);
  });
  it.each([
    [{ user_id: "u".repeat(512) }],
    [{ user_id: "€".repeat(170) }],
    [{ event_time: "0000-01-01T00:00:00.000Z" }],
    [{ event_time: "9999-12-31T23:59:59.999Z" }],
    [{ price: 90_071_992_547_409.91 }],
  ])("accepts %j, at the limits", (change) => {
    expect(checkEvent(JSON.stringify({ ...good, ...change })).ok).toBe(true);
  });
});

describe("jobBackoffMs", () => {
  it("doubles from 250 ms, stops at 30 s, and is jittered within the upper half", () => {
    const low = () => 0;
    const high = () => 1;
    expect([1, 2, 3, 8, 20, 1000].map((n) => jobBackoffMs(n, high))).toEqual([
      250, 500, 1000, 30_000, 30_000, 30_000,
    ]);
    expect([1, 2, 3, 8, 20, 1000].map((n) => jobBackoffMs(n, low))).toEqual([
      125, 250, 500, 15_000, 15_000, 15_000,
    ]);
    expect(jobBackoffMs(0, high)).toBe(250);
  });
});
