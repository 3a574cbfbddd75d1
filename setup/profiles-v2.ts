import type { Client } from "@elastic/elasticsearch";
import { CaplineError } from "../core/errors.ts";
import { aliasName } from "../core/names.ts";
import type { LakeReader } from "../processing/lake-reader.ts";
import { purchasedKey } from "../processing/profiles.ts";

/**
 * Index contract v2 of the profiles (docs/decisions.md): `purchased_categories` and
 * `purchased_brands`, the sets of what a customer bought. Profiles written before it lack them, and
 * nothing in such a profile says what was bought (its `state.categories` counts every event type),
 * so they are filled from the lake, which holds every event once:
 *
 *   1. the purchasers without the sets are listed with their `purchases` and the document's
 *      sequence number;
 *   2. the lake's purchase rows of those customers give each one's sets and purchase count;
 *   3. a customer whose lake count equals the profile's gets the sets, as a partial update guarded
 *      by that sequence number (a worker that wrote the profile meanwhile wins; the next setup
 *      fills it). A customer whose count differs (the lake is behind the index: processing did
 *      not finish, or a store was switched off) is left without them and counted.
 *
 * Idempotent: a rerun fills only what is still missing. Run with processing stopped and caught up
 * (`process --until-idle` done), like the sales migration.
 */

export interface ProfileBackfill {
  /** Profiles given their purchase sets. */
  filled: number;
  /** Purchasers left without them: the lake does not hold all their purchases (or a write raced). */
  left: number;
}

interface Missing {
  purchases: number;
  seqNo: number;
  primaryTerm: number;
}

export const MISSING_PURCHASE_SETS = {
  bool: {
    filter: [{ range: { purchases: { gt: 0 } } }],
    must_not: [{ exists: { field: "purchased_categories" } }],
  },
};

export async function backfillPurchaseSets(
  es: Client,
  prefix: string,
  lake: LakeReader | undefined,
): Promise<ProfileBackfill> {
  const index = aliasName(prefix, "profiles");
  await es.indices.refresh({ index });
  const { count } = await es.count({ index, query: MISSING_PURCHASE_SETS });
  if (count === 0) return { filled: 0, left: 0 };
  if (!lake) return { filled: 0, left: count };

  const missing = new Map<string, Missing>();
  for await (const page of es.helpers.scrollSearch<{ purchases: number }>({
    index,
    scroll: "2m",
    size: 1000,
    query: MISSING_PURCHASE_SETS,
    _source: ["purchases"],
    seq_no_primary_term: true,
    sort: ["_doc"],
  }))
    for (const hit of page.body.hits.hits)
      if (hit._id && hit._source && hit._seq_no !== undefined && hit._primary_term !== undefined)
        missing.set(hit._id, {
          purchases: hit._source.purchases,
          seqNo: hit._seq_no,
          primaryTerm: hit._primary_term,
        });

  const found = new Map<string, { n: number; categories: Set<string>; brands: Set<string> }>();
  for (const dt of await lake.days())
    for await (const rows of lake.rows(dt, ["user_id", "event_type", "category_code", "brand"]))
      for (const row of rows) {
        if (row.event_type !== "purchase") continue;
        const user = String(row.user_id);
        if (!missing.has(user)) continue;
        let f = found.get(user);
        if (!f) {
          f = { n: 0, categories: new Set(), brands: new Set() };
          found.set(user, f);
        }
        f.n++;
        f.categories.add(purchasedKey((row.category_code as string | null) ?? null));
        f.brands.add(purchasedKey((row.brand as string | null) ?? null));
      }

  const result: ProfileBackfill = { filled: 0, left: 0 };
  const ready = [...missing].filter(([user, m]) => found.get(user)?.n === m.purchases);
  result.left = missing.size - ready.length;
  for (let i = 0; i < ready.length; i += 1000) {
    const chunk = ready.slice(i, i + 1000);
    const operations = chunk.flatMap(([user, m]) => {
      const f = found.get(user);
      return [
        { update: { _index: index, _id: user, if_seq_no: m.seqNo, if_primary_term: m.primaryTerm } },
        {
          doc: {
            purchased_categories: [...(f?.categories ?? [])].sort(),
            purchased_brands: [...(f?.brands ?? [])].sort(),
          },
        },
      ];
    });
    const answer = await es.bulk({ operations });
    for (const item of answer.items) {
      const r = item.update;
      if (!r?.error) {
        result.filled++;
        continue;
      }
      // Written meanwhile (409): left for the next run, which sees it again. Erased (404, `forget`):
      // nothing to fill.
      if (r.status === 409) {
        result.left++;
        continue;
      }
      if (r.status === 404) continue;
      throw new CaplineError(
        "SERVICE_ERROR",
        `index contract v2 migration: fill the profiles' purchase sets: ${r.error.type}: ${r.error.reason ?? ""}`,
        { retryable: (r.status ?? 0) >= 500 || r.status === 429 },
      );
    }
  }
  await es.indices.refresh({ index });
  return result;
}
