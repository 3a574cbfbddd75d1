/**
 * UTC calendar helpers on epoch milliseconds. Buckets are computed from the event time (never
 * the wall clock), so late and out-of-order events land in the window they belong to.
 */

export const MS_PER_HOUR = 3_600_000;
export const MS_PER_DAY = 86_400_000;

/** Epoch milliseconds of an ISO-8601 time; throws on an unparsable value. */
export function toMillis(iso: string): number {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new RangeError(`not an ISO-8601 time: "${iso}"`);
  return ms;
}

export function isoMillis(ms: number): string {
  return new Date(ms).toISOString();
}

/** `YYYY-MM-DD` of the UTC day. */
export function utcDate(ms: number): string {
  return isoMillis(ms).slice(0, 10);
}

/** Start of the UTC day, as an ISO string (`2019-10-01T00:00:00.000Z`). */
export function dayBucket(ms: number): string {
  return isoMillis(Math.floor(ms / MS_PER_DAY) * MS_PER_DAY);
}

/** Start of the UTC hour, as an ISO string. */
export function hourBucket(ms: number): string {
  return isoMillis(Math.floor(ms / MS_PER_HOUR) * MS_PER_HOUR);
}

/** `YYYY-MM-DD` of the Monday (UTC) of the ISO week that contains `ms`. */
export function isoWeekMonday(ms: number): string {
  const day = Math.floor(ms / MS_PER_DAY);
  // Day 0 (1970-01-01) was a Thursday, three days after a Monday.
  const sinceMonday = (((day + 3) % 7) + 7) % 7;
  return utcDate((day - sinceMonday) * MS_PER_DAY);
}
