/**
 * Numbers and counted nouns for people: thousands separators always, the plural only when it is
 * not one ("1 event", "0 events", "12,345 events"). Every summary a command prints uses these.
 */

const numbers = new Intl.NumberFormat("en-US");

/** 1234567 → "1,234,567". */
export function num(n: number): string {
  return numbers.format(n);
}

/** count(1, "event") → "1 event"; count(2, "index", "indices") → "2 indices". */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${num(n)} ${n === 1 ? singular : plural}`;
}
