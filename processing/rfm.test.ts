import { describe, expect, it } from "vitest";
import { quintileScores, SEGMENTS, scoreRfm, segmentOf } from "./rfm.ts";

describe("quintileScores", () => {
  it("splits distinct values into five equal groups", () => {
    expect(quintileScores([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    expect(quintileScores([10, 9, 8, 7, 6, 5, 4, 3, 2, 1])).toEqual([5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
  });
  it("gives ties one score whatever the input order", () => {
    expect(quintileScores([1, 1, 1, 1, 1, 1, 1, 1, 2, 3])).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 5, 5]);
    expect(quintileScores([3, 1, 2, 1])).toEqual([4, 1, 3, 1]);
  });
  it("handles one value", () => {
    expect(quintileScores([42])).toEqual([1]);
  });
});

describe("segmentOf", () => {
  it("maps every (R, F) cell to one of the documented segments", () => {
    const grid: Record<number, string[]> = {
      5: ["New", "Potential loyalist", "Potential loyalist", "Champions", "Champions"],
      4: ["Promising", "Potential loyalist", "Potential loyalist", "Loyal", "Loyal"],
      3: ["Need attention", "Need attention", "Need attention", "Loyal", "Loyal"],
      2: ["Hibernating", "Hibernating", "At risk", "At risk", "At risk"],
      1: ["Lost", "Hibernating", "At risk", "At risk", "At risk"],
    };
    for (let r = 1; r <= 5; r++)
      for (let f = 1; f <= 5; f++) {
        expect(segmentOf(r, f)).toBe(grid[r]?.[f - 1]);
        expect(SEGMENTS).toContain(segmentOf(r, f));
      }
  });
});

describe("scoreRfm", () => {
  const day = 86_400_000;
  const asOf = Date.parse("2019-11-30T12:00:00Z");
  it("measures recency from the data's newest event and scores purchasers", () => {
    const customers = Array.from({ length: 10 }, (_, i) => ({
      user_id: `u${i}`,
      lastPurchaseMs: asOf - i * 10 * day - 1,
      frequency: i + 1,
      monetaryCents: (10 - i) * 1000,
    }));
    const scores = scoreRfm(customers, asOf);
    expect(scores.map((s) => s.recency_days)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(scores.map((s) => s.r)).toEqual([5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
    expect(scores.map((s) => s.f)).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    expect(scores.map((s) => s.m)).toEqual([5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
    expect(scores[0]).toMatchObject({ rfm_score: "515", segment: "New" });
    expect(scores[9]).toMatchObject({ rfm_score: "151", segment: "At risk" });
  });
  it("returns nothing without purchasers", () => {
    expect(scoreRfm([], asOf)).toEqual([]);
  });
});
