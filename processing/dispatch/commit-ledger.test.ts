import { describe, expect, it } from "vitest";
import { rng } from "../test/events.ts";
import { CommitLedger, type JobKind, type LedgerAction, type LedgerRange } from "./commit-ledger.ts";

/** The commit ledger on its own: no service; job outcomes are fed in the orders a real run can produce. */

const r = (first: number, last: number): LedgerRange => ({ first, last });
const types = (actions: LedgerAction[]) =>
  actions.map((a) => (a.type === "queue" ? `${a.kind}:${a.range.first}` : a.type));

function complete(ledger: CommitLedger, range: LedgerRange, ...kinds: JobKind[]): LedgerAction[] {
  return kinds.flatMap((k) => ledger.outcome(k, range, "completed"));
}

describe("CommitLedger", () => {
  it("queues every archive job at once and the index jobs one at a time, in order", () => {
    const ledger = new CommitLedger(undefined, 0, 8);
    expect(types(ledger.add(r(0, 9)))).toEqual(["archive:0", "index:0"]);
    expect(types(ledger.add(r(10, 19)))).toEqual(["archive:10"]);
    expect(types(ledger.add(r(20, 29)))).toEqual(["archive:20"]);
    // Range 2's index outcome before its job was queued (a job of an earlier run): ignored.
    expect(ledger.outcome("index", r(20, 29), "completed")).toEqual([]);
    expect(types(complete(ledger, r(0, 9), "index"))).toEqual(["index:10"]);
    expect(types(complete(ledger, r(10, 19), "index"))).toEqual(["index:20"]);
    expect(complete(ledger, r(20, 29), "index")).toEqual([]);
  });

  it("commits only past a contiguous prefix of ranges whose archive and index jobs both completed", () => {
    const ledger = new CommitLedger(undefined, 0, 8);
    ledger.add(r(0, 9));
    ledger.add(r(10, 19));
    ledger.add(r(20, 29));
    // Out of order: everything of range 2 and 3's archive first.
    complete(ledger, r(20, 29), "archive");
    complete(ledger, r(10, 19), "archive");
    expect(ledger.plan(false)).toBeUndefined();
    complete(ledger, r(0, 9), "index");
    expect(ledger.plan(false)).toBeUndefined(); // range 1's archive is not done
    complete(ledger, r(0, 9), "archive");
    const plan = ledger.plan(false);
    expect(plan).toEqual({ offset: 10, ranges: [r(0, 9)] });
    if (plan) ledger.markCommitted(plan);
    expect(ledger.committed).toBe(10);
    expect(ledger.plan(false)).toBeUndefined();
    complete(ledger, r(10, 19), "index");
    complete(ledger, r(20, 29), "index");
    const rest = ledger.plan(false);
    expect(rest).toEqual({ offset: 30, ranges: [r(10, 19), r(20, 29)] });
  });

  it("commits past trailing control records only when nothing is in flight and the cutter holds nothing", () => {
    const ledger = new CommitLedger(40, 40, 8);
    ledger.add(r(40, 49));
    ledger.advance(53); // the fetch ended with transaction markers at 50..52
    complete(ledger, r(40, 49), "archive", "index");
    expect(ledger.plan(true)).toEqual({ offset: 50, ranges: [r(40, 49)] }); // cutter holds messages
    expect(ledger.plan(false)).toEqual({ offset: 53, ranges: [r(40, 49)] });
    // A partition that saw only control records: nothing in flight, the position moves the commit.
    const idle = new CommitLedger(undefined, 100, 8);
    expect(idle.plan(false)).toBeUndefined();
    idle.advance(102);
    expect(idle.plan(false)).toEqual({ offset: 102, ranges: [] });
    expect(idle.plan(true)).toBeUndefined();
    // Never backwards: an advance below the position is ignored.
    idle.advance(90);
    expect(idle.position).toBe(102);
  });

  it("pauses at maxInFlight uncommitted ranges and resumes below half of it", () => {
    const ledger = new CommitLedger(0, 0, 4);
    const actions: LedgerAction[] = [];
    for (let i = 0; i < 4; i++) actions.push(...ledger.add(r(i * 10, i * 10 + 9)));
    expect(actions.filter((a) => a.type === "pause")).toHaveLength(1);
    expect(ledger.isPaused).toBe(true);
    // Two of four committed: 2 left, not below half (2): still paused.
    for (const i of [0, 1]) complete(ledger, r(i * 10, i * 10 + 9), "archive", "index");
    const p1 = ledger.plan(false);
    expect(p1?.offset).toBe(20);
    expect(p1 && ledger.markCommitted(p1)).toEqual([]);
    expect(ledger.isPaused).toBe(true);
    complete(ledger, r(20, 29), "archive", "index");
    const p2 = ledger.plan(false);
    expect(p2 && types(ledger.markCommitted(p2))).toEqual(["resume"]);
    expect(ledger.isPaused).toBe(false);
    expect(ledger.inFlight).toBe(1);
  });

  it("maxInFlight 1: pauses at every range and resumes when it is committed", () => {
    const ledger = new CommitLedger(0, 0, 1);
    expect(types(ledger.add(r(0, 4)))).toEqual(["archive:0", "index:0", "pause"]);
    complete(ledger, r(0, 4), "archive", "index");
    const plan = ledger.plan(false);
    expect(plan && types(ledger.markCommitted(plan))).toEqual(["resume"]);
  });

  it("a job that failed for good holds its range: no commit past it, the index chain stops, it is listed", () => {
    const ledger = new CommitLedger(0, 0, 8);
    ledger.add(r(0, 9));
    ledger.add(r(10, 19));
    ledger.add(r(20, 29));
    complete(ledger, r(0, 9), "archive", "index");
    expect(ledger.outcome("index", r(10, 19), "failed", "mapper_parsing_exception")).toEqual([]);
    complete(ledger, r(10, 19), "archive");
    complete(ledger, r(20, 29), "archive");
    expect(ledger.failed()).toEqual([
      { range: r(10, 19), kind: "index", reason: "mapper_parsing_exception" },
    ]);
    const plan = ledger.plan(false);
    expect(plan).toEqual({ offset: 10, ranges: [r(0, 9)] });
    if (plan) ledger.markCommitted(plan);
    expect(ledger.plan(false)).toBeUndefined();
    // Retried by hand, it completes: the chain goes on and everything commits.
    expect(types(complete(ledger, r(10, 19), "index"))).toEqual(["index:20"]);
    expect(ledger.failed()).toEqual([]);
    complete(ledger, r(20, 29), "index");
    expect(ledger.plan(false)?.offset).toBe(30);
    // An archive job that failed for good holds too.
    const other = new CommitLedger(0, 0, 8);
    other.add(r(0, 9));
    other.outcome("archive", r(0, 9), "failed", "boom");
    complete(other, r(0, 9), "index");
    expect(other.plan(false)).toBeUndefined();
    expect(other.failed()).toEqual([{ range: r(0, 9), kind: "archive", reason: "boom" }]);
  });

  it("ignores outcomes of ranges it does not hold and repeated outcomes", () => {
    const ledger = new CommitLedger(100, 100, 8);
    expect(ledger.outcome("archive", r(0, 9), "completed")).toEqual([]); // committed long ago
    ledger.add(r(100, 109));
    expect(ledger.outcome("archive", r(100, 105), "completed")).toEqual([]); // another cut of the offsets
    complete(ledger, r(100, 109), "index");
    expect(complete(ledger, r(100, 109), "index")).toEqual([]);
    expect(ledger.plan(false)).toBeUndefined();
    complete(ledger, r(100, 109), "archive", "archive");
    // A late "failed" after completion changes nothing.
    ledger.outcome("archive", r(100, 109), "failed", "late");
    expect(ledger.plan(false)).toEqual({ offset: 110, ranges: [r(100, 109)] });
  });

  it("a rebalance mid-range: the new owner's ledger takes outcomes of the ranges it re-created, not the others", () => {
    // The old owner had [0,9] and [10,19] in flight; [0,9]'s archive completed before the revoke.
    // The new owner re-creates [0,9] (same cut, same job ids) and cuts [10,24] differently.
    const ledger = new CommitLedger(0, 0, 8);
    expect(types(ledger.add(r(0, 9)))).toEqual(["archive:0", "index:0"]);
    ledger.add(r(10, 24));
    // Late outcomes of the old owner's [10,19] jobs: another range, ignored.
    expect(ledger.outcome("archive", r(10, 19), "completed")).toEqual([]);
    expect(ledger.outcome("index", r(10, 19), "completed")).toEqual([]);
    // [0,9]'s jobs are found completed (same ids): the chain goes on and the commit follows.
    complete(ledger, r(0, 9), "archive");
    expect(types(complete(ledger, r(0, 9), "index"))).toEqual(["index:10"]);
    expect(ledger.plan(false)).toEqual({ offset: 10, ranges: [r(0, 9)] });
  });

  it("refuses a range that does not follow the previous one, and a maxInFlight below 1", () => {
    const ledger = new CommitLedger(0, 0, 8);
    ledger.add(r(0, 9));
    expect(() => ledger.add(r(5, 12))).toThrow(/does not follow/);
    expect(() => new CommitLedger(0, 0, 0)).toThrow(/maxInFlight/);
  });

  it("starts at the committed offset, or where consumption starts when nothing was committed", () => {
    expect(new CommitLedger(50, 50, 8).position).toBe(50);
    expect(new CommitLedger(undefined, 7, 8).position).toBe(7);
    expect(new CommitLedger(undefined, 7, 8).committed).toBeUndefined();
  });

  /**
   * Random runs: ranges added while outcomes arrive in random order, some twice, some late (after
   * the commit), some for ranges of another cut; commits happen at random moments. Invariants: at
   * most one index job queued and not completed at a time, queued in range order; a commit offset
   * only ever grows and every range below it had both jobs completed; at the end everything is
   * committed to the position.
   */
  it("random interleavings keep the order, the commit rule and backpressure", () => {
    const rand = rng(77);
    for (let trial = 0; trial < 300; trial++) {
      const maxInFlight = 1 + Math.floor(rand() * 6);
      const ledger = new CommitLedger(undefined, 0, maxInFlight);
      const ranges: LedgerRange[] = [];
      let offset = 0;
      const total = 1 + Math.floor(rand() * 25);
      for (let i = 0; i < total; i++) {
        const len = 1 + Math.floor(rand() * 5);
        ranges.push(r(offset, offset + len - 1));
        offset += len + (rand() < 0.2 ? 1 : 0); // a marker between ranges
      }
      const queuedJobs: Array<{ kind: JobKind; range: LedgerRange }> = [];
      const done = new Set<string>();
      let indexInFlight: LedgerRange | undefined;
      const indexOrder: number[] = [];
      let paused = false;
      let committed = -1;
      const takeActions = (actions: LedgerAction[]) => {
        for (const a of actions) {
          if (a.type === "pause") {
            expect(paused).toBe(false);
            paused = true;
          } else if (a.type === "resume") {
            expect(paused).toBe(true);
            paused = false;
          } else {
            if (a.kind === "index") {
              expect(indexInFlight).toBeUndefined();
              indexInFlight = a.range;
              indexOrder.push(a.range.first);
            }
            queuedJobs.push(a);
          }
        }
      };
      const tryCommit = () => {
        const plan = ledger.plan(false);
        if (!plan) return;
        expect(plan.offset).toBeGreaterThan(committed);
        for (const x of ranges)
          if (x.last < plan.offset && x.first >= Math.max(0, committed))
            expect(done.has(`archive:${x.first}`) && done.has(`index:${x.first}`)).toBe(true);
        committed = plan.offset;
        takeActions(ledger.markCommitted(plan));
      };
      let next = 0;
      const finished: Array<{ kind: JobKind; range: LedgerRange }> = [];
      for (let step = 0; step < 10_000 && (next < ranges.length || queuedJobs.length > 0); step++) {
        const roll = rand();
        if (roll < 0.3 && next < ranges.length && !paused) {
          const range = ranges[next++];
          if (range) takeActions(ledger.add(range));
        } else if (roll < 0.8 && queuedJobs.length > 0) {
          const job = queuedJobs.splice(Math.floor(rand() * queuedJobs.length), 1)[0];
          if (!job) continue;
          done.add(`${job.kind}:${job.range.first}`);
          if (job.kind === "index") indexInFlight = undefined;
          finished.push(job);
          takeActions(ledger.outcome(job.kind, job.range, "completed"));
        } else if (roll < 0.9 && finished.length > 0) {
          // A repeated or late outcome, or one for another cut of the same offsets.
          const old = finished[Math.floor(rand() * finished.length)];
          if (old) {
            expect(ledger.outcome(old.kind, old.range, "completed")).toEqual([]);
            expect(ledger.outcome(old.kind, r(old.range.first, old.range.last + 1), "completed")).toEqual([]);
          }
        } else tryCommit();
        if (paused && next < ranges.length) expect(ledger.inFlight).toBeGreaterThanOrEqual(1);
      }
      tryCommit();
      expect(next).toBe(ranges.length);
      expect(indexOrder).toEqual(ranges.map((x) => x.first));
      expect(ledger.inFlight).toBe(0);
      expect(committed).toBe((ranges[ranges.length - 1]?.last ?? 0) + 1);
      expect(paused).toBe(false);
    }
  });
});
