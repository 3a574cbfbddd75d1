import { describe, expect, it } from "vitest";
import type { CaplineEvent } from "../core/schema/events.ts";
import { classify } from "./dispatch/classify.ts";
import { decodePayload, encodePayload } from "./jobs.ts";
import type { RangeEvent } from "./lake.ts";
import { SharedStrings } from "./shared-strings.ts";
import { generateEvents } from "./test/events.ts";

const rows = (events: CaplineEvent[]): RangeEvent[] => events.map((event, i) => ({ offset: 100 + i, event }));

describe("events decoded together share their repeated strings", () => {
  it("changes no value: a range's payload decodes to the events that were stored, nulls included", () => {
    const events = generateEvents(2_000, 7);
    for (const [i, e] of events.entries()) {
      if (i % 3 === 0) e.brand = null;
      if (i % 5 === 0) e.category_code = null;
    }
    const stored = structuredClone(rows(events));
    expect(decodePayload(encodePayload(stored))).toEqual(stored);
  });

  it("leaves a checked message's event as it was sent", () => {
    const event = generateEvents(1, 3)[0] as CaplineEvent;
    const strings = new SharedStrings();
    const first = classify(5, Buffer.from(JSON.stringify({ ...event, brand: null })), strings);
    const second = classify(6, Buffer.from(JSON.stringify(event)), strings);
    expect(first.event).toEqual({ ...event, brand: null });
    expect(second.event).toEqual(event);
  });
});
