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
 *
 * Fewer reads: the first round of a batch does not mget. A document this process wrote recently is
 * taken from a bounded per-index cache of what it wrote (source, seq_no, primary_term) and written
 * back with that `if_seq_no`; any other document is assumed new and sent as `create`. Both are
 * exactly what an mget would have led to *if* the guess is right, and the server checks the guess:
 * a document changed by anyone else (another process, the RFM job, another partition's aggregate
 * write) or one that exists but was not cached answers 409, and later rounds mget it as before. So
 * the cache changes how many requests are made, never what is written. It pays because a profile
 * is only touched by its own partition's index jobs, which run one at a time, and because
 * Elasticsearch answers a realtime get of a just-written document by refreshing the shard.
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

/** Most documents cached per index. */
const CACHE_DOCUMENTS = 50_000;
const written = new Map<string, Map<string, Fetched<unknown>>>();

function cacheOf<D>(index: string): Map<string, Fetched<D>> {
  let cache = written.get(index);
  if (!cache) {
    cache = new Map();
    written.set(index, cache);
  }
  return cache as Map<string, Fetched<D>>;
}

function remember<D>(cache: Map<string, Fetched<D>>, id: string, entry: Fetched<D>): void {
  // Dropped whole when full: evicting one entry at a time from the front of a Map leaves holes
  // that every later front lookup walks over (it showed up in the profile), and a miss only costs
  // one more round.
  if (cache.size >= CACHE_DOCUMENTS && !cache.has(id)) cache.clear();
  cache.set(id, entry);
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
      // Round 1 follows the cached/assumed-new guess at once; later ones back off.
      if (round > 1) await sleep(backoffMs(Math.min(round - 1, 6), 50, 2000));
      pending = await writeRound(es, index, pending, stats, round === 0);
    }
  }
  return stats;
}

/**
 * One bulk, after an mget unless `guess` (then the cache, or "new"); returns the items to try
 * again (conflicts, 429/5xx).
 */
async function writeRound<D>(
  es: Client,
  index: string,
  items: DocMerge<D>[],
  stats: WriteStats,
  guess: boolean,
): Promise<DocMerge<D>[]> {
  const cache = cacheOf<D>(index);
  const fetched = guess
    ? cache
    : await withRetries(() =>
        mget<D>(
          es,
          index,
          items.map((x) => x.id),
        ),
      );
  const operations: unknown[] = [];
  const sent: DocMerge<D>[] = [];
  const documents: D[] = [];
  // A skip is decided on what the server holds, never on the cache alone (an index deleted and
  // recreated under the same name would otherwise look up to date): those items are read next round.
  const verify: DocMerge<D>[] = [];
  for (const item of items) {
    const current = fetched.get(item.id);
    const next = item.merge(current?.source);
    if (next === null) {
      if (guess && current !== undefined) verify.push(item);
      else stats.skipped++;
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
    documents.push(next);
  }
  if (sent.length === 0) return verify;
  // Only what is read below: the full response repeats index, id, version, result and _shards for
  // every item, and parsing it was a visible share of the process's CPU.
  const response = await withRetries(() => es.bulk({ operations, filter_path: BULK_FIELDS }));
  const again: DocMerge<D>[] = verify;
  response.items.forEach((entry, n) => {
    const result = entry.index ?? entry.create;
    const item = sent[n];
    if (!result || !item) return;
    if (result.status >= 200 && result.status < 300) {
      stats.written++;
      remember(cache, item.id, {
        source: documents[n],
        seqNo: result._seq_no,
        primaryTerm: result._primary_term,
      });
    } else if (result.status === 409) {
      stats.conflicts++;
      cache.delete(item.id);
      again.push(item);
    } else if (isRetryableStatus(result.status)) {
      stats.retries++;
      cache.delete(item.id);
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

const BULK_FIELDS = "items.*.status,items.*._seq_no,items.*._primary_term,items.*.error";

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
