import type { RangeEvent } from "../lake.ts";
import type { Classified } from "./classify.ts";

/**
 * The range cutter of one partition (pure: no clock, no I/O; docs/processing.md, "Ranges").
 *
 * Messages go in, in offset order; ranges come out. A range is a run of consecutive offsets
 * `[first, last]` of the partition, cut
 * - when it holds `rangeSize` messages (full),
 * - when the partition is caught up (`flush`),
 * - when no message came for `lingerMs` (`linger`), never while the partition is paused for
 *   backpressure: its buffer keeps filling once it resumes, which keeps ranges large while the
 *   sinks are behind.
 *
 * The cuts the registry already holds for the partition (registered by this or an earlier owner,
 * not committed yet) are re-created exactly: messages inside a registered cut are gathered into
 * that range again, whatever the fetch boundaries, so a replay after a crash produces the same
 * ranges (same job ids, same lake files). Only messages beyond every registered cut are cut
 * afresh; those ranges come out with `fresh: true` and must be registered before anything refers
 * to them.
 *
 * Messages that are not events take their offset in a range (it is committed with the range) and
 * are counted in its `dlq`; their DLQ record is the dispatcher's business.
 */

export interface CutRange {
  first: number;
  last: number;
  /** The events of the range, in offset order. */
  rows: RangeEvent[];
  /** Messages of the range that were not events (they went to the DLQ). */
  dlq: number;
  /** A new cut (to register), or one the registry already held (re-created by a replay). */
  fresh: boolean;
}

export interface RangeCutterOptions {
  /** Most messages per range. */
  rangeSize: number;
  /** A partial range is cut after this long without new messages. */
  lingerMs: number;
}

/** A cut the registry holds: `[first, last]`. */
export type Cut = readonly [first: number, last: number];

interface Gathering {
  first: number;
  last: number;
  rows: RangeEvent[];
  dlq: number;
}

export class RangeCutter {
  /** Registered cuts not re-created yet, sorted by first offset. */
  private readonly cuts: Cut[];
  /** A registered cut being refilled during a replay. */
  private open: (Gathering & { end: number }) | undefined;
  /** Messages beyond every registered cut, not cut yet. */
  private buffer: Gathering | undefined;
  /** When the buffer last grew (the caller's clock). */
  private touched = 0;
  /** The next offset expected: messages below it were seen already (redelivered) and are ignored. */
  private next: number;
  /** Registered cuts that lay wholly before the messages seen (their messages were all control records). */
  readonly skippedCuts: Cut[] = [];
  /** Redelivered messages ignored (offset below the next one expected). */
  redelivered = 0;

  /**
   * @param cuts the partition's registered cuts that end at or after `from`
   * @param from the offset consumption starts at (the committed offset; 0 or the log start when none)
   */
  constructor(
    cuts: readonly Cut[],
    from: number,
    private readonly options: RangeCutterOptions,
  ) {
    if (!Number.isSafeInteger(options.rangeSize) || options.rangeSize < 1)
      throw new RangeError(`rangeSize must be a positive integer, got ${options.rangeSize}`);
    this.cuts = [...cuts].filter(([, last]) => last >= from).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < this.cuts.length; i++)
      if ((this.cuts[i]?.[0] ?? 0) <= (this.cuts[i - 1]?.[1] ?? 0))
        throw new RangeError(`registered cuts overlap: ${JSON.stringify(this.cuts)}`);
    this.next = from;
  }

  /** Whether messages are held that no range has taken yet (buffered or in an open registered cut). */
  get holding(): boolean {
    return this.open !== undefined || this.buffer !== undefined;
  }

  /** The next offset the cutter expects. */
  get position(): number {
    return this.next;
  }

  /**
   * One message, in offset order (`now` on the caller's clock, for `linger`). Returns the ranges
   * this message completed: none, one, or two (a buffer cut short by a registered cut, then that
   * cut when the message is its last).
   */
  push(message: Classified, now: number): CutRange[] {
    const { offset } = message;
    if (offset < this.next) {
      this.redelivered++;
      return [];
    }
    this.next = offset + 1;
    const out: CutRange[] = [];
    // An open registered cut that this message lies beyond is complete (its last offsets were
    // control records, which never arrive as messages).
    if (this.open && offset > this.open.end) out.push(this.closeOpen());
    if (!this.open) {
      while (this.cuts.length > 0 && (this.cuts[0]?.[1] ?? 0) < offset) {
        const skipped = this.cuts.shift();
        if (skipped) this.skippedCuts.push(skipped);
      }
      const cut = this.cuts[0];
      if (cut && cut[0] <= offset) {
        // A registered cut starts here: whatever is buffered ends before it.
        const flushed = this.flush();
        if (flushed) out.push(flushed);
        this.cuts.shift();
        this.open = { first: cut[0], last: offset, end: cut[1], rows: [], dlq: 0 };
      }
    }
    const target = this.open ?? this.gather(offset, now);
    add(target, message);
    if (this.open && offset >= this.open.end) out.push(this.closeOpen());
    else if (this.buffer && size(this.buffer) >= this.options.rangeSize) {
      const full = this.flush();
      if (full) out.push(full);
    }
    return out;
  }

  /**
   * Moves the position past offsets that hold no message (transaction markers at the end of a
   * fetch): a message below it is then a redelivery. Never backwards.
   */
  skipTo(offset: number): void {
    if (offset > this.next) this.next = offset;
  }

  /** Cuts the buffered fresh messages into a range (the partition is caught up), if any. */
  flush(): CutRange | undefined {
    const b = this.buffer;
    if (!b) return undefined;
    this.buffer = undefined;
    return { first: b.first, last: b.last, rows: b.rows, dlq: b.dlq, fresh: true };
  }

  /**
   * Cuts the buffer if it has not grown for `lingerMs` and the partition is not paused. An open
   * registered cut never lingers: its remaining messages are on their way (they exist in Kafka).
   */
  linger(now: number, paused: boolean): CutRange | undefined {
    if (paused || !this.buffer || now - this.touched < this.options.lingerMs) return undefined;
    return this.flush();
  }

  private gather(offset: number, now: number): Gathering {
    this.touched = now;
    if (!this.buffer) this.buffer = { first: offset, last: offset, rows: [], dlq: 0 };
    return this.buffer;
  }

  private closeOpen(): CutRange {
    const o = this.open;
    if (!o) throw new Error("no open cut");
    this.open = undefined;
    // The registered boundaries, not the offsets seen: the range must keep the name it was given.
    return { first: o.first, last: o.end, rows: o.rows, dlq: o.dlq, fresh: false };
  }
}

function size(g: Gathering): number {
  return g.rows.length + g.dlq;
}

function add(g: Gathering, message: Classified): void {
  g.last = message.offset;
  if (message.event) g.rows.push({ offset: message.offset, event: message.event });
  else g.dlq++;
}
