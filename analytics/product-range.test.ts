import { describe, expect, it } from "vitest";
import { foldCells } from "./math.ts";
import { periodStart, splitDays } from "./product-range.ts";

const t = (s: string) => Date.parse(s);
const H = 3_600_000;
const D = 24 * H;

describe("splitDays: whole days and partial edge days of a range", () => {
  it("keeps whole-day and open ranges whole", () => {
    expect(splitDays({})).toEqual({ whole: {}, edges: [] });
    expect(splitDays({ from: t("2019-10-03T00:00Z"), to: t("2019-10-10T00:00Z") })).toEqual({
      whole: { from: t("2019-10-03T00:00Z"), to: t("2019-10-10T00:00Z") },
      edges: [],
    });
    expect(splitDays({ to: t("2019-10-10T00:00Z") })).toEqual({
      whole: { to: t("2019-10-10T00:00Z") },
      edges: [],
    });
  });
  it("cuts partial first and last days off", () => {
    expect(splitDays({ from: t("2019-10-04T06:00Z"), to: t("2019-10-11T18:00Z") })).toEqual({
      whole: { from: t("2019-10-05T00:00Z"), to: t("2019-10-11T00:00Z") },
      edges: [
        { day: t("2019-10-04T00:00Z"), from: 6, to: 24 },
        { day: t("2019-10-11T00:00Z"), from: 0, to: 18 },
      ],
    });
    expect(splitDays({ from: t("2019-10-04T06:00Z") })).toEqual({
      whole: { from: t("2019-10-05T00:00Z") },
      edges: [{ day: t("2019-10-04T00:00Z"), from: 6, to: 24 }],
    });
    expect(splitDays({ to: t("2019-10-04T01:00Z") })).toEqual({
      whole: { to: t("2019-10-04T00:00Z") },
      edges: [{ day: t("2019-10-04T00:00Z"), from: 0, to: 1 }],
    });
  });
  it("a range inside one day, or across one midnight, has no whole day", () => {
    expect(splitDays({ from: t("2019-10-04T06:00Z"), to: t("2019-10-04T07:00Z") })).toEqual({
      whole: null,
      edges: [{ day: t("2019-10-04T00:00Z"), from: 6, to: 7 }],
    });
    expect(splitDays({ from: t("2019-10-04T06:00Z"), to: t("2019-10-05T00:00Z") })).toEqual({
      whole: null,
      edges: [{ day: t("2019-10-04T00:00Z"), from: 6, to: 24 }],
    });
    expect(splitDays({ from: t("2019-10-04T00:00Z"), to: t("2019-10-04T18:00Z") })).toEqual({
      whole: null,
      edges: [{ day: t("2019-10-04T00:00Z"), from: 0, to: 18 }],
    });
    expect(splitDays({ from: t("2019-10-04T23:00Z"), to: t("2019-10-05T01:00Z") })).toEqual({
      whole: null,
      edges: [
        { day: t("2019-10-04T00:00Z"), from: 23, to: 24 },
        { day: t("2019-10-05T00:00Z"), from: 0, to: 1 },
      ],
    });
  });
  it("covers every hour of the range exactly once (exhaustive over two weeks of hour pairs)", () => {
    const base = t("2019-10-01T00:00Z");
    for (let a = 0; a < 14 * 24; a += 5)
      for (let b = a + 1; b <= 14 * 24; b += 7) {
        const from = base + a * H;
        const to = base + b * H;
        const { whole, edges } = splitDays({ from, to });
        const hours: number[] = [];
        if (whole) for (let ms = whole.from ?? 0; ms < (whole.to ?? 0); ms += H) hours.push(ms);
        for (const e of edges) for (let h = e.from; h < e.to; h++) hours.push(e.day + h * H);
        hours.sort((x, y) => x - y);
        expect(hours, `${a}..${b}`).toEqual(Array.from({ length: b - a }, (_, i) => from + i * H));
        if (whole) expect([whole.from, whole.to].every((x) => x === undefined || x % D === 0)).toBe(true);
      }
  });
});

describe("periodStart", () => {
  it("hour, day, ISO week (Monday) and month, UTC", () => {
    const ms = t("2019-10-06T13:45:00Z"); // a Sunday
    expect(new Date(periodStart(ms, "hour")).toISOString()).toBe("2019-10-06T13:00:00.000Z");
    expect(new Date(periodStart(ms, "day")).toISOString()).toBe("2019-10-06T00:00:00.000Z");
    expect(new Date(periodStart(ms, "week")).toISOString()).toBe("2019-09-30T00:00:00.000Z");
    expect(new Date(periodStart(t("2019-09-30T00:00Z"), "week")).toISOString()).toBe(
      "2019-09-30T00:00:00.000Z",
    );
    expect(new Date(periodStart(ms, "month")).toISOString()).toBe("2019-10-01T00:00:00.000Z");
  });
});

describe("foldCells: (day_of_week, hour_of_day) sums into the 7 × 24 grid", () => {
  it("puts each sum in its cell, Monday 00h first, and fills the rest with zeros", () => {
    const cells = foldCells([
      { day_of_week: 1, hour_of_day: 0, views: 3, carts: 1, removes: 0, purchases: 1, revenue: 9.99 },
      { day_of_week: 7, hour_of_day: 23, views: 1, carts: 0, removes: 2, purchases: 0, revenue: 0 },
      { day_of_week: 3, hour_of_day: 12, views: 0, carts: 0, removes: 0, purchases: 2, revenue: 0.3 },
    ]);
    expect(cells).toHaveLength(168);
    expect(cells[0]).toEqual({
      weekday: 0,
      hour: 0,
      events: 5,
      views: 3,
      carts: 1,
      removes: 0,
      purchases: 1,
      revenue: 9.99,
    });
    expect(cells[167]).toMatchObject({ weekday: 6, hour: 23, events: 3, removes: 2 });
    expect(cells[2 * 24 + 12]).toMatchObject({ weekday: 2, hour: 12, purchases: 2, revenue: 0.3 });
    expect(cells.reduce((a, c) => a + c.events, 0)).toBe(10);
  });
});
