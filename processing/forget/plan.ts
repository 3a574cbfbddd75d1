import { CaplineError } from "../../core/errors.ts";
import type { CaplineEvent } from "../../core/schema/events.ts";
import {
  type Granularity,
  groupSales,
  type HourlyCounts,
  type SalesDocument,
  salesDelta,
} from "../aggregates.ts";
import { fromCents } from "../profiles.ts";
import { utcDate } from "../time.ts";
import { type Watermarks, watermarkOf } from "../watermark.ts";

/**
 * The pure part of `capline forget`: which aggregate documents hold the forgotten customers'
 * events and how much to take out of each (docs/forget.md, "Aggregates, exactly").
 *
 * An event (partition p, offset o) counts in an aggregate document exactly when the document's
 * watermark for p is at or past o: a partition's ranges reach a document in offset order, and a
 * merge takes every event of the document above the old watermark up to the range's end. The
 * forget run reads the watermarks while no index job can write (its planning lease), so each
 * decrement is exactly what was merged, neither an event still to come (those are dropped by the
 * forget list) nor one counted twice.
 */

/** One event of a forgotten customer, as the lake or a range payload holds it. */
export interface ForgottenRow {
  partition: number;
  offset: number;
  event: CaplineEvent;
}

export type SalesIndexName = "sales-daily" | "sales-hourly";

export const SALES_INDEX_OF: Record<Granularity, SalesIndexName> = {
  daily: "sales-daily",
  hourly: "sales-hourly",
};

/** What one forget run takes out of one aggregate document. */
export interface Decrement {
  index: SalesIndexName;
  id: string;
  views: number;
  carts: number;
  removes: number;
  purchases: number;
  revenueCents: number;
  /** Daily product documents: per hour of day. */
  hours?: HourlyCounts;
}

/** The documents the rows count in, per index: id → the rows. */
export function salesTargets(
  rows: readonly ForgottenRow[],
): Map<SalesIndexName, Map<string, ForgottenRow[]>> {
  const out = new Map<SalesIndexName, Map<string, ForgottenRow[]>>();
  for (const granularity of ["daily", "hourly"] as const) {
    const groups = new Map<string, ForgottenRow[]>();
    for (const group of groupSales(rows, (r) => r.event, granularity).values())
      groups.set(group.id, group.items);
    out.set(SALES_INDEX_OF[granularity], groups);
  }
  return out;
}

/**
 * The decrements, given each target document's watermarks as they are now (undefined: the document
 * does not exist, so nothing of it is merged). Rows not merged yet are left out.
 */
export function planDecrements(
  rows: readonly ForgottenRow[],
  watermarksOf: (index: SalesIndexName, id: string) => Watermarks | undefined,
): Decrement[] {
  const out: Decrement[] = [];
  for (const granularity of ["daily", "hourly"] as const) {
    const index = SALES_INDEX_OF[granularity];
    for (const group of groupSales(rows, (r) => r.event, granularity).values()) {
      const wm = watermarksOf(index, group.id);
      if (wm === undefined) continue;
      const merged = group.items.filter((r) => r.offset <= watermarkOf(wm, r.partition));
      if (merged.length === 0) continue;
      const d = salesDelta(
        group,
        merged.map((r) => r.event),
      );
      out.push({
        index,
        id: group.id,
        views: d.views,
        carts: d.carts,
        removes: d.removes,
        purchases: d.purchases,
        revenueCents: d.revenueCents,
        ...(d.hours ? { hours: d.hours } : {}),
      });
    }
  }
  out.sort((a, b) =>
    a.index === b.index ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.index < b.index ? -1 : 1,
  );
  return out;
}

/**
 * The document without the decrement, marked with the run (`state.forgotten`), or null when it
 * already carries the mark (a rerun after a kill). A count that would go below zero is a bug (the
 * plan took out more than was merged): refused, never written.
 */
export function subtractSales(
  current: SalesDocument,
  d: Decrement,
  runId: string,
  now: Date = new Date(),
): SalesDocument | null {
  if (current.state.forgotten?.includes(runId)) return null;
  const sub = (field: string, have: number, take: number): number => {
    const left = have - take;
    if (!Number.isSafeInteger(left) || left < 0)
      throw new CaplineError(
        "INTERNAL",
        `forget would take ${take} from ${field} ${have} of aggregate ${d.id}: refused (the plan does not match the document)`,
        { details: { index: d.index, id: d.id, field } },
      );
    return left;
  };
  const cents = sub("revenue_cents", current.state.revenue_cents, d.revenueCents);
  let hours = current.state.hours;
  if (d.hours) {
    hours = { ...current.state.hours };
    for (const [h, take] of Object.entries(d.hours)) {
      const have = hours[h] ?? [0, 0, 0, 0, 0];
      const left = have.map((v, i) => sub(`hours.${h}[${i}]`, v, take[i] ?? 0)) as typeof have;
      if (left.every((v) => v === 0)) delete hours[h];
      else hours[h] = left;
    }
  }
  return {
    ...current,
    views: sub("views", current.views, d.views),
    carts: sub("carts", current.carts, d.carts),
    removes: sub("removes", current.removes, d.removes),
    purchases: sub("purchases", current.purchases, d.purchases),
    revenue: fromCents(cents),
    updated_at: now.toISOString(),
    state: {
      ...current.state,
      revenue_cents: cents,
      ...(hours ? { hours } : {}),
      forgotten: [...(current.state.forgotten ?? []), runId],
    },
  };
}

/**
 * A document with no event left: every event counts 1 in one of the four counts, so all four at 0
 * means every event it held was a forgotten customer's. Such a document is deleted (an independent
 * computation over the remaining events has no such document).
 */
export function isEmptySales(doc: Pick<SalesDocument, "views" | "carts" | "removes" | "purchases">): boolean {
  return doc.views === 0 && doc.carts === 0 && doc.removes === 0 && doc.purchases === 0;
}

/** Every UTC day from `first` to `last` (ISO instants), both included. */
export function daysBetween(first: string, last: string): string[] {
  const from = Date.parse(`${first.slice(0, 10)}T00:00:00Z`);
  const to = Date.parse(`${last.slice(0, 10)}T00:00:00Z`);
  if (!Number.isFinite(from) || !Number.isFinite(to)) return [];
  const out: string[] = [];
  for (let t = from; t <= to; t += 86_400_000) out.push(utcDate(t));
  return out;
}

/** Rows found twice (a range still in Redis whose file is in the lake too) counted once. */
export function uniqueRows(rows: Iterable<ForgottenRow>): ForgottenRow[] {
  const seen = new Map<string, ForgottenRow>();
  for (const r of rows) seen.set(`${r.partition}:${r.offset}`, r);
  return [...seen.values()].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}
