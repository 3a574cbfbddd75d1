import type { CaplineEvent } from "../../core/schema/events.ts";
import type { RangeEvent } from "../lake.ts";
import type { OffsetRange } from "../watermark.ts";

export interface TestRange {
  range: OffsetRange;
  rows: RangeEvent[];
}

/** Spreads events over partitions by user (as Kafka's key partitioning does) and cuts ranges of `size`. */
export function cutRanges(
  topic: string,
  events: readonly CaplineEvent[],
  partitions: number,
  size: number,
): TestRange[][] {
  const lists: RangeEvent[][] = Array.from({ length: partitions }, () => []);
  for (const event of events) {
    const list = lists[Number(BigInt(event.user_id) % BigInt(partitions))] ?? [];
    list.push({ offset: list.length, event });
  }
  return lists.map((rows, partition) => {
    const out: TestRange[] = [];
    for (let i = 0; i < rows.length; i += size) {
      const slice = rows.slice(i, i + size);
      out.push({
        range: { topic, partition, first: slice[0]?.offset ?? 0, last: slice[slice.length - 1]?.offset ?? 0 },
        rows: slice,
      });
    }
    return out;
  });
}
