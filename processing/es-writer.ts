import type { Client } from "@elastic/elasticsearch";
import { CaplineError } from "../core/errors.ts";
import { backoffMs, isRetryableStatus, sleep, withRetries } from "./retry.ts";

/**
 * Whole-document read-modify-write in bulk, guarded by optimistic concurrency.
 *
 * The local Elasticsearch has no scripting, so an update is: mget the documents (realtime, so a
 * write is visible at once), merge in Node, and write the whole document back with `if_seq_no` /
 * `if_primary_term` (or `create` for a new one). A document that changed in between (another
 * partition's job touched the same aggregate) answers 409: it is read and merged again. The merge
 * itself is watermark-guarded, so a document that already contains the range is simply skipped.
 */

export interface DocMerge<D> {
  id: string;
  /** The new document, or null when `current` already contains this change. */
  merge(current: D | undefined): D | null;
}

export interface WriteStats {
  written: number;
  skipped: number;
  conflicts: number;
  retries: number;
}

export interface WriteOptions {
  /** Documents per mget/bulk request. @defaultValue 1000 */
  chunk?: number;
  /** Rounds of conflict resolution before giving up (retryably). @defaultValue 50 */
  maxRounds?: number;
}

interface Fetched<D> {
  source: D | undefined;
  seqNo: number | undefined;
  primaryTerm: number | undefined;
}

export async function writeDocuments<D>(
  es: Client,
  index: string,
  items: readonly DocMerge<D>[],
  options: WriteOptions = {},
): Promise<WriteStats> {
  const chunk = options.chunk ?? 1000;
  const maxRounds = options.maxRounds ?? 50;
  const stats: WriteStats = { written: 0, skipped: 0, conflicts: 0, retries: 0 };
  for (let i = 0; i < items.length; i += chunk) {
    let pending = items.slice(i, i + chunk);
    for (let round = 0; pending.length > 0; round++) {
      if (round >= maxRounds)
        throw new CaplineError(
          "SERVICE_ERROR",
          `Elasticsearch: ${pending.length} documents of ${index} kept conflicting`,
          {
            retryable: true,
            details: { index, documents: pending.length },
          },
        );
      if (round > 0) await sleep(backoffMs(Math.min(round, 6), 50, 2000));
      pending = await writeRound(es, index, pending, stats);
    }
  }
  return stats;
}

/** One mget + bulk; returns the items to try again (conflicts, 429/5xx). */
async function writeRound<D>(
  es: Client,
  index: string,
  items: DocMerge<D>[],
  stats: WriteStats,
): Promise<DocMerge<D>[]> {
  const fetched = await withRetries(() =>
    mget<D>(
      es,
      index,
      items.map((x) => x.id),
    ),
  );
  const operations: unknown[] = [];
  const sent: DocMerge<D>[] = [];
  for (const item of items) {
    const current = fetched.get(item.id);
    const next = item.merge(current?.source);
    if (next === null) {
      stats.skipped++;
      continue;
    }
    if (current?.source !== undefined && current.seqNo !== undefined && current.primaryTerm !== undefined)
      operations.push({
        index: {
          _index: index,
          _id: item.id,
          if_seq_no: current.seqNo,
          if_primary_term: current.primaryTerm,
        },
      });
    else operations.push({ create: { _index: index, _id: item.id } });
    operations.push(next);
    sent.push(item);
  }
  if (sent.length === 0) return [];
  const response = await withRetries(() => es.bulk({ operations }));
  const again: DocMerge<D>[] = [];
  response.items.forEach((entry, n) => {
    const result = entry.index ?? entry.create;
    const item = sent[n];
    if (!result || !item) return;
    if (result.status >= 200 && result.status < 300) stats.written++;
    else if (result.status === 409) {
      stats.conflicts++;
      again.push(item);
    } else if (isRetryableStatus(result.status)) {
      stats.retries++;
      again.push(item);
    } else
      throw new CaplineError(
        "SERVICE_ERROR",
        `Elasticsearch refused document ${item.id} in ${index}: ${result.error?.type ?? result.status} ${result.error?.reason ?? ""}`,
        { retryable: false, details: { index, id: item.id, status: result.status } },
      );
  });
  return again;
}

async function mget<D>(es: Client, index: string, ids: string[]): Promise<Map<string, Fetched<D>>> {
  const response = await es.mget<D>({ index, ids, realtime: true });
  const out = new Map<string, Fetched<D>>();
  for (const doc of response.docs) {
    if ("error" in doc && doc.error)
      throw new CaplineError(
        "SERVICE_ERROR",
        `Elasticsearch mget ${index}/${doc._id}: ${doc.error.reason ?? doc.error.type}`,
        {
          retryable: true,
        },
      );
    const found = "found" in doc && doc.found;
    out.set(doc._id, {
      source: found ? (doc._source as D) : undefined,
      seqNo: found ? doc._seq_no : undefined,
      primaryTerm: found ? doc._primary_term : undefined,
    });
  }
  return out;
}
