/**
 * The tests' own RFM scoring, written without processing/rfm.ts: a score is 1 + floor(5 × (number
 * of purchasers with a strictly worse value) / purchasers), recency in whole days before the
 * newest event time of the data (`asOfMs`), segments from the documented grid
 * (docs/processing.md, "RFM"). Customers without a purchase are not scored: they are `Prospect`.
 * Shared by processing's integration tests and analytics' report test.
 */

export const PROSPECT = "Prospect";

/** One customer with at least one purchase. */
export interface RfmBuyer {
  user: string;
  /** Epoch ms of the last purchase. */
  lastPurchaseMs: number;
  /** Number of purchase events. */
  purchases: number;
  /** Sum of purchase prices, in cents. */
  cents: number;
}

export interface ReferenceRfm {
  recency_days: number;
  r: number;
  f: number;
  m: number;
  segment: string;
}

/** Recency, scores and segment of every buyer, by user id. */
export function referenceRfm(buyers: readonly RfmBuyer[], asOfMs: number): Map<string, ReferenceRfm> {
  const recency = new Map(buyers.map((b) => [b.user, Math.floor((asOfMs - b.lastPurchaseMs) / 86_400_000)]));
  const score = (value: number, all: number[], higherIsBetter: boolean) =>
    1 + Math.floor((5 * all.filter((v) => (higherIsBetter ? v < value : v > value)).length) / all.length);
  const grid: Record<string, string> = {};
  const rows = [
    ["New", "Potential loyalist", "Potential loyalist", "Champions", "Champions"],
    ["Promising", "Potential loyalist", "Potential loyalist", "Loyal", "Loyal"],
    ["Need attention", "Need attention", "Need attention", "Loyal", "Loyal"],
    ["Hibernating", "Hibernating", "At risk", "At risk", "At risk"],
    ["Lost", "Hibernating", "At risk", "At risk", "At risk"],
  ];
  rows.forEach((row, i) => {
    row.forEach((segment, j) => {
      grid[`${5 - i}${j + 1}`] = segment;
    });
  });
  const recencies = [...recency.values()];
  const freqs = buyers.map((b) => b.purchases);
  const money = buyers.map((b) => b.cents);
  const out = new Map<string, ReferenceRfm>();
  for (const b of buyers) {
    const r = score(recency.get(b.user) ?? 0, recencies, false);
    const f = score(b.purchases, freqs, true);
    const m = score(b.cents, money, true);
    out.set(b.user, { recency_days: recency.get(b.user) ?? 0, r, f, m, segment: grid[`${r}${f}`] ?? "" });
  }
  return out;
}
