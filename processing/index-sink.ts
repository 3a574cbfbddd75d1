import type { Client } from "@elastic/elasticsearch";
import { aliasName } from "../core/names.ts";
import {
  type Granularity,
  groupSales,
  mergeSales,
  type SalesDelta,
  type SalesDocument,
  salesDelta,
} from "./aggregates.ts";
import { type PoisonRecord, poisonOf } from "./dlq.ts";
import {
  type DocMerge,
  type Refusal,
  type WriteCache,
  type WriteStats,
  writeDocuments,
} from "./es-writer.ts";
import type { RangeEvent } from "./lake.ts";
import { mergeProfile, type ProfileDelta, type ProfileDocument, profileDeltas } from "./profiles.ts";
import { type OffsetRange, watermarkOf } from "./watermark.ts";

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
  /**
   * Events behind documents Elasticsearch refused (docs/processing.md, "Poison records"), one
   * record per event, for the DLQ. Empty on a clean range.
   */
  poison: PoisonRecord[];
}

export interface IndexOptions {
  /** What this stage wrote, for the writer's first-round guess. */
  cache?: WriteCache;
  signal?: AbortSignal;
}

/**
 * Writes one range. A document Elasticsearch refuses for what it is does not fail the range: the
 * events merged into it become poison records (the caller sends them to the DLQ before it reports
 * the range done), and every other document is written as usual.
 */
export async function indexRange(
  es: Client,
  indexPrefix: string,
  range: OffsetRange,
  rows: readonly RangeEvent[],
  options: IndexOptions = {},
): Promise<IndexResult> {
  const plan = planIndex(range, rows);
  const write = <D>(name: "profiles" | "sales-daily" | "sales-hourly", items: readonly PlannedMerge<D>[]) =>
    writeDocuments(es, aliasName(indexPrefix, name), items, {
      ...(options.cache ? { cache: options.cache } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  const [profiles, daily, hourly] = await Promise.all([
    write("profiles", plan.profiles),
    write("sales-daily", plan.daily),
    write("sales-hourly", plan.hourly),
  ]);
  return {
    events: rows.length,
    profiles,
    daily,
    hourly,
    poison: poisonOfRefusals(range, [
      [aliasName(indexPrefix, "profiles"), plan.profiles, profiles.refused],
      [aliasName(indexPrefix, "sales-daily"), plan.daily, daily.refused],
      [aliasName(indexPrefix, "sales-hourly"), plan.hourly, hourly.refused],
    ]),
  };
}

/**
 * The events behind the documents Elasticsearch refused, one poison record per event (an event
 * behind refused documents of several indices is named once, by the first), in offset order.
 */
export function poisonOfRefusals(
  range: OffsetRange,
  refusals: ReadonlyArray<
    readonly [index: string, items: readonly PlannedMerge<unknown>[], refused: readonly Refusal[]]
  >,
): PoisonRecord[] {
  const poison = new Map<number, PoisonRecord>();
  for (const [index, items, refused] of refusals) {
    if (refused.length === 0) continue;
    const byId = new Map(items.map((item) => [item.id, item]));
    for (const refusal of refused) {
      const item = byId.get(refusal.id);
      if (!item) continue;
      const detail = `${index} refused document ${truncate(refusal.id, 40)}: ${truncate(shortenQuotes(refusal.detail), 1000)}`;
      for (const record of poisonOf(range, item.rows, "sink_refused", "elasticsearch", detail))
        if (!poison.has(record.offset)) poison.set(record.offset, record);
    }
  }
  return [...poison.values()].sort((a, b) => a.offset - b.offset);
}

/** Elasticsearch quotes the offending value in brackets (a 600-byte id...): keep its start. */
function shortenQuotes(text: string): string {
  return text.replace(/\[([^\]]{81,})\]/g, (_, quoted: string) => `[${truncate(quoted, 40)}]`);
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/** A document merge and the events of the range it is built from. */
export interface PlannedMerge<D> extends DocMerge<D> {
  rows: readonly RangeEvent[];
}

export interface IndexPlan {
  profiles: PlannedMerge<ProfileDocument>[];
  daily: PlannedMerge<SalesDocument>[];
  hourly: PlannedMerge<SalesDocument>[];
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
  // A merge runs again after every conflict, but the delta of the whole range is the same each
  // time: it is made once, on first use. Only a document that already holds part of the range (a
  // replay cut at other boundaries) gets a delta of the rest.
  const profiles: PlannedMerge<ProfileDocument>[] = [...byUser].map(([user, list]) => {
    let whole: ProfileDelta | undefined;
    return {
      id: user,
      rows: list,
      merge: (current) => {
        const wm = watermarkOf(current?.state.wm, range.partition);
        if (range.last <= wm) return null;
        if (wm < range.first) {
          whole ??= profileDeltas(list.map((r) => r.event)).get(user);
          return whole ? mergeProfile(current, whole, range, now) : null;
        }
        const delta = profileDeltas(list.filter((r) => r.offset > wm).map((r) => r.event)).get(user);
        return delta ? mergeProfile(current, delta, range, now) : null;
      },
    };
  });
  const sales = (g: Granularity): PlannedMerge<SalesDocument>[] =>
    [...groupSales(rows, (r) => r.event, g).values()].map((group) => {
      let whole: SalesDelta | undefined;
      return {
        id: group.id,
        rows: group.items,
        merge: (current) => {
          const wm = watermarkOf(current?.state.wm, range.partition);
          if (range.last <= wm) return null;
          if (wm < range.first) {
            whole ??= salesDelta(
              group,
              group.items.map((r) => r.event),
            );
            return mergeSales(current, whole, range, now);
          }
          const fresh = group.items.filter((r) => r.offset > wm).map((r) => r.event);
          return fresh.length > 0 ? mergeSales(current, salesDelta(group, fresh), range, now) : null;
        },
      };
    });
  return { profiles, daily: sales("daily"), hourly: sales("hourly") };
}
