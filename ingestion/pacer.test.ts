import { describe, expect, it } from "vitest";
import { Pacer } from "./pacer.ts";

describe("Pacer", () => {
  it("is inactive without --rate or --replay-speed", () => {
    const p = new Pacer(undefined, undefined, () => 0);
    expect(p.active).toBe(false);
    expect(p.delayFor("2019-10-01T00:00:00.000Z")).toBe(0);
  });

  it("spaces events by 1/rate seconds (--rate)", () => {
    let now = 1_000;
    const p = new Pacer(100, undefined, () => now);
    expect(p.delayFor("2019-10-01T00:00:00.000Z")).toBe(0);
    expect(p.delayFor("2019-10-01T00:00:00.000Z")).toBe(10);
    now += 10;
    expect(p.delayFor("2019-10-01T00:00:00.000Z")).toBe(10);
    now += 1_000; // fell behind: no waiting until caught up
    expect(p.delayFor("2019-10-01T00:00:00.000Z")).toBe(0);
  });

  it("follows event time divided by the speed (--replay-speed 60: an hour per minute)", () => {
    let now = 0;
    const p = new Pacer(undefined, 60, () => now);
    expect(p.delayFor("2019-10-01T00:00:00.000Z")).toBe(0);
    expect(p.delayFor("2019-10-01T01:00:00.000Z")).toBe(60_000);
    now = 30_000;
    expect(p.delayFor("2019-10-01T00:30:00.000Z")).toBe(0);
    // Out-of-order (earlier) events go at once.
    expect(p.delayFor("2019-09-30T23:00:00.000Z")).toBe(0);
  });

  it("takes the larger wait when both limits apply", () => {
    const p = new Pacer(1, 3600, () => 0);
    p.delayFor("2019-10-01T00:00:00.000Z");
    expect(p.delayFor("2019-10-01T00:00:01.000Z")).toBe(1_000);
    expect(p.delayFor("2019-10-01T10:00:00.000Z")).toBe(10_000);
  });
});
