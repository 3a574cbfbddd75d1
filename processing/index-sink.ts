import type { Client } from "@elastic/elasticsearch";
import { aliasName } from "../core/schema/indices.ts";
import { type Granularity, mergeSales, type SalesDocument, salesDeltas } from "./aggregates.ts";
import { type DocMerge, type WriteStats, writeDocuments } from "./es-writer.ts";
import type { RangeEvent } from "./lake.ts";
import { mergeProfile, type ProfileDocument, profileDeltas } from "./profiles.ts";
import type { OffsetRange } from "./watermark.ts";

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
  const events = rows.map((r) => r.event);
  const now = new Date();
  const profileItems: DocMerge<ProfileDocument>[] = [...profileDeltas(events).values()].map((delta) => ({
    id: delta.user_id,
    merge: (current) => mergeProfile(current, delta, range, now),
  }));
  const salesItems = (g: Granularity): DocMerge<SalesDocument>[] =>
    [...salesDeltas(events, g).values()].map((delta) => ({
      id: delta.id,
      merge: (current) => mergeSales(current, delta, range, now),
    }));
  const [profiles, daily, hourly] = await Promise.all([
    writeDocuments(es, aliasName(indexPrefix, "profiles"), profileItems),
    writeDocuments(es, aliasName(indexPrefix, "sales-daily"), salesItems("daily")),
    writeDocuments(es, aliasName(indexPrefix, "sales-hourly"), salesItems("hourly")),
  ]);
  return { events: events.length, profiles, daily, hourly };
}
