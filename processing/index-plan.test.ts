import { describe, expect, it } from "vitest";
import type { DocMerge } from "./es-writer.ts";
import { planIndex } from "./index-sink.ts";
import type { RangeEvent } from "./lake.ts";
import { generateEvents, referenceProfiles, referenceSales, rng, salesFigures } from "./test/events.ts";
import type { OffsetRange } from "./watermark.ts";

/** Applies merges to an in-memory "index", as the writer does against Elasticsearch. */
function apply<D>(store: Map<string, D>, merges: DocMerge<D>[]): void {
  for (const m of merges) {
    const next = m.merge(store.get(m.id));
    if (next !== null) store.set(m.id, next);
  }
}

function cut(rows: RangeEvent[], partition: number, from: number, rand: () => number, max: number) {
  const out: Array<{ range: OffsetRange; rows: RangeEvent[] }> = [];
  const list = rows.filter((r) => r.offset >= from);
  for (let i = 0; i < list.length; ) {
    const n = 1 + Math.floor(rand() * max);
    const slice = list.slice(i, i + n);
    out.push({
      range: {
        topic: "t",
        partition,
        first: slice[0]?.offset ?? 0,
        last: slice[slice.length - 1]?.offset ?? 0,
      },
      rows: slice,
    });
    i += n;
  }
  return out;
}

describe("replays that cut a partition differently (offset reset, lost cut registry)", () => {
  for (const seed of [1, 2, 3]) {
    it(`count every event once (seed ${seed})`, () => {
      const rand = rng(seed);
      const events = generateEvents(2000, seed, 30, 5);
      // One partition, offsets with gaps (transaction markers take offsets too).
      const rows: RangeEvent[] = events.map((event, i) => ({ offset: i * 2 + (i % 7 === 0 ? 1 : 0), event }));
      const profiles = new Map();
      const daily = new Map();
      const hourly = new Map();
      const run = (ranges: Array<{ range: OffsetRange; rows: RangeEvent[] }>) => {
        for (const r of ranges) {
          const plan = planIndex(r.range, r.rows);
          apply(profiles, plan.profiles);
          apply(daily, plan.daily);
          apply(hourly, plan.hourly);
        }
      };
      // First run stops part-way; the replay starts earlier, with other boundaries, and goes on to the end.
      const first = cut(rows, 0, 0, rand, 150);
      run(first.slice(0, Math.floor(first.length / 2)));
      const replayFrom = rows[Math.floor(rand() * (rows.length / 3))]?.offset ?? 0;
      run(cut(rows, 0, replayFrom, rand, 220));
      // And a full replay from the start, cut yet another way.
      run(cut(rows, 0, 0, rand, 90));

      const want = referenceProfiles(events);
      expect(profiles.size).toBe(want.size);
      for (const [user, ref] of want) {
        const p = profiles.get(user);
        expect({
          views: p.views,
          carts: p.carts,
          removes: p.removes,
          purchases: p.purchases,
          total_spent: p.total_spent,
        }).toEqual({
          views: ref.views,
          carts: ref.carts,
          removes: ref.removes,
          purchases: ref.purchases,
          total_spent: ref.total_spent,
        });
        expect(p.sessions).toBe(ref.sessions);
      }
      for (const [store, ref] of [
        [daily, referenceSales(events)],
        [hourly, referenceSales(events, true)],
      ] as const) {
        expect(store.size).toBe(ref.size);
        for (const [id, w] of ref) {
          const d = store.get(id);
          expect(salesFigures(d)).toEqual(w);
        }
      }
    });
  }
});
