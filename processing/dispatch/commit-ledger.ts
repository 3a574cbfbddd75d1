/**
 * The commit ledger of one partition (pure: no I/O; docs/processing.md, "Job model").
 *
 * Ranges go in, in offset order, as they are dispatched; job outcomes come in, in any order; the
 * ledger says what to do next:
 * - every range gets its archive job at once;
 * - index jobs run one at a time per partition, in offset order (the watermarks of
 *   processing/watermark.ts need the ranges of a partition to reach a document in order): a
 *   range's index job is queued once the previous range's index job has completed;
 * - the partition's offset is committed only past a contiguous prefix of ranges whose archive AND
 *   index jobs both completed; when nothing is in flight and the cutter holds nothing, past the
 *   position too (trailing transaction markers), so the lag reads zero;
 * - backpressure: pause once `maxInFlight` ranges are uncommitted, resume below half of it;
 * - a job that failed for good (BullMQ's failed state: an UnrecoverableError, or attempts used up)
 *   holds its range: nothing past it is committed, its index chain stops there, and it is reported
 *   (`failed`), never retried here. See docs/processing.md, "A job that fails for good".
 *
 * Outcomes for ranges the ledger does not hold (committed already, from an earlier owner or
 * generation) and repeated outcomes are ignored, as are index outcomes for a range whose index job
 * was not queued yet (a job of an earlier run with the same id; its state is read again when it is
 * queued).
 */

export type JobKind = "archive" | "index";

export interface LedgerRange {
  first: number;
  last: number;
}

type JobState = "waiting" | "queued" | "done" | "failed";

interface Entry {
  range: LedgerRange;
  archive: Exclude<JobState, "waiting">;
  index: JobState;
  failure?: string;
}

export type LedgerAction =
  | { type: "queue"; kind: JobKind; range: LedgerRange }
  | { type: "pause" }
  | { type: "resume" };

export interface CommitPlan {
  /** The offset to commit (the next offset to consume). */
  offset: number;
  /** The ranges this commit completes: their payloads, jobs and cuts can be forgotten. */
  ranges: LedgerRange[];
}

export interface FailedRange {
  range: LedgerRange;
  kind: JobKind;
  reason: string;
}

export class CommitLedger {
  private readonly entries: Entry[] = [];
  private paused = false;
  private positionOffset: number;
  private committedOffset: number | undefined;
  /** Where consumption started: with nothing committed, a commit there would say nothing. */
  private readonly start: number;

  /**
   * @param committed the partition's committed offset (undefined: nothing committed yet)
   * @param from where consumption starts (the committed offset, or the first offset fetched)
   */
  constructor(
    committed: number | undefined,
    from: number,
    private readonly maxInFlight: number,
  ) {
    if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1)
      throw new RangeError(`maxInFlight must be a positive integer, got ${maxInFlight}`);
    this.committedOffset = committed;
    this.start = from;
    this.positionOffset = Math.max(from, committed ?? from);
  }

  get committed(): number | undefined {
    return this.committedOffset;
  }

  /** Next offset after everything consumed, control records included. */
  get position(): number {
    return this.positionOffset;
  }

  get inFlight(): number {
    return this.entries.length;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Ranges held by a job that failed for good. */
  failed(): FailedRange[] {
    const out: FailedRange[] = [];
    for (const e of this.entries) {
      if (e.archive === "failed") out.push({ range: e.range, kind: "archive", reason: e.failure ?? "" });
      if (e.index === "failed") out.push({ range: e.range, kind: "index", reason: e.failure ?? "" });
    }
    return out;
  }

  /** Moves the position forward (never back): the consumer went past `next - 1`. */
  advance(next: number): void {
    if (next > this.positionOffset) this.positionOffset = next;
  }

  /** A range was dispatched (its payload is stored): its jobs to queue, and maybe a pause. */
  add(range: LedgerRange): LedgerAction[] {
    const last = this.entries[this.entries.length - 1];
    if (last && range.first <= last.range.last)
      throw new RangeError(
        `range ${range.first}-${range.last} does not follow ${last.range.first}-${last.range.last}`,
      );
    this.entries.push({ range, archive: "queued", index: "waiting" });
    this.advance(range.last + 1);
    const actions: LedgerAction[] = [{ type: "queue", kind: "archive", range }];
    actions.push(...this.pumpIndex());
    if (!this.paused && this.entries.length >= this.maxInFlight) {
      this.paused = true;
      actions.push({ type: "pause" });
    }
    return actions;
  }

  /** A job finished: `completed`, or `failed` for good (with the reason). */
  outcome(kind: JobKind, range: LedgerRange, result: "completed" | "failed", reason = ""): LedgerAction[] {
    const entry = this.entries.find((e) => e.range.first === range.first && e.range.last === range.last);
    if (!entry) return [];
    const state = result === "completed" ? "done" : "failed";
    if (kind === "archive") {
      if (entry.archive === "done") return [];
      entry.archive = state;
    } else {
      if (entry.index === "waiting" || entry.index === "done") return [];
      entry.index = state;
    }
    if (state === "failed") entry.failure = reason;
    else if (entry.archive !== "failed" && entry.index !== "failed") delete entry.failure;
    return kind === "index" && state === "done" ? this.pumpIndex() : [];
  }

  /**
   * What to commit now, if anything: past the completed prefix, or past the position when nothing
   * is in flight and `holding` is false (the cutter holds no message).
   */
  plan(holding: boolean): CommitPlan | undefined {
    let done = 0;
    while (done < this.entries.length) {
      const e = this.entries[done];
      if (e?.archive !== "done" || e.index !== "done") break;
      done++;
    }
    const ranges = this.entries.slice(0, done).map((e) => e.range);
    const lastDone = ranges[ranges.length - 1];
    let offset = lastDone ? lastDone.last + 1 : this.committedOffset;
    if (done === this.entries.length && !holding && this.positionOffset > (offset ?? -1))
      offset = this.positionOffset;
    if (offset === undefined || offset <= (this.committedOffset ?? this.start)) return undefined;
    return { offset, ranges };
  }

  /** The commit of `plan` went through: drop its ranges; maybe resume. */
  markCommitted(plan: CommitPlan): LedgerAction[] {
    this.committedOffset = Math.max(plan.offset, this.committedOffset ?? plan.offset);
    const drop = new Set(plan.ranges.map((r) => `${r.first}-${r.last}`));
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (e && drop.has(`${e.range.first}-${e.range.last}`)) this.entries.splice(i, 1);
    }
    if (this.paused && this.entries.length < Math.max(1, Math.floor(this.maxInFlight / 2))) {
      this.paused = false;
      return [{ type: "resume" }];
    }
    return [];
  }

  /** Queues the first index job not done, if it waits and every index job before it completed. */
  private pumpIndex(): LedgerAction[] {
    const next = this.entries.find((e) => e.index !== "done");
    if (next?.index !== "waiting") return [];
    next.index = "queued";
    return [{ type: "queue", kind: "index", range: next.range }];
  }
}
