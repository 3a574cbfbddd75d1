/**
 * UTC calendar helpers on epoch milliseconds. Buckets are computed from the event time (never
 * the wall clock), so late and out-of-order events land in the window they belong to.
 */

export const MS_PER_HOUR = 3_600_000;
export const MS_PER_DAY = 86_400_000;

/**
 * Epoch milliseconds of an ISO-8601 time, NaN for an unparsable value. The canonical form of
 * every event time (`YYYY-MM-DDTHH:MM:SS.sssZ`, what the ingester writes) is read by hand: an
 * event's time is read several times per sink, and Date.parse was a visible share of the CPU.
 * Anything else (another producer's offset or precision) goes through Date.parse.
 */
export function parseMillis(iso: string): number {
  return canonicalMillis(iso) ?? Date.parse(iso);
}

/** Epoch milliseconds of an ISO-8601 time (`parseMillis`); throws on an unparsable value. */
export function toMillis(iso: string): number {
  const ms = parseMillis(iso);
  if (!Number.isFinite(ms)) throw new RangeError(`not an ISO-8601 time: "${iso}"`);
  return ms;
}

/** Cumulative days before each month (non-leap year). */
const MONTH_DAYS = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

function digits(text: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** `YYYY-MM-DDTHH:MM:SS.sssZ` as epoch ms; undefined for any other text or an impossible date. */
export function canonicalMillis(iso: string): number | undefined {
  if (
    iso.length !== 24 ||
    iso.charCodeAt(4) !== 45 ||
    iso.charCodeAt(7) !== 45 ||
    iso.charCodeAt(10) !== 84 ||
    iso.charCodeAt(13) !== 58 ||
    iso.charCodeAt(16) !== 58 ||
    iso.charCodeAt(19) !== 46 ||
    iso.charCodeAt(23) !== 90
  )
    return undefined;
  const year = digits(iso, 0, 4);
  const month = digits(iso, 5, 2);
  const day = digits(iso, 8, 2);
  const hour = digits(iso, 11, 2);
  const minute = digits(iso, 14, 2);
  const second = digits(iso, 17, 2);
  const ms = digits(iso, 20, 3);
  // Days past the 28th are left to Date.parse (month lengths, leap years).
  if (
    year < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > 28 ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    ms < 0
  )
    return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  // Days from 1970-01-01 to the first of the year: 365 a year plus the leap days in between.
  const y = year - 1;
  const days =
    365 * (year - 1970) +
    (Math.floor(y / 4) - Math.floor(y / 100) + Math.floor(y / 400)) -
    477 +
    (MONTH_DAYS[month - 1] as number) +
    (leap && month > 2 ? 1 : 0) +
    day -
    1;
  return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + ms;
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
