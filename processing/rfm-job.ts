import type { Client } from "@elastic/elasticsearch";
import { CaplineError } from "../core/errors.ts";
import { aliasName } from "../core/names.ts";
import { isRetryableStatus } from "./retry.ts";
import { type RfmInput, scoreRfm } from "./rfm.ts";
import { toMillis } from "./time.ts";

/**
 * Recomputes RFM scores and segments of every purchaser from the profiles index (the periodic
 * job, and the last step of `process --until-idle`). Recency is measured from the newest
 * `last_seen` of all profiles: the newest event time in the data, not the wall clock.
 *
 * Writes are partial `doc` updates of the RFM fields only (no script): Elasticsearch applies them
 * to the latest version of the document, and the index sink's whole-document writes are guarded
 * by `if_seq_no`, so neither side can overwrite the other's fields. Only changed scores are sent.
 */

export interface RfmRunResult {
  purchasers: number;
  updated: number;
  /** Newest event time in the data (ISO), or null when there are no profiles. */
  as_of: string | null;
}

interface PurchaserSource {
  user_id: string;
  last_purchase_at: string | null;
  purchases: number;
  total_spent: number;
  recency_days?: number | null;
  r?: number | null;
  f?: number | null;
  m?: number | null;
  segment?: string | null;
}

export async function recomputeRfm(es: Client, indexPrefix: string): Promise<RfmRunResult> {
  const index = aliasName(indexPrefix, "profiles");
  // Network errors and 5xx are the client transport's to retry (processing/retry.ts).
  await es.indices.refresh({ index });
  const newest = await es.search({ index, size: 0, aggs: { newest: { max: { field: "last_seen" } } } });
  const asOfMs = (newest.aggregations?.newest as { value: number | null } | undefined)?.value ?? null;
  if (asOfMs === null) return { purchasers: 0, updated: 0, as_of: null };

  const purchasers: PurchaserSource[] = [];
  let page = await es.search<PurchaserSource>({
    index,
    scroll: "2m",
    size: 5000,
    query: { range: { purchases: { gt: 0 } } },
    _source: [
      "user_id",
      "last_purchase_at",
      "purchases",
      "total_spent",
      "recency_days",
      "r",
      "f",
      "m",
      "segment",
    ],
  });
  try {
    while (page.hits.hits.length > 0) {
      for (const hit of page.hits.hits) if (hit._source?.last_purchase_at) purchasers.push(hit._source);
      const scrollId = page._scroll_id;
      if (!scrollId) break;
      page = await es.scroll<PurchaserSource>({ scroll_id: scrollId, scroll: "2m" });
    }
  } finally {
    const scrollId = page._scroll_id;
    if (scrollId) await es.clearScroll({ scroll_id: scrollId }).catch(() => undefined);
  }

  const inputs: RfmInput[] = purchasers.map((p) => ({
    user_id: p.user_id,
    lastPurchaseMs: toMillis(p.last_purchase_at ?? ""),
    frequency: p.purchases,
    monetaryCents: Math.round(p.total_spent * 100),
  }));
  const byUser = new Map(purchasers.map((p) => [p.user_id, p]));
  const changed = scoreRfm(inputs, asOfMs).filter((s) => {
    const p = byUser.get(s.user_id);
    return (
      !p ||
      p.r !== s.r ||
      p.f !== s.f ||
      p.m !== s.m ||
      p.segment !== s.segment ||
      p.recency_days !== s.recency_days
    );
  });
  for (let i = 0; i < changed.length; i += 2000) {
    const chunk = changed.slice(i, i + 2000);
    const operations = chunk.flatMap((s) => [
      { update: { _index: index, _id: s.user_id, retry_on_conflict: 5 } },
      {
        doc: {
          recency_days: s.recency_days,
          r: s.r,
          f: s.f,
          m: s.m,
          rfm_score: s.rfm_score,
          segment: s.segment,
        },
      },
    ]);
    const response = await es.bulk({ operations });
    const failed = response.items.filter((it) => (it.update?.status ?? 200) >= 300);
    if (failed.length > 0) {
      const retryable = failed.every((it) => isRetryableStatus(it.update?.status));
      throw new CaplineError(
        "SERVICE_ERROR",
        `Elasticsearch refused ${failed.length} RFM updates in ${index}`,
        {
          retryable,
          details: { index, first: failed[0]?.update?.error?.reason },
        },
      );
    }
  }
  return { purchasers: purchasers.length, updated: changed.length, as_of: new Date(asOfMs).toISOString() };
}
