import { lakeKey } from "../core/names.ts";
import type { CaplineEvent } from "../core/schema/events.ts";
import { toMillis, utcDate } from "./time.ts";

/**
 * Lake layout (DESIGN.md, "Lake layout"): the same relative keys in MinIO and under the HDFS root,
 *
 *   events/dt=YYYY-MM-DD/<topic>+<partition>+<firstOffset>-<lastOffset>.parquet
 *
 * dt is the UTC date of the event time. A range whose events span several days gives one file per
 * day; the offsets in a name are the first and last offsets of the rows in that file. Names depend
 * only on the range's messages, so re-archiving a range rewrites the same objects with the same
 * rows: a retry or a replay can never add a second copy.
 */

/** One Kafka message of a range, decoded. */
export interface RangeEvent {
  offset: number;
  event: CaplineEvent;
}

export interface LakeFile {
  /** Relative key, e.g. `events/dt=2019-10-01/customer-events+3+100-199.parquet`. */
  key: string;
  dt: string;
  firstOffset: number;
  lastOffset: number;
  /** Rows in offset order. */
  events: RangeEvent[];
}

/** Splits a range's events into one lake file per UTC event date, rows in offset order. */
export function lakeFiles(topic: string, partition: number, events: readonly RangeEvent[]): LakeFile[] {
  const byDate = new Map<string, RangeEvent[]>();
  for (const e of [...events].sort((a, b) => a.offset - b.offset)) {
    const dt = utcDate(toMillis(e.event.event_time));
    const list = byDate.get(dt);
    if (list) list.push(e);
    else byDate.set(dt, [e]);
  }
  return [...byDate.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([dt, rows]) => {
      const firstOffset = rows[0]?.offset ?? 0;
      const lastOffset = rows[rows.length - 1]?.offset ?? 0;
      return {
        key: lakeKey(dt, topic, partition, firstOffset, lastOffset),
        dt,
        firstOffset,
        lastOffset,
        events: rows,
      };
    });
}

/**
 * The rows of one lake file (one dt, one partition, offset order) that no existing file holds,
 * as runs to write. A file named `<p>+<a>-<b>` holds every row of its partition and day with an
 * offset in [a, b] (it was written from a contiguous range), so a row inside an existing interval
 * is archived already; the rows left are split wherever a covered row lies between them, which
 * keeps that property true for the new files too. With no existing file this is the whole list;
 * when the same range is archived again it is empty.
 */
export function uncoveredRuns(
  rows: readonly RangeEvent[],
  existing: ReadonlyArray<readonly [first: number, last: number]>,
): RangeEvent[][] {
  const runs: RangeEvent[][] = [];
  let current: RangeEvent[] = [];
  for (const row of rows) {
    if (existing.some(([a, b]) => a <= row.offset && row.offset <= b)) {
      if (current.length > 0) runs.push(current);
      current = [];
    } else current.push(row);
  }
  if (current.length > 0) runs.push(current);
  return runs;
}
