/**
 * The three timestamp forms DESIGN.md accepts, parsed by hand (no Date parsing, no regex) because it
 * runs once per row:
 *
 * 1. `YYYY-MM-DD HH:MM:SS`        (UTC)
 * 2. `YYYY-MM-DD HH:MM:SS UTC`    (the REES46 export)
 * 3. ISO-8601 `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM|±HHMM|±HH)`
 *
 * Everything else is refused: no epochs, no slashes, no zone-less ISO (local time), no names of
 * zones other than the literal ` UTC` of form 2. Calendar dates are checked (2019-02-29 is refused,
 * 2020-02-29 accepted). The result is ISO-8601 UTC with milliseconds; fractions beyond
 * milliseconds are truncated.
 */

export type TimestampResult = { ok: true; iso: string } | { ok: false; problem: string };

const DIGIT0 = 48;

function digits(s: string, from: number, count: number): number {
  let v = 0;
  for (let i = from; i < from + count; i++) {
    const d = s.charCodeAt(i) - DIGIT0;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

const bad = (problem: string): TimestampResult => ({ ok: false, problem });

export function parseTimestamp(s: string): TimestampResult {
  const n = s.length;
  if (n < 19) return bad("too short for YYYY-MM-DD HH:MM:SS");
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  const sep = s.charCodeAt(10);
  if (
    year < 0 ||
    month < 0 ||
    day < 0 ||
    hour < 0 ||
    minute < 0 ||
    second < 0 ||
    s.charCodeAt(4) !== 45 ||
    s.charCodeAt(7) !== 45 ||
    (sep !== 32 && sep !== 84) ||
    s.charCodeAt(13) !== 58 ||
    s.charCodeAt(16) !== 58
  ) {
    return bad("not YYYY-MM-DD HH:MM:SS[ UTC] nor ISO-8601 with Z or an offset");
  }
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return bad(`no such calendar date ${s.slice(0, 10)}`);
  }
  if (hour > 23 || minute > 59 || second > 59) return bad(`no such time of day ${s.slice(11, 19)}`);
  const base = `${s.slice(0, 10)}T${s.slice(11, 19)}`;
  if (sep === 32) {
    // Forms 1 and 2: UTC by definition.
    if (n === 19 || (n === 23 && s.endsWith(" UTC"))) return { ok: true, iso: `${base}.000Z` };
    return bad('after YYYY-MM-DD HH:MM:SS only " UTC" is accepted (ISO-8601 needs a T)');
  }
  // Form 3: ISO-8601 with a T, an optional fraction and a mandatory zone.
  let i = 19;
  let millis = "000";
  if (i < n && s.charCodeAt(i) === 46) {
    const start = ++i;
    while (i < n && s.charCodeAt(i) >= DIGIT0 && s.charCodeAt(i) <= DIGIT0 + 9) i++;
    if (i === start || i - start > 9) return bad("a fraction of a second needs 1 to 9 digits");
    millis = s.slice(start, Math.min(i, start + 3)).padEnd(3, "0");
  }
  if (i >= n) return bad("ISO-8601 without Z or an offset is local time, which is refused");
  const zone = s.charCodeAt(i);
  if (zone === 90 /* Z */) {
    if (i + 1 !== n) return bad("characters after the Z");
    return { ok: true, iso: `${base}.${millis}Z` };
  }
  if (zone !== 43 && zone !== 45) return bad("ISO-8601 needs Z or an offset such as +02:00");
  const rest = s.slice(i + 1);
  let oh: number;
  let om = 0;
  if (rest.length === 2) oh = digits(rest, 0, 2);
  else if (rest.length === 4) {
    oh = digits(rest, 0, 2);
    om = digits(rest, 2, 2);
  } else if (rest.length === 5 && rest.charCodeAt(2) === 58) {
    oh = digits(rest, 0, 2);
    om = digits(rest, 3, 2);
  } else return bad("an offset is ±HH:MM, ±HHMM or ±HH");
  if (oh < 0 || om < 0 || oh > 18 || om > 59) return bad("an offset is at most ±18:00");
  const offsetMs = (zone === 43 ? 1 : -1) * (oh * 60 + om) * 60_000;
  // setUTCFullYear, not Date.UTC: the latter maps years 0-99 to 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, Number(millis));
  date.setTime(date.getTime() - offsetMs);
  const y = date.getUTCFullYear();
  if (y < 1 || y > 9999) return bad("the date in UTC is outside years 0001-9999");
  return { ok: true, iso: date.toISOString() };
}

/** Milliseconds since the epoch of a normalised ISO string (pacing by event time). */
export function isoToMillis(iso: string): number {
  return Date.parse(iso);
}
