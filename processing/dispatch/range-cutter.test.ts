import { describe, expect, it } from "vitest";
import type { CaplineEvent } from "../../core/schema/events.ts";
import { rng } from "../test/events.ts";
import type { Classified } from "./classify.ts";
import { type Cut, type CutRange, RangeCutter } from "./range-cutter.ts";

/** The range cutter on its own: no service, no clock (the tests pass `now`). */

function event(offset: number): CaplineEvent {
  return {
    event_id: `id-${offset}`,
    event_time: "2019-10-01T00:00:00.000Z",
    event_type: "view",
    product_id: "1",
    category_id: "2",
    category_code: null,
    brand: null,
    price: 1,
    user_id: "u",
    user_session: "s",
    source: { file: "f.csv", line: offset + 2 },
  };
}

const ok = (offset: number): Classified => ({ offset, event: event(offset) });
const bad = (offset: number): Classified => ({
  offset,
  invalid: { reason: "invalid_event", detail: "value is not JSON", raw: "x" },
});

const span = (r: CutRange) => [r.first, r.last, r.fresh] as const;

function pushAll(cutter: RangeCutter, messages: Classified[], now = 0): CutRange[] {
  return messages.flatMap((m) => cutter.push(m, now));
}

const offsets = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("RangeCutter", () => {
  it("cuts full ranges of rangeSize messages and keeps the rest buffered until flushed", () => {
    const cutter = new RangeCutter([], 0, { rangeSize: 10, lingerMs: 300 });
    const out = pushAll(cutter, offsets(0, 24).map(ok));
    expect(out.map(span)).toEqual([
      [0, 9, true],
      [10, 19, true],
    ]);
    expect(out[0]?.rows.map((r) => r.offset)).toEqual(offsets(0, 9));
    expect(cutter.holding).toBe(true);
    const rest = cutter.flush();
    expect(rest && span(rest)).toEqual([20, 24, true]);
    expect(cutter.holding).toBe(false);
    expect(cutter.flush()).toBeUndefined();
  });

  it("counts messages that are not events in the range (size and dlq), not in its rows", () => {
    const cutter = new RangeCutter([], 0, { rangeSize: 4, lingerMs: 300 });
    const out = pushAll(cutter, [ok(0), bad(1), ok(2), bad(3), ok(4)]);
    expect(out.map(span)).toEqual([[0, 3, true]]);
    expect(out[0]?.dlq).toBe(2);
    expect(out[0]?.rows.map((r) => r.offset)).toEqual([0, 2]);
    const rest = cutter.flush();
    expect(rest).toMatchObject({ first: 4, last: 4, dlq: 0 });
  });

  it("a range of non-events only has no rows and still covers its offsets", () => {
    const cutter = new RangeCutter([], 7, { rangeSize: 10, lingerMs: 300 });
    pushAll(cutter, [bad(7), bad(8)]);
    expect(cutter.flush()).toMatchObject({ first: 7, last: 8, rows: [], dlq: 2, fresh: true });
  });

  it("keeps offset gaps (transaction markers) inside a range: first and last are message offsets", () => {
    const cutter = new RangeCutter([], 0, { rangeSize: 3, lingerMs: 300 });
    const out = pushAll(cutter, [ok(0), ok(2), ok(5), ok(6)]);
    expect(out.map(span)).toEqual([[0, 5, true]]);
    expect(cutter.flush()).toMatchObject({ first: 6, last: 6 });
  });

  it("lingers: cuts a partial range only after lingerMs without a new message, never while paused", () => {
    const cutter = new RangeCutter([], 0, { rangeSize: 100, lingerMs: 300 });
    cutter.push(ok(0), 1000);
    cutter.push(ok(1), 1200);
    expect(cutter.linger(1400, false)).toBeUndefined(); // 200 ms since the last message
    expect(cutter.linger(1600, true)).toBeUndefined(); // paused
    expect(cutter.holding).toBe(true);
    const cut = cutter.linger(1500, false);
    expect(cut && span(cut)).toEqual([0, 1, true]);
    expect(cutter.linger(99_999, false)).toBeUndefined(); // nothing left
  });

  it("an open registered cut never lingers (its messages exist and are on their way)", () => {
    const cutter = new RangeCutter([[0, 9]], 0, { rangeSize: 100, lingerMs: 300 });
    pushAll(cutter, offsets(0, 4).map(ok), 0);
    expect(cutter.linger(10_000, false)).toBeUndefined();
    expect(cutter.flush()).toBeUndefined(); // caught up mid-cut: the cut waits for the rest
    expect(cutter.holding).toBe(true);
    const out = pushAll(cutter, offsets(5, 9).map(ok), 20_000);
    expect(out.map(span)).toEqual([[0, 9, false]]);
    expect(out[0]?.rows).toHaveLength(10);
  });

  it("ignores redelivered messages (offset below the next one expected)", () => {
    const cutter = new RangeCutter([], 0, { rangeSize: 5, lingerMs: 300 });
    pushAll(cutter, offsets(0, 6).map(ok));
    const again = pushAll(cutter, offsets(3, 9).map(ok));
    // 3..6 were seen: only 7..9 count, completing the range 5..9.
    expect(again.map(span)).toEqual([[5, 9, true]]);
    expect(again[0]?.rows.map((r) => r.offset)).toEqual([5, 6, 7, 8, 9]);
    expect(cutter.redelivered).toBe(4);
    // skipTo moves the position past offsets that hold no message; never backwards.
    cutter.skipTo(12);
    cutter.skipTo(3);
    expect(cutter.position).toBe(12);
    expect(cutter.push(ok(11), 0)).toEqual([]);
    expect(cutter.redelivered).toBe(5);
  });

  it("re-creates registered cuts exactly on a replay, whatever the range size, then cuts afresh", () => {
    const cuts: Cut[] = [
      [10, 14],
      [15, 39],
    ];
    const cutter = new RangeCutter(cuts, 10, { rangeSize: 7, lingerMs: 300 });
    const out = pushAll(cutter, offsets(10, 50).map(ok));
    expect(out.map(span)).toEqual([
      [10, 14, false],
      [15, 39, false], // 25 messages: a registered cut is not split by rangeSize
      [40, 46, true],
    ]);
    expect(cutter.flush()).toMatchObject({ first: 47, last: 50, fresh: true });
  });

  it("a registered cut whose last offsets are control records closes when a later message arrives", () => {
    const cutter = new RangeCutter([[0, 9]], 0, { rangeSize: 100, lingerMs: 300 });
    const first = pushAll(cutter, [ok(0), ok(1), ok(7)]);
    expect(first).toEqual([]);
    const out = cutter.push(ok(12), 0);
    expect(out.map(span)).toEqual([[0, 9, false]]);
    expect(out[0]?.rows.map((r) => r.offset)).toEqual([0, 1, 7]);
    expect(cutter.flush()).toMatchObject({ first: 12, last: 12, fresh: true });
  });

  it("a registered cut after a message gap: it closes and the next registered cut opens on one message", () => {
    const cutter = new RangeCutter(
      [
        [0, 4],
        [5, 9],
      ],
      0,
      { rangeSize: 100, lingerMs: 300 },
    );
    // 0..2 arrive, 3..4 were aborted; 6 is the next message: [0,4] closes, 6 opens [5,9].
    pushAll(cutter, [ok(0), ok(1), ok(2)]);
    const out = cutter.push(ok(6), 0);
    expect(out.map(span)).toEqual([[0, 4, false]]);
    const rest = pushAll(cutter, [ok(9)]);
    expect(rest.map(span)).toEqual([[5, 9, false]]);
    expect(rest[0]?.rows.map((r) => r.offset)).toEqual([6, 9]);
  });

  it("skips registered cuts that lie wholly before the messages (all their offsets were control records)", () => {
    const cutter = new RangeCutter(
      [
        [3, 4],
        [5, 6],
        [20, 29],
      ],
      3,
      { rangeSize: 100, lingerMs: 300 },
    );
    const out = pushAll(cutter, offsets(8, 25).map(ok));
    expect(cutter.skippedCuts).toEqual([
      [3, 4],
      [5, 6],
    ]);
    // 8..19 are fresh (cut short by the registered cut at 20); 20..25 fill [20,29].
    expect(out.map(span)).toEqual([[8, 19, true]]);
    expect(cutter.flush()).toBeUndefined();
    expect(pushAll(cutter, [ok(29)]).map(span)).toEqual([[20, 29, false]]);
  });

  it("drops registered cuts that end before the starting offset (committed ranges not forgotten yet)", () => {
    const cutter = new RangeCutter(
      [
        [0, 9],
        [10, 19],
      ],
      20,
      { rangeSize: 100, lingerMs: 300 },
    );
    pushAll(cutter, offsets(20, 22).map(ok));
    expect(cutter.flush()).toMatchObject({ first: 20, last: 22, fresh: true });
    expect(cutter.skippedCuts).toEqual([]);
  });

  it("a rebalance mid-range: the new owner re-creates the old owner's registered cut, then cuts its own", () => {
    // Owner A registered [0,9], was filling an unregistered buffer 10..14 when the partition was
    // revoked; nothing was committed. Owner B starts at 0 with the registry, another range size.
    const a = new RangeCutter([], 0, { rangeSize: 10, lingerMs: 300 });
    const aOut = pushAll(a, offsets(0, 14).map(ok));
    expect(aOut.map(span)).toEqual([[0, 9, true]]);
    const b = new RangeCutter([[0, 9]], 0, { rangeSize: 4, lingerMs: 300 });
    const bOut = pushAll(b, offsets(0, 17).map(ok));
    expect(bOut.map(span)).toEqual([
      [0, 9, false],
      [10, 13, true],
      [14, 17, true],
    ]);
    expect(bOut[0]?.rows.map((r) => r.offset)).toEqual(aOut[0]?.rows.map((r) => r.offset));
  });

  it("refuses overlapping registered cuts and a range size below 1", () => {
    expect(
      () =>
        new RangeCutter(
          [
            [0, 9],
            [9, 12],
          ],
          0,
          { rangeSize: 5, lingerMs: 1 },
        ),
    ).toThrow(/overlap/);
    expect(() => new RangeCutter([], 0, { rangeSize: 0, lingerMs: 1 })).toThrow(/rangeSize/);
  });

  /**
   * Random streams, fetch boundaries, caught-up flushes, lingers, pauses, redeliveries and crashes:
   * run 1 cuts and registers ranges and dies at a random point; run 2 restarts from the "committed"
   * offset with the registry run 1 left. Every offset is in exactly one range of each run, ranges
   * follow each other, fresh ranges respect rangeSize, and run 2 re-creates exactly the registered
   * cuts it meets.
   */
  it("random streams: ranges partition the offsets and replays re-create registered cuts", () => {
    const rand = rng(913);
    for (let trial = 0; trial < 400; trial++) {
      const rangeSize = 1 + Math.floor(rand() * 12);
      // Messages with gaps (markers/aborted records), some not events.
      const stream: Classified[] = [];
      let offset = Math.floor(rand() * 5);
      const n = 1 + Math.floor(rand() * 120);
      for (let i = 0; i < n; i++) {
        stream.push(rand() < 0.1 ? bad(offset) : ok(offset));
        offset += rand() < 0.15 ? 2 + Math.floor(rand() * 3) : 1;
      }
      const end = offset;
      const registry: Cut[] = [];
      const run = (from: number, limit: number, size: number): CutRange[] => {
        const cutter = new RangeCutter(registry, from, { rangeSize: size, lingerMs: 50 });
        const out: CutRange[] = [];
        const take = (cuts: CutRange[]) => {
          for (const c of cuts) {
            if (c.fresh) registry.push([c.first, c.last]);
            out.push(c);
          }
        };
        let now = 0;
        let i = stream.findIndex((m) => m.offset >= from);
        if (i < 0) i = stream.length;
        while (i < Math.min(limit, stream.length)) {
          // A fetch: a few messages, maybe a redelivery of some before.
          const back = rand() < 0.2 ? Math.floor(rand() * 4) : 0;
          const batch = stream.slice(Math.max(0, i - back), Math.min(limit, i + 1 + Math.floor(rand() * 15)));
          now += rand() < 0.2 ? 100 : 1;
          for (const m of batch) take(cutter.push(m, now));
          i += batch.length - Math.min(back, i);
          if (rand() < 0.3) {
            const f = cutter.flush();
            if (f) take([f]);
          }
          const l = cutter.linger(now + Math.floor(rand() * 100), rand() < 0.5);
          if (l) take([l]);
        }
        return out;
      };
      const crashAt = Math.floor(rand() * (stream.length + 1));
      const secondSize = 1 + Math.floor(rand() * 12);
      const first = run(stream[0]?.offset ?? 0, crashAt, rangeSize);
      // Committed: past a random prefix of the ranges of run 1.
      const committedCount = Math.floor(rand() * (first.length + 1));
      const committed =
        committedCount > 0 ? (first[committedCount - 1]?.last ?? 0) + 1 : (stream[0]?.offset ?? 0);
      const second = run(committed, Number.POSITIVE_INFINITY, secondSize);
      for (const [out, size] of [
        [first, rangeSize],
        [second, secondSize],
      ] as const) {
        const seen: number[] = [];
        let prevLast = -1;
        for (const r of out) {
          expect(r.first).toBeGreaterThan(prevLast);
          expect(r.last).toBeGreaterThanOrEqual(r.first);
          prevLast = r.last;
          for (const row of r.rows) {
            expect(row.offset).toBeGreaterThanOrEqual(r.first);
            expect(row.offset).toBeLessThanOrEqual(r.last);
            seen.push(row.offset);
          }
          if (r.fresh) expect(r.rows.length + r.dlq).toBeLessThanOrEqual(size);
        }
        expect(new Set(seen).size).toBe(seen.length);
      }
      // Run 2 covers every event at or after the committed offset, except what it still holds.
      const covered = new Set(second.flatMap((r) => r.rows.map((x) => x.offset)));
      const tail = second[second.length - 1]?.last ?? committed - 1;
      for (const m of stream)
        if (m.event && m.offset >= committed && m.offset <= tail) expect(covered.has(m.offset)).toBe(true);
      // Every range of run 2 that a registered cut of run 1 names is that exact cut.
      const run1Cuts = new Map(first.filter((r) => r.fresh).map((r) => [r.first, r.last]));
      for (const r of second) {
        if (!r.fresh)
          expect(run1Cuts.get(r.first) ?? registry.find(([a]) => a === r.first)?.[1]).toBe(r.last);
        for (const [a, b] of run1Cuts)
          if (r.fresh && r.first <= b && a <= r.last && a >= committed)
            throw new Error(`fresh range ${r.first}-${r.last} overlaps registered cut ${a}-${b}`);
      }
      expect(end).toBeGreaterThan(0);
    }
  });
});
