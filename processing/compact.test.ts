import { describe, expect, it } from "vitest";
import { lakeKey } from "../core/names.ts";
import { mergeLakeFiles, planCompaction } from "./compact.ts";
import type { RangeEvent } from "./lake.ts";
import { encodeParquet } from "./parquet.ts";
import { generateEvents } from "./test/events.ts";
import { readAllRows } from "./test/lake-rows.ts";

const T = "ev";
const f = (p: number, a: number, b: number, size = 10, dt = "2019-10-01") => ({
  key: lakeKey(dt, T, p, a, b),
  size,
});

describe("planCompaction", () => {
  it("merges consecutive committed files of each partition into one spanning name", () => {
    const files = [f(0, 0, 99), f(0, 100, 180), f(0, 230, 299), f(1, 5, 50), f(1, 51, 70)];
    const plan = planCompaction(
      files,
      T,
      new Map([
        [0, 300],
        [1, 71],
      ]),
      1000,
    );
    expect(plan.leftovers).toEqual([]);
    expect(plan.merges).toEqual([
      {
        partition: 0,
        output: lakeKey("2019-10-01", T, 0, 0, 299),
        inputs: [f(0, 0, 99).key, f(0, 100, 180).key, f(0, 230, 299).key],
      },
      {
        partition: 1,
        output: lakeKey("2019-10-01", T, 1, 5, 70),
        inputs: [f(1, 5, 50).key, f(1, 51, 70).key],
      },
    ]);
  });

  it("never merges past the committed offset: a range still in flight could fill the gap", () => {
    const files = [f(0, 0, 99), f(0, 100, 199), f(0, 300, 399)];
    const plan = planCompaction(files, T, new Map([[0, 250]]), 1000);
    expect(plan.merges.map((m) => m.output)).toEqual([lakeKey("2019-10-01", T, 0, 0, 199)]);
    expect(planCompaction(files, T, new Map(), 1000).merges).toEqual([]);
  });

  it("removes files covered by a merged file first (leftovers of a killed run), then merges the rest", () => {
    const files = [f(0, 0, 299), f(0, 0, 99), f(0, 200, 299), f(0, 300, 310)];
    const plan = planCompaction(files, T, new Map([[0, 400]]), 1000);
    expect(plan.leftovers.sort()).toEqual([f(0, 0, 99).key, f(0, 200, 299).key].sort());
    expect(plan.merges).toEqual([
      {
        partition: 0,
        output: lakeKey("2019-10-01", T, 0, 0, 310),
        inputs: [f(0, 0, 299).key, f(0, 300, 310).key],
      },
    ]);
  });

  it("is idempotent: one file per partition plans nothing; groups are cut at the target size; other topics are left alone", () => {
    expect(planCompaction([f(0, 0, 299)], T, new Map([[0, 400]]), 1000)).toEqual({
      leftovers: [],
      merges: [],
    });
    const files = [f(0, 0, 9, 40), f(0, 10, 19, 40), f(0, 20, 29, 40), f(0, 30, 39, 40)];
    expect(planCompaction(files, T, new Map([[0, 40]]), 100).merges.map((m) => m.output)).toEqual([
      lakeKey("2019-10-01", T, 0, 0, 19),
      lakeKey("2019-10-01", T, 0, 20, 39),
    ]);
    expect(
      planCompaction(
        [{ ...f(0, 0, 9), key: lakeKey("2019-10-01", "other", 0, 0, 9) }, f(0, 10, 19)],
        T,
        new Map([[0, 40]]),
        100,
      ).merges,
    ).toEqual([]);
  });
});

describe("mergeLakeFiles", () => {
  it("keeps every row and column exactly, in offset order, as DuckDB reads them", async () => {
    const events = generateEvents(900, 3, 30, 1);
    const rows: RangeEvent[] = events.map((event, i) => ({ offset: 1000 + i, event }));
    const parts = [rows.slice(0, 300), rows.slice(300, 301), rows.slice(301)];
    const inputs = await Promise.all(parts.map((p) => encodeParquet(2, p)));
    // Inputs in any order.
    const merged = await mergeLakeFiles(2, [inputs[2], inputs[0], inputs[1]] as Buffer[]);
    const before = await readAllRows(new Map(inputs.map((b, i) => [`in${i}`, b])));
    const after = await readAllRows(new Map([["merged", merged]]));
    expect(after.map((r) => r.json)).toEqual(before.map((r) => r.json));
    expect(after).toHaveLength(900);
    expect(after.map((r) => r.offset)).toEqual(rows.map((r) => r.offset));
    expect(before.some((r) => r.json.includes('"brand":null'))).toBe(true);
  });

  it("refuses inputs that hold the same offset twice", async () => {
    const rows: RangeEvent[] = generateEvents(5, 4, 3, 1).map((event, i) => ({ offset: i, event }));
    const a = await encodeParquet(0, rows);
    await expect(mergeLakeFiles(0, [a, a])).rejects.toThrow(/in two of the files/);
  });
});
