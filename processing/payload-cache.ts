import type { RangeEvent } from "./lake.ts";

/**
 * Payloads a process already holds decoded, by Redis key: the rows the dispatcher just stored
 * and the ones a worker just read, so a range's archive and index jobs in the same process decode
 * it once (or never, next to the dispatcher). A range's messages never change (Kafka offsets are
 * immutable and the cut registry fixes the range), so a cached copy always equals the stored one.
 * One object per process, made by `capline process` and handed to the dispatcher and the workers,
 * never module state.
 */

/** Decoded payloads by Redis key; the rows are shared and must not be modified. */
export interface PayloadCache {
  /**
   * The rows of a range, `readsDone` of whose readers have them already (0 from the dispatcher
   * that stored them, 1 from a worker that just decoded them for its job).
   */
  remember(key: string, rows: readonly RangeEvent[], readsDone?: number): void;
  /** The rows, as one read: once every reader has read them they are dropped. */
  get(key: string): readonly RangeEvent[] | undefined;
  forget(key: string): void;
}

/**
 * A PayloadCache bounded by events held, oldest dropped first when full. A range is dropped as
 * soon as its `readers` (the archive and the index job of this process) have read it, so the cache
 * holds only ranges a job of this process still has to read. With a backlog the jobs run well
 * after their range is cut; on the 885k benchmark 79 of 142 job loads found their rows here with
 * four ranges held (40 with one; 12 of 148 with one range and no read counting), for about
 * 0.5 µs/event less CPU and no measurable change in peak RSS (BENCHMARKS.md, "Native Snappy and a
 * payload cache of four ranges").
 */
export class DecodedPayloads implements PayloadCache {
  private readonly held = new Map<string, { rows: readonly RangeEvent[]; readsLeft: number }>();
  private events = 0;

  /**
   * @param maxEvents most events held decoded; a larger range is not kept @defaultValue 80000 (four
   *   ranges of the default size)
   * @param readers reads after which a range is dropped @defaultValue 2 (archive and index)
   */
  constructor(
    private readonly maxEvents = 80_000,
    private readonly readers = 2,
  ) {}

  get size(): number {
    return this.events;
  }

  remember(key: string, rows: readonly RangeEvent[], readsDone = 0): void {
    this.forget(key);
    const readsLeft = this.readers - readsDone;
    if (rows.length > this.maxEvents || readsLeft <= 0) return;
    for (const [oldest, entry] of this.held) {
      if (this.events + rows.length <= this.maxEvents) break;
      this.held.delete(oldest);
      this.events -= entry.rows.length;
    }
    this.held.set(key, { rows, readsLeft });
    this.events += rows.length;
  }

  get(key: string): readonly RangeEvent[] | undefined {
    const entry = this.held.get(key);
    if (!entry) return undefined;
    entry.readsLeft--;
    if (entry.readsLeft <= 0) this.forget(key);
    return entry.rows;
  }

  forget(key: string): void {
    const entry = this.held.get(key);
    if (!entry) return;
    this.held.delete(key);
    this.events -= entry.rows.length;
  }
}
