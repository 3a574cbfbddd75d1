import type { CaplineEvent } from "../core/schema/events.ts";

/**
 * One string per distinct value among events decoded together. JSON.parse and msgpackr give every
 * event its own copy of each field, though a range's events repeat most of them: the source file
 * on every row, a few hundred categories and brands, a customer's id and session over a run of
 * rows. Events are held for seconds (the range cutter, the payload cache, the jobs' merges), so
 * those copies were about half of an event's memory, and the most of what V8 promotes to its old
 * space (BENCHMARKS.md, "Memory: shared strings, the write cache off the heap, V8's heap settings").
 *
 * A pool lives as long as one decoding (a fetched batch, a range's payload) and is then dropped
 * with it: it is never module state, and never grows with the run.
 */
export class SharedStrings {
  private readonly pool = new Map<string, string>();

  private one(value: string): string {
    const held = this.pool.get(value);
    if (held !== undefined) return held;
    this.pool.set(value, value);
    return value;
  }

  /** Points the event's repeated fields at the pool's copy (in place; the event is the caller's). */
  share(event: CaplineEvent): void {
    event.event_type = this.one(event.event_type) as CaplineEvent["event_type"];
    event.product_id = this.one(event.product_id);
    event.category_id = this.one(event.category_id);
    if (event.category_code !== null) event.category_code = this.one(event.category_code);
    if (event.brand !== null) event.brand = this.one(event.brand);
    event.user_id = this.one(event.user_id);
    event.user_session = this.one(event.user_session);
    event.source.file = this.one(event.source.file);
  }
}
