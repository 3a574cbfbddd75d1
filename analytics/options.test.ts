import { describe, expect, it } from "vitest";
import { UsageError } from "../core/errors.ts";
import { dayAligned, parseParams, parseReportName, parseTime } from "./options.ts";

const utc = (s: string) => Date.parse(s);

describe("parseTime", () => {
  it("reads a date as UTC midnight, and as the end of that day for an upper bound", () => {
    expect(parseTime("2019-10-01")).toBe(utc("2019-10-01T00:00:00Z"));
    expect(parseTime("2019-10-01", true)).toBe(utc("2019-10-02T00:00:00Z"));
    expect(parseTime("2019-12-31", true)).toBe(utc("2020-01-01T00:00:00Z"));
  });

  it("reads date-times as the event files write them (UTC) and ISO-8601 with Z or an offset", () => {
    expect(parseTime("2019-10-01 13:00")).toBe(utc("2019-10-01T13:00:00Z"));
    expect(parseTime("2019-10-01 13:00:00 UTC")).toBe(utc("2019-10-01T13:00:00Z"));
    expect(parseTime("2019-10-01T13")).toBe(utc("2019-10-01T13:00:00Z"));
    expect(parseTime("2019-10-01T13:00:00.000Z")).toBe(utc("2019-10-01T13:00:00Z"));
    expect(parseTime("2019-10-01T15:00:00+02:00")).toBe(utc("2019-10-01T13:00:00Z"));
    expect(parseTime("2019-10-01T08:30-0430")).toBe(utc("2019-10-01T13:00:00Z"));
    // A date-time upper bound is taken as given (exclusive), not moved to the end of the day.
    expect(parseTime("2019-10-01 13:00", true)).toBe(utc("2019-10-01T13:00:00Z"));
  });

  it("refuses what is not a real time", () => {
    for (const bad of [
      "",
      "2019-13-01",
      "2019-02-30",
      "2019-10-01 24:00",
      "2019-10-01 12:60",
      "1569888000",
      "2019/10/01",
      "01-10-2019",
      "yesterday",
      "2019-10-01T10:00+25:00",
    ])
      expect(parseTime(bad), bad).toBeUndefined();
  });
});

describe("parseParams", () => {
  it("has defaults", () => {
    expect(parseParams({})).toEqual({
      top: 10,
      by: "day",
      metric: "total_spent",
      sort: "revenue",
      compare: "previous",
    });
  });

  it("keeps valid values", () => {
    const p = parseParams({
      from: "2019-10-01",
      to: "2019-10-07",
      top: 3,
      by: "week",
      split: "brand",
      metric: "purchases",
      sort: "views",
      category: "electronics.smartphone",
      compare: "none",
    });
    expect(p).toEqual({
      from: utc("2019-10-01T00:00:00Z"),
      to: utc("2019-10-08T00:00:00Z"),
      top: 3,
      by: "week",
      split: "brand",
      metric: "purchases",
      sort: "views",
      category: "electronics.smartphone",
      compare: "none",
    });
  });

  it("names the flag at fault", () => {
    const cases: Array<[Parameters<typeof parseParams>[0], RegExp]> = [
      [{ from: "2019-10-32" }, /--from: "2019-10-32" is not a time/],
      [{ to: "soon" }, /--to: "soon" is not a time/],
      [{ from: "2019-10-01 10:30" }, /--from: .* not on a whole UTC hour.*2019-10-01T10:00:00.000Z/],
      [{ from: "2019-10-05", to: "2019-10-04" }, /--from .* is not before --to/],
      [{ compare: "last-year" }, /--compare: "last-year" is not valid; expected one of previous, none/],
      [{ from: "2019-10-05 10:00", to: "2019-10-05 10:00" }, /--from .* is not before --to/],
      [{ by: "year" }, /--by: "year" is not valid; expected one of hour, day, week, month/],
      [{ split: "user" }, /--split: "user"/],
      [{ metric: "state" }, /--metric: "state"/],
      [{ sort: "price" }, /--sort: "price"/],
      [{ category: " " }, /--category: empty/],
      [{ brand: "" }, /--brand: empty/],
    ];
    for (const [flags, message] of cases) {
      expect(() => parseParams(flags)).toThrow(UsageError);
      expect(() => parseParams(flags)).toThrow(message);
    }
  });

  it("a one-day range given as --from D --to D covers that day", () => {
    const p = parseParams({ from: "2019-10-05", to: "2019-10-05" });
    expect((p.to ?? 0) - (p.from ?? 0)).toBe(86_400_000);
  });
});

describe("report names and alignment", () => {
  it("lists the valid reports for an unknown name", () => {
    expect(parseReportName("funnel")).toBe("funnel");
    expect(parseReportName("all")).toBe("all");
    expect(() => parseReportName("revenu")).toThrow(
      /unknown report "revenu" \(did you mean revenue\?\); valid reports: overview, revenue,.*hourly, all/,
    );
  });

  it("uses daily aggregates only for whole-day bounds", () => {
    expect(dayAligned({})).toBe(true);
    expect(dayAligned({ from: utc("2019-10-01T00:00:00Z") })).toBe(true);
    expect(dayAligned({ from: utc("2019-10-01T00:00:00Z"), to: utc("2019-10-03T05:00:00Z") })).toBe(false);
  });
});
