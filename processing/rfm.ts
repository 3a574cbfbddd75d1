import { MS_PER_DAY } from "./time.ts";

/**
 * RFM scoring (recency, frequency, monetary) and the segment map (docs/processing.md, "RFM").
 *
 * - Scores 1..5 are quintiles over the customers with at least one purchase. Ties share a score:
 *   a value's score comes from the rank of its first occurrence, so equal inputs always get equal
 *   scores whatever the order of the input.
 * - Recency is measured from the newest event time in the data (`asOfMs`), never the wall clock,
 *   so a replay of an old export scores the same as it did live.
 * - Customers without a purchase are not scored; their segment is `Prospect`.
 */

export interface RfmInput {
  user_id: string;
  /** Epoch ms of the last purchase. */
  lastPurchaseMs: number;
  /** Number of purchase events. */
  frequency: number;
  /** Sum of purchase prices, in cents. */
  monetaryCents: number;
}

export interface RfmScore {
  user_id: string;
  recency_days: number;
  r: number;
  f: number;
  m: number;
  rfm_score: string;
  segment: Segment;
}

export const SEGMENTS = [
  "Champions",
  "Loyal",
  "Potential loyalist",
  "New",
  "Promising",
  "Need attention",
  "At risk",
  "Hibernating",
  "Lost",
] as const;
export type Segment = (typeof SEGMENTS)[number];
export const NO_PURCHASE_SEGMENT = "Prospect";

/**
 * Quintile scores 1..5 of `values`, higher value → higher score. With ties, the score of a value
 * is `floor(5 * firstRank / n) + 1` where firstRank is the 0-based rank of its first occurrence
 * in ascending order.
 */
export function quintileScores(values: readonly number[]): number[] {
  const n = values.length;
  const sorted = [...values].sort((a, b) => a - b);
  const firstRank = new Map<number, number>();
  sorted.forEach((v, i) => {
    if (!firstRank.has(v)) firstRank.set(v, i);
  });
  return values.map((v) => Math.floor((5 * (firstRank.get(v) ?? 0)) / n) + 1);
}

/**
 * The segment of an (R, F) pair: the widely used RFM segment grid on recency and frequency
 * scores (M refines the score string but not the segment).
 *
 * | R \ F | 1 | 2 | 3 | 4 | 5 |
 * |---|---|---|---|---|---|
 * | 5 | New | Potential loyalist | Potential loyalist | Champions | Champions |
 * | 4 | Promising | Potential loyalist | Potential loyalist | Loyal | Loyal |
 * | 3 | Need attention | Need attention | Need attention | Loyal | Loyal |
 * | 2 | Hibernating | Hibernating | At risk | At risk | At risk |
 * | 1 | Lost | Hibernating | At risk | At risk | At risk |
 */
export function segmentOf(r: number, f: number): Segment {
  if (r >= 5 && f >= 4) return "Champions";
  if (r >= 3 && f >= 4) return "Loyal";
  if (r >= 4 && f >= 2) return "Potential loyalist";
  if (r >= 5) return "New";
  if (r === 4) return "Promising";
  if (r === 3) return "Need attention";
  if (f >= 3) return "At risk";
  if (r === 1 && f === 1) return "Lost";
  return "Hibernating";
}

/** Scores every purchaser against the newest event time of the data (`asOfMs`). */
export function scoreRfm(customers: readonly RfmInput[], asOfMs: number): RfmScore[] {
  if (customers.length === 0) return [];
  const recency = customers.map((c) => Math.max(0, Math.floor((asOfMs - c.lastPurchaseMs) / MS_PER_DAY)));
  // Fewer days since the last purchase is better: score the negated recency.
  const r = quintileScores(recency.map((d) => -d));
  const f = quintileScores(customers.map((c) => c.frequency));
  const m = quintileScores(customers.map((c) => c.monetaryCents));
  return customers.map((c, i) => {
    const ri = r[i] ?? 1;
    const fi = f[i] ?? 1;
    const mi = m[i] ?? 1;
    return {
      user_id: c.user_id,
      recency_days: recency[i] ?? 0,
      r: ri,
      f: fi,
      m: mi,
      rfm_score: `${ri}${fi}${mi}`,
      segment: segmentOf(ri, fi),
    };
  });
}
