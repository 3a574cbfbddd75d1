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

/**
 * Texts of whole UTC hours and days, memoised: every event of a range maps to one of a few hours
 * and days, and formatting a Date for each was a visible share of the processing CPU.
 */
const hourTexts = new Map<number, string>();
const dayTexts = new Map<number, string>();
const MEMO_MAX = 100_000;

function memo(cache: Map<number, string>, key: number, make: (key: number) => string): string {
  let text = cache.get(key);
  if (text === undefined) {
    if (cache.size >= MEMO_MAX) cache.clear();
    text = make(key);
    cache.set(key, text);
  }
  return text;
}

/** ISO text of the start of hour `h` (hours since the epoch). */
function hourStart(h: number): string {
  return memo(hourTexts, h, (k) => isoMillis(k * MS_PER_HOUR));
}

/** `YYYY-MM-DD` of day `d` (days since the epoch). */
function dayDate(d: number): string {
  return memo(dayTexts, d, (k) => isoMillis(k * MS_PER_DAY).slice(0, 10));
}

/** `YYYY-MM-DD` of the UTC day. */
export function utcDate(ms: number): string {
  return dayDate(Math.floor(ms / MS_PER_DAY));
}

/** Start of the UTC day, as an ISO string (`2019-10-01T00:00:00.000Z`). */
export function dayBucket(ms: number): string {
  return hourStart(Math.floor(ms / MS_PER_DAY) * 24);
}

/** Start of the UTC hour, as an ISO string. */
export function hourBucket(ms: number): string {
  return hourStart(Math.floor(ms / MS_PER_HOUR));
}

/** Hour of the UTC day, 0–23. */
export function hourOfDay(ms: number): number {
  return ((Math.floor(ms / MS_PER_HOUR) % 24) + 24) % 24;
}

/** ISO weekday of the UTC day: 1 = Monday … 7 = Sunday. */
export function isoWeekday(ms: number): number {
  // Day 0 (1970-01-01) was a Thursday (4).
  return ((((Math.floor(ms / MS_PER_DAY) + 3) % 7) + 7) % 7) + 1;
}

/** `YYYY-MM-DD` of the Monday (UTC) of the ISO week that contains `ms`. */
export function isoWeekMonday(ms: number): string {
  const day = Math.floor(ms / MS_PER_DAY);
  // Day 0 (1970-01-01) was a Thursday, three days after a Monday.
  const sinceMonday = (((day + 3) % 7) + 7) % 7;
  return dayDate(day - sinceMonday);
}
