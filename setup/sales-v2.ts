import type { Client } from "@elastic/elasticsearch";
import { CaplineError } from "../core/errors.ts";
import { aliasName } from "../core/names.ts";

/**
 * Moves the documents of a version-1 installation of the sales indices to index contract v2
 * (docs/decisions.md, "Index contract, version 2") in place, with what the local Elasticsearch has:
 * no Painless, no _update_by_query, no _delete_by_query, no _reindex. So:
 *
 *   1. the new fields are added to the mapping (setup/elasticsearch.ts, before this runs);
 *   2. every hourly product document is folded, as one partial update per document, into the
 *      `state.hours` of the daily product document of its day (Elasticsearch merges a partial
 *      `doc` into the stored object key by key, so each hour lands in its own key);
 *   3. the hourly product documents are deleted (scroll + bulk delete);
 *   4. `day_of_week` (and `hour_of_day`) are filled on every document still without them.
 *
 * Each step can be repeated: a rerun after a crash folds the hourly documents that are left again
 * (each writes only its own hour's key, with the same counts) and fills what is still missing.
 * Run it with processing stopped: a range applied between step 2 and step 3 of an interrupted
 * migration would have its hour overwritten by the rerun.
 */

export interface SalesMigration {
  /** Hourly product documents folded into `state.hours` and deleted. */
  folded: number;
  /** Documents given their calendar fields. */
  filled: number;
  /** Hourly product documents whose daily document does not exist (left in place, reported). */
  orphans: number;
}

interface SalesSource {
  bucket: string;
  dimension: string;
  key: string;
  views: number;
  carts: number;
  removes: number;
  purchases: number;
  state?: { revenue_cents?: number };
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

function calendar(bucket: string, hourly: boolean): Record<string, number> {
  const ms = Date.parse(bucket);
  const day = Math.floor(ms / DAY);
  const out: Record<string, number> = { day_of_week: ((((day + 3) % 7) + 7) % 7) + 1 };
  if (hourly) out.hour_of_day = Math.floor(ms / HOUR) % 24;
  return out;
}

/** The daily document id of an hourly one: the id starts with the bucket (processing/aggregates.ts). */
function dailyId(hourlyId: string, bucket: string): string {
  if (!hourlyId.startsWith(`${bucket}|`))
    throw new CaplineError("INTERNAL", `sales document ${hourlyId} does not start with its bucket ${bucket}`);
  return `${bucket.slice(0, 10)}T00:00:00.000Z${hourlyId.slice(bucket.length)}`;
}

async function bulk(es: Client, operations: unknown[], what: string): Promise<{ missing: number }> {
  if (operations.length === 0) return { missing: 0 };
  const answer = await es.bulk({ operations, refresh: false });
  let missing = 0;
  if (answer.errors) {
    for (const item of answer.items) {
      const result = Object.values(item)[0];
      if (!result?.error) continue;
      if (result.status === 404) {
        missing++;
        continue;
      }
      throw new CaplineError(
        "SERVICE_ERROR",
        `index contract v2 migration: ${what}: ${result.error.type}: ${result.error.reason ?? ""}`,
        { retryable: (result.status ?? 0) >= 500 || result.status === 429 },
      );
    }
  }
  return { missing };
}

/** Every hit of a query, 1,000 at a time (scroll), handed to `each` page by page. */
async function scan(
  es: Client,
  index: string,
  query: Record<string, unknown>,
  each: (hits: Array<{ _id: string; _source: SalesSource }>) => Promise<void>,
): Promise<void> {
  for await (const page of es.helpers.scrollSearch<SalesSource>({
    index,
    scroll: "2m",
    size: 1000,
    query,
    _source: ["bucket", "dimension", "key", "views", "carts", "removes", "purchases", "state.revenue_cents"],
    sort: ["_doc"],
  })) {
    const hits = page.body.hits.hits.flatMap((h) =>
      h._id && h._source ? [{ _id: h._id, _source: h._source }] : [],
    );
    await each(hits);
  }
}

/** Steps 2–4 above for the sales indices under `prefix`; all zeros when there is nothing to do. */
export async function migrateSalesDocuments(es: Client, prefix: string): Promise<SalesMigration> {
  const daily = aliasName(prefix, "sales-daily");
  const hourly = aliasName(prefix, "sales-hourly");
  const products = { term: { dimension: "product" } };
  const withoutCalendar = { bool: { must_not: [{ exists: { field: "day_of_week" } }] } };
  const [{ count: hourlyProducts }, { count: hourlyBare }, { count: dailyBare }] = await Promise.all([
    es.count({ index: hourly, query: products }),
    es.count({ index: hourly, query: withoutCalendar }),
    es.count({ index: daily, query: withoutCalendar }),
  ]);
  const result: SalesMigration = { folded: 0, filled: 0, orphans: 0 };
  if (hourlyProducts + hourlyBare + dailyBare === 0) return result;
  await es.indices.refresh({ index: [daily, hourly] });

  if (hourlyProducts > 0) {
    const orphans = new Set<string>();
    await scan(es, hourly, products, async (hits) => {
      const operations = hits.flatMap(({ _id, _source: s }) => {
        const hour = String(Math.floor(Date.parse(s.bucket) / HOUR) % 24);
        const counts = [s.views, s.carts, s.removes, s.purchases, s.state?.revenue_cents ?? 0];
        return [
          { update: { _index: daily, _id: dailyId(_id, s.bucket) } },
          { doc: { state: { hours: { [hour]: counts } } } },
        ];
      });
      const { missing } = await bulk(es, operations, "fold hourly product documents into the daily ones");
      if (missing > 0)
        // Which ones: the daily documents that answered 404 (rare: v1 wrote both from every range).
        for (const { _id, _source } of hits) orphans.add(dailyId(_id, _source.bucket));
    });
    await es.indices.refresh({ index: daily });
    if (orphans.size > 0) {
      const { docs } = await es.mget({ index: daily, ids: [...orphans], _source: false });
      result.orphans = docs.filter((d) => !("found" in d && d.found)).length;
    }
    // Only after every hour is folded: a crash before this point leaves the hourly documents, and
    // a rerun folds them again.
    if (result.orphans === 0)
      await scan(es, hourly, products, async (hits) => {
        await bulk(
          es,
          hits.map(({ _id }) => ({ delete: { _index: hourly, _id } })),
          "delete hourly product documents",
        );
        result.folded += hits.length;
      });
    await es.indices.refresh({ index: hourly });
  }

  for (const [index, isHourly] of [
    [daily, false],
    [hourly, true],
  ] as const) {
    await scan(es, index, withoutCalendar, async (hits) => {
      await bulk(
        es,
        hits.flatMap(({ _id, _source: s }) => [
          { update: { _index: index, _id } },
          { doc: calendar(s.bucket, isHourly) },
        ]),
        "fill day_of_week and hour_of_day",
      );
      result.filled += hits.length;
    });
  }
  await es.indices.refresh({ index: [daily, hourly] });
  return result;
}
