/**
 * Per-partition offset watermarks: the idempotency scheme of every Elasticsearch document capline
 * writes (docs/processing.md, "Watermarks").
 *
 * A range is a run of consecutive offsets `[first, last]` of one Kafka partition. Each document
 * keeps, per partition, the last offset of the newest range applied to it. A range is applied only
 * if its `last` is above the document's watermark for that partition, and the watermark moves to
 * `last` in the same whole-document write as the counters. Re-applying a range, or applying an
 * older one, therefore changes nothing. This needs the ranges of one partition to reach a given
 * document in offset order, which the dispatcher guarantees by running at most one index job per
 * partition at a time, in order.
 */

/** Partition (as a decimal string: JSON object keys) → last applied offset. */
export type Watermarks = Record<string, number>;

export interface OffsetRange {
  topic: string;
  partition: number;
  /** Offset of the first message of the range. */
  first: number;
  /** Offset of the last message of the range (inclusive). */
  last: number;
}

export function watermarkOf(watermarks: Watermarks | undefined, partition: number): number {
  return watermarks?.[String(partition)] ?? -1;
}

/** Whether the range still has to be applied to a document carrying these watermarks. */
export function shouldApply(watermarks: Watermarks | undefined, range: OffsetRange): boolean {
  return range.last > watermarkOf(watermarks, range.partition);
}

/** The watermarks after applying the range (a new object; the input is not changed). */
export function advance(watermarks: Watermarks | undefined, range: OffsetRange): Watermarks {
  return { ...(watermarks ?? {}), [String(range.partition)]: range.last };
}
