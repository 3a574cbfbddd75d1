import type { Client } from "@elastic/elasticsearch";
import { aliasName } from "../core/names.ts";
import type { CaplineEvent } from "../core/schema/events.ts";
import { type Granularity, groupSales, mergeSales, type SalesDocument, salesDelta } from "./aggregates.ts";
import { type DocMerge, type WriteStats, writeDocuments } from "./es-writer.ts";
import type { RangeEvent } from "./lake.ts";
import { mergeProfile, type ProfileDocument, profileDeltas } from "./profiles.ts";
import { type OffsetRange, type Watermarks, watermarkOf } from "./watermark.ts";

/**
 * The index sink: one range of one partition into profiles, sales-daily and sales-hourly. Safe to
 * run any number of times for the same range (watermarks), provided the ranges of a partition are
 * applied in order — the dispatcher runs one index job per partition at a time.
 */

export interface IndexResult {
  events: number;
  profiles: WriteStats;
  daily: WriteStats;
  hourly: WriteStats;
}

export async function indexRange(
  es: Client,
  indexPrefix: string,
  range: OffsetRange,
  rows: readonly RangeEvent[],
): Promise<IndexResult> {
  const plan = planIndex(range, rows);
  const [profiles, daily, hourly] = await Promise.all([
    writeDocuments(es, aliasName(indexPrefix, "profiles"), plan.profiles),
    writeDocuments(es, aliasName(indexPrefix, "sales-daily"), plan.daily),
    writeDocuments(es, aliasName(indexPrefix, "sales-hourly"), plan.hourly),
  ]);
  return { events: rows.length, profiles, daily, hourly };
}

export interface IndexPlan {
  profiles: DocMerge<ProfileDocument>[];
  daily: DocMerge<SalesDocument>[];
  hourly: DocMerge<SalesDocument>[];
}

/** The document merges of one range (pure: the writer supplies the current documents). */
export function planIndex(
  range: OffsetRange,
  rows: readonly RangeEvent[],
  now: Date = new Date(),
): IndexPlan {
  const byUser = new Map<string, RangeEvent[]>();
  for (const row of rows) {
    const list = byUser.get(row.event.user_id);
    if (list) list.push(row);
    else byUser.set(row.event.user_id, [row]);
  }
  const profiles: DocMerge<ProfileDocument>[] = [...byUser].map(([user, list]) => ({
    id: user,
    merge: (current) => {
      const fresh = unapplied(current?.state.wm, range, list);
      const delta = fresh && profileDeltas(fresh).get(user);
      return delta ? mergeProfile(current, delta, range, now) : null;
    },
  }));
  const sales = (g: Granularity): DocMerge<SalesDocument>[] =>
    [...groupSales(rows, (r) => r.event, g).values()].map((group) => ({
      id: group.id,
      merge: (current) => {
        const fresh = unapplied(current?.state.wm, range, group.items);
        return fresh && fresh.length > 0 ? mergeSales(current, salesDelta(group, fresh), range, now) : null;
      },
    }));
  return { profiles, daily: sales("daily"), hourly: sales("hourly") };
}

/**
 * The events of the range the document does not contain yet: those above its watermark for the
 * partition. Filtering by offset (not only comparing range ends) makes a replay that cuts the
 * partition differently — after a consumer-group offset reset, say — still count every event
 * exactly once. `undefined` when the whole range is already in the document.
 */
export function unapplied(
  watermarks: Watermarks | undefined,
  range: OffsetRange,
  rows: readonly RangeEvent[],
): CaplineEvent[] | undefined {
  const wm = watermarkOf(watermarks, range.partition);
  if (range.last <= wm) return undefined;
  return rows.filter((r) => r.offset > wm).map((r) => r.event);
}
