import type { Client } from "@elastic/elasticsearch";
import { errors } from "@elastic/elasticsearch";
import { CaplineError, describeError } from "../core/errors.ts";
import { backoffMs, isRetryable, isRetryableStatus, sleep } from "./retry.ts";

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
 * taken from a bounded cache of what it wrote (source, seq_no, primary_term; a `WriteCache`, owned
 * by the index stage) and written back with that `if_seq_no`; any other document is assumed new and
 * sent as `create`. Both are exactly what an mget would have led to *if* the guess is right, and the
 * server checks the guess: a document changed by anyone else (another process, the RFM job, another
 * partition's aggregate write) or one that exists but was not cached answers 409, and later rounds
 * mget it as before. So the cache changes how many requests are made, never what is written. It
 * pays because a profile is only touched by its own partition's index jobs, which run one at a
 * time, and because every miss of an existing document costs Elasticsearch a refused `create`, a
 * realtime get (8.19 answers it from the translog, without a refresh, but it still costs) and the
 * write: on the 885k benchmark a cache that holds the working set took Elasticsearch's CPU per
 * event down by about a third (BENCHMARKS.md, "The write cache as JSON").
 *
 * Retries (processing/retry.ts): network errors and 502/503/504 are the client transport's; this
 * writer owns 409 (re-read, merge again) and 429 (back off, send again), per item or for the whole
 * request, for `maxRounds`; after that it throws a retryable error and BullMQ runs the job again.
 * A document Elasticsearch refuses for what it is (a 400 about the document: an `_id` over 512
 * bytes, a mapping error) is not retried: it is returned in `refused`, and the caller decides (the
 * index sink sends the events behind it to the DLQ). Any other refusal is about the cluster (auth,
 * a closed or missing index, a block) and fails the job: retried when it can lift, else for good.
 */

export interface DocMerge<D> {
  id: string;
  /** The new document, or null when `current` already contains this change. */
  merge(current: D | undefined): D | null;
}

/** A document Elasticsearch will never take as it is. */
export interface Refusal {
  id: string;
  /** HTTP status of the item (0: the merge itself refused to build it). */
  status: number;
  /** Elasticsearch's error type and reason, or the merge's error. */
  detail: string;
}

export interface WriteStats {
  written: number;
  skipped: number;
  conflicts: number;
  retries: number;
  refused: Refusal[];
}

interface Fetched<D> {
  source: D | undefined;
  seqNo: number | undefined;
  primaryTerm: number | undefined;
}

/** A document as this process last wrote it: its JSON (the bulk line sent) and its version. */
export interface CachedDocument {
  json: string;
  seqNo: number;
  primaryTerm: number;
}

/** What an entry counts against the budget besides its JSON's bytes and its id: the Map slot, four numbers. */
const ENTRY_OVERHEAD_BYTES = 64;

/** What an entry counts against its index's budget. */
const entryCost = (id: string, bytes: number) => bytes + id.length + ENTRY_OVERHEAD_BYTES;

/** The least bytes written before documents are moved down over replaced ones. */
const MIN_WRITTEN_BYTES = 64 << 10;

/** An index's first arena; the next one has the budget's size. */
const FIRST_ARENA_BYTES = 1 << 20;

/** One index's documents: their JSON bytes end to end in one Buffer, and per slot where each lies. */
class IndexArena {
  /** Slot of each held document, in the order last written (which is the order of their bytes). */
  readonly slots = new Map<string, number>();
  /** Bytes counted against the budget: JSON bytes + id + overhead, per held document. */
  cost = 0;
  private buf: Buffer = Buffer.alloc(0);
  /** Where the next document's bytes go; bytes before it of replaced documents are dead. */
  private end = 0;
  /** JSON bytes of the held documents (what a compaction keeps). */
  private liveBytes = 0;
  private offsets = new Int32Array(0);
  private lengths = new Int32Array(0);
  private seqNos = new Float64Array(0);
  private terms = new Float64Array(0);
  private readonly free: number[] = [];
  private used = 0;

  constructor(private readonly capacity: number) {}

  get(id: string): CachedDocument | undefined {
    const slot = this.slots.get(id);
    if (slot === undefined) return undefined;
    const at = this.offsets[slot] as number;
    return {
      json: this.buf.toString("utf8", at, at + (this.lengths[slot] as number)),
      seqNo: this.seqNos[slot] as number,
      primaryTerm: this.terms[slot] as number,
    };
  }

  costOf(id: string): number {
    const slot = this.slots.get(id);
    return slot === undefined ? 0 : entryCost(id, this.lengths[slot] as number);
  }

  /** Holds the document (`bytes`: its JSON's UTF-8 length), replacing what was held under `id`. */
  put(id: string, entry: CachedDocument, bytes: number): void {
    this.drop(id);
    this.room(bytes);
    const slot = this.free.pop() ?? this.newSlot();
    this.buf.write(entry.json, this.end, bytes, "utf8");
    this.offsets[slot] = this.end;
    this.lengths[slot] = bytes;
    this.seqNos[slot] = entry.seqNo;
    this.terms[slot] = entry.primaryTerm;
    this.end += bytes;
    this.liveBytes += bytes;
    this.cost += entryCost(id, bytes);
    this.slots.set(id, slot);
  }

  drop(id: string): void {
    const slot = this.slots.get(id);
    if (slot === undefined) return;
    const bytes = this.lengths[slot] as number;
    this.slots.delete(id);
    this.free.push(slot);
    this.liveBytes -= bytes;
    this.cost -= entryCost(id, bytes);
  }

  clear(): void {
    this.slots.clear();
    this.free.length = 0;
    this.used = 0;
    this.end = 0;
    this.liveBytes = 0;
    this.cost = 0;
  }

  private newSlot(): number {
    if (this.used === this.offsets.length) {
      const size = Math.max(1024, this.used * 2);
      const grow = <T extends Int32Array | Float64Array>(old: T, fresh: T): T => {
        fresh.set(old);
        return fresh;
      };
      this.offsets = grow(this.offsets, new Int32Array(size));
      this.lengths = grow(this.lengths, new Int32Array(size));
      this.seqNos = grow(this.seqNos, new Float64Array(size));
      this.terms = grow(this.terms, new Float64Array(size));
    }
    return this.used++;
  }

  /**
   * Makes `bytes` of room at the end. The held documents lie in the order of `slots` (a document
   * written again moves to the end of both), so moving each to the front, in that order, drops the
   * bytes of replaced ones. An index has at most two arenas in its life: 1 MiB, then one at the
   * budget, written from its start: only the pages written are memory the process uses, so
   * documents are moved down whenever the bytes written reach 1.5 times the bytes held (at least
   * 64 KiB). The pages in use stay within 1.5 times what is held, for about two bytes copied per
   * byte written, and no arena is reallocated as it fills (allocations of this size count as
   * external memory for V8 and start collections of their own). `WriteCache.remember` checks the
   * budget first, so the held bytes and `bytes` always fit.
   */
  private room(bytes: number): void {
    const needed = this.liveBytes + bytes;
    const limit = Math.min(this.capacity, Math.max(MIN_WRITTEN_BYTES, Math.ceil(1.5 * needed)));
    if (limit > this.buf.length) {
      // A first, small arena for a writer that keeps a few documents; then the budget's, once.
      const arena = Buffer.allocUnsafeSlow(
        this.buf.length === 0 ? Math.min(this.capacity, Math.max(FIRST_ARENA_BYTES, limit)) : this.capacity,
      );
      this.buf.copy(arena, 0, 0, this.end);
      this.buf = arena;
    }
    if (this.end + bytes <= limit) return;
    let end = 0;
    for (const slot of this.slots.values()) {
      const at = this.offsets[slot] as number;
      const length = this.lengths[slot] as number;
      if (at !== end) this.buf.copy(this.buf, end, at, at + length);
      this.offsets[slot] = end;
      end += length;
    }
    this.end = end;
  }
}

/**
 * What this process last wrote, per index and document id, with the version Elasticsearch gave
 * it: the writer's first-round guess. Kept as the UTF-8 bytes of the JSON the bulk request
 * carried, end to end in one Buffer per index (an arena), outside V8's heap: the collector never
 * copies, promotes or marks them, and the heap does not grow by its own factor around them (as
 * JSON strings they were the largest part of the heap's live set and of what it promoted:
 * BENCHMARKS.md, "Memory: shared strings, the write cache off the heap, V8's heap settings"). Every document the cache holds is one realtime
 * get (and one refused `create`) Elasticsearch does not have to answer (BENCHMARKS.md, "The write
 * cache as JSON"); a hit costs one UTF-8 decoding and one JSON.parse. Bounded in bytes per index
 * (the JSON's bytes, the id and the entry's overhead): an index's documents are dropped all at
 * once when full (a miss only costs one more round). Owned by the stage that writes (the index sink
 * of one `Workers`), never shared through module state.
 */
export class WriteCache {
  private readonly indices = new Map<string, IndexArena>();

  /** @param perIndexBytes most bytes of documents kept per index. */
  constructor(readonly perIndexBytes = 24 << 20) {}

  private of(index: string): IndexArena {
    let arena = this.indices.get(index);
    if (!arena) {
      arena = new IndexArena(this.perIndexBytes);
      this.indices.set(index, arena);
    }
    return arena;
  }

  get(index: string, id: string): CachedDocument | undefined {
    return this.indices.get(index)?.get(id);
  }

  remember(index: string, id: string, entry: CachedDocument): void {
    const arena = this.of(index);
    const bytes = Buffer.byteLength(entry.json);
    const cost = entryCost(id, bytes);
    if (cost > this.perIndexBytes) {
      arena.drop(id);
      return;
    }
    if (arena.cost - arena.costOf(id) + cost > this.perIndexBytes) arena.clear();
    arena.put(id, entry, bytes);
  }

  forget(index: string, id: string): void {
    this.indices.get(index)?.drop(id);
  }

  /** Document ids of one index, least recently written first. */
  ids(index: string): string[] {
    return [...(this.indices.get(index)?.slots.keys() ?? [])];
  }

  /** Documents held, all indices. */
  get size(): number {
    let n = 0;
    for (const arena of this.indices.values()) n += arena.slots.size;
    return n;
  }

  /** Bytes held (as counted against the budget), all indices. */
  get bytes(): number {
    let n = 0;
    for (const arena of this.indices.values()) n += arena.cost;
    return n;
  }
}

export interface WriteOptions {
  /** Documents per mget/bulk request. @defaultValue 1000 */
  chunk?: number;
  /** Rounds of conflict resolution and 429 backoff before giving up (retryably). @defaultValue 30 */
  maxRounds?: number;
  /** Written documents, for the next batch's first round. @defaultValue a cache for this call only */
  cache?: WriteCache;
  /** Stops between rounds (a worker shutting down). */
  signal?: AbortSignal;
}

export async function writeDocuments<D>(
  es: Client,
  index: string,
  items: readonly DocMerge<D>[],
  options: WriteOptions = {},
): Promise<WriteStats> {
  const chunk = options.chunk ?? 1000;
  const maxRounds = options.maxRounds ?? 30;
  const cache = options.cache ?? new WriteCache();
  const stats: WriteStats = { written: 0, skipped: 0, conflicts: 0, retries: 0, refused: [] };
  for (let i = 0; i < items.length; i += chunk) {
    let pending = items.slice(i, i + chunk);
    let backoff = false;
    for (let round = 0; pending.length > 0; round++) {
      if (round >= maxRounds)
        throw new CaplineError(
          "SERVICE_ERROR",
          `Elasticsearch: ${pending.length} documents of ${index} kept conflicting or being rejected (429)`,
          { retryable: true, details: { index, documents: pending.length } },
        );
      // Round 1 follows the cached/assumed-new guess at once (its 409s are expected); a round
      // after a 429 or a second conflict backs off.
      if (round > 1 || backoff) await sleep(backoffMs(Math.min(round, 6), 50, 2000), options.signal);
      options.signal?.throwIfAborted();
      const next = await writeRound(es, index, pending, stats, cache, round === 0);
      pending = next.again;
      backoff = next.backoff;
    }
  }
  return stats;
}

/**
 * One bulk, after an mget unless `guess` (then the cache, or "new"); returns the items to try
 * again (conflicts, 429/5xx) and whether to wait first.
 */
async function writeRound<D>(
  es: Client,
  index: string,
  items: DocMerge<D>[],
  stats: WriteStats,
  cache: WriteCache,
  guess: boolean,
): Promise<{ again: DocMerge<D>[]; backoff: boolean }> {
  const fetched: Map<string, Fetched<D>> = guess
    ? fromCache<D>(cache, index, items)
    : await mget<D>(
        es,
        index,
        items.map((x) => x.id),
      );
  const operations: unknown[] = [];
  const sent: DocMerge<D>[] = [];
  // Each document serialized once: the bulk line sent (the client passes strings through) and
  // what the cache keeps.
  const documents: string[] = [];
  // A skip is decided on what the server holds, never on the cache alone (an index deleted and
  // recreated under the same name would otherwise look up to date): those items are read next round.
  const verify: DocMerge<D>[] = [];
  for (const item of items) {
    const current = fetched.get(item.id);
    let next: D | null;
    try {
      next = item.merge(current?.source);
    } catch (error) {
      // A merge that refuses its inputs (a total that is no longer a finite number) refuses them
      // every time: the document is refused, like a 400 from the server.
      if (isRetryable(error)) throw error;
      stats.refused.push({ id: item.id, status: 0, detail: describeError(error) });
      continue;
    }
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
    const json = JSON.stringify(next);
    operations.push(json);
    sent.push(item);
    documents.push(json);
  }
  if (sent.length === 0) return { again: verify, backoff: false };
  let results: BulkItem[];
  try {
    results = await sendBulk(es, operations);
  } catch (error) {
    // The whole request refused for load (429): this writer's to retry, after a pause.
    if (error instanceof errors.ResponseError && error.statusCode === 429) {
      stats.retries += sent.length;
      return { again: [...verify, ...sent], backoff: true };
    }
    throw error;
  }
  const again: DocMerge<D>[] = verify;
  let backoff = false;
  for (let n = 0; n < results.length; n++) {
    const result = results[n];
    const item = sent[n];
    if (!result || !item) continue;
    if (result.status >= 200 && result.status < 300) {
      stats.written++;
      const json = documents[n];
      if (json !== undefined && result._seq_no !== undefined && result._primary_term !== undefined)
        cache.remember(index, item.id, { json, seqNo: result._seq_no, primaryTerm: result._primary_term });
      else cache.forget(index, item.id);
    } else if (result.status === 409) {
      stats.conflicts++;
      cache.forget(index, item.id);
      again.push(item);
    } else if (isRetryableStatus(result.status)) {
      stats.retries++;
      backoff = true;
      cache.forget(index, item.id);
      again.push(item);
    } else if (result.status === 400 && DOCUMENT_ERRORS.has(result.error?.type ?? "")) {
      cache.forget(index, item.id);
      stats.refused.push({
        id: item.id,
        status: result.status,
        detail: `${result.error?.type ?? `HTTP ${result.status}`}: ${result.error?.reason ?? "refused"}`,
      });
    } else {
      // Anything else is about the cluster, not the document (auth, an index block, a closed or
      // missing index), the same for every document: the job's failure, retried if it can lift.
      const type = result.error?.type ?? "";
      throw new CaplineError(
        "SERVICE_ERROR",
        `Elasticsearch answered ${result.status} for ${index}/${item.id}: ${type} ${result.error?.reason ?? ""}`.trim(),
        { retryable: type === "cluster_block_exception", details: { index, status: result.status, type } },
      );
    }
  }
  return { again, backoff };
}

/**
 * Elasticsearch's answers about one document itself: the same document is refused every time,
 * whatever else happens. (A 400 can also be about the cluster, e.g. `index_closed_exception`:
 * that is a job failure, never a reason to send records to the DLQ.)
 */
const DOCUMENT_ERRORS = new Set([
  "action_request_validation_exception",
  "mapper_parsing_exception",
  "document_parsing_exception",
  "strict_dynamic_mapping_exception",
  "illegal_argument_exception",
  "x_content_parse_exception",
  "json_parse_exception",
]);

const BULK_FIELDS = "items.*.status,items.*._seq_no,items.*._primary_term,items.*.error";

interface BulkItem {
  status: number;
  _seq_no?: number;
  _primary_term?: number;
  error?: { type?: string; reason?: string | null };
}

/**
 * One bulk request (operations in action/document pairs), an item result per pair. Elasticsearch
 * validates a bulk request whole before running it: one document it can never take (an `_id` over
 * 512 bytes) makes it refuse the whole request with a 400. Such a request is split in halves and
 * each sent again, down to the single document that is refused, which then gets the server's own
 * answer as its item result: a handful of extra requests, only when something is refused.
 */
async function sendBulk(es: Client, operations: unknown[]): Promise<BulkItem[]> {
  try {
    // Only what is read: the full response repeats index, id, version, result and _shards for
    // every item, and parsing it was a visible share of the process's CPU.
    const response = await es.bulk({ operations, filter_path: BULK_FIELDS });
    return (response.items ?? []).map((entry) => (entry.index ?? entry.create ?? { status: 0 }) as BulkItem);
  } catch (error) {
    // Only a 400 is about the documents; 401/403/404 are about the cluster (auth, a block, a
    // missing index): the job's error, never the records'.
    if (!(error instanceof errors.ResponseError) || error.statusCode !== 400) throw error;
    const body = error.meta.body as { error?: { type?: string; reason?: string } } | undefined;
    if (body?.error?.type !== "action_request_validation_exception") throw error;
    const status = 400;
    const pairs = operations.length / 2;
    if (pairs <= 1) {
      return [
        {
          status,
          error: { type: body?.error?.type ?? "refused", reason: body?.error?.reason ?? error.message },
        },
      ];
    }
    const half = Math.ceil(pairs / 2) * 2;
    return [
      ...(await sendBulk(es, operations.slice(0, half))),
      ...(await sendBulk(es, operations.slice(half))),
    ];
  }
}

/** The cached documents among `items`, decoded (each merge gets an object of its own). */
function fromCache<D>(
  cache: WriteCache,
  index: string,
  items: readonly DocMerge<D>[],
): Map<string, Fetched<D>> {
  const out = new Map<string, Fetched<D>>();
  for (const item of items) {
    const hit = cache.get(index, item.id);
    if (hit)
      out.set(item.id, {
        source: JSON.parse(hit.json) as D,
        seqNo: hit.seqNo,
        primaryTerm: hit.primaryTerm,
      });
  }
  return out;
}

async function mget<D>(es: Client, index: string, ids: string[]): Promise<Map<string, Fetched<D>>> {
  const response = await es.mget<D>({ index, ids, realtime: true });
  const out = new Map<string, Fetched<D>>();
  for (const doc of response.docs) {
    if ("error" in doc && doc.error) {
      // An id the server cannot even look up (over 512 bytes) is refused again by the bulk that
      // follows, where it becomes a refusal; read it as missing.
      if (
        doc.error.type === "illegal_argument_exception" ||
        doc.error.type === "action_request_validation_exception"
      ) {
        out.set(doc._id, { source: undefined, seqNo: undefined, primaryTerm: undefined });
        continue;
      }
      // A shard not available yet passes with time; a closed or missing index does not.
      const permanent =
        doc.error.type === "index_closed_exception" || doc.error.type === "index_not_found_exception";
      throw new CaplineError(
        "SERVICE_ERROR",
        `Elasticsearch mget ${index}/${doc._id}: ${doc.error.type}: ${doc.error.reason ?? ""}`,
        { retryable: !permanent },
      );
    }
    const found = "found" in doc && doc.found;
    out.set(doc._id, {
      source: found ? (doc._source as D) : undefined,
      seqNo: found ? doc._seq_no : undefined,
      primaryTerm: found ? doc._primary_term : undefined,
    });
  }
  return out;
}
