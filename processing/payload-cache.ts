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
  remember(key: string, rows: readonly RangeEvent[]): void;
  get(key: string): readonly RangeEvent[] | undefined;
  forget(key: string): void;
}

/** A PayloadCache bounded by events held, oldest dropped first. */
export class DecodedPayloads implements PayloadCache {
  private readonly held = new Map<string, readonly RangeEvent[]>();
  private events = 0;

  /** @param maxEvents most events held decoded @defaultValue 20000 */
  constructor(private readonly maxEvents = 20_000) {}

  get size(): number {
    return this.events;
  }

  remember(key: string, rows: readonly RangeEvent[]): void {
    this.forget(key);
    if (rows.length > this.maxEvents) return;
    for (const [oldest, held] of this.held) {
      if (this.events + rows.length <= this.maxEvents) break;
      this.held.delete(oldest);
      this.events -= held.length;
    }
    this.held.set(key, rows);
    this.events += rows.length;
  }

  get(key: string): readonly RangeEvent[] | undefined {
    return this.held.get(key);
  }

  forget(key: string): void {
    const held = this.held.get(key);
    if (!held) return;
    this.held.delete(key);
    this.events -= held.length;
  }
}
