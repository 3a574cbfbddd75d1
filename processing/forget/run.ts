import { createHash, randomUUID } from "node:crypto";
import type { Client } from "@elastic/elasticsearch";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { CaplineError } from "../../core/errors.ts";
import type { KafkaAdmin, KafkaOptions } from "../../core/kafka/index.ts";
import {
  aliasName,
  forgetLeaseKey,
  forgetRunKey,
  forgetRunPattern,
  parseRangeId,
  payloadPattern,
  tombstonesKey,
  tombstonesVersionKey,
} from "../../core/names.ts";
import type { SalesDocument } from "../aggregates.ts";
import type { CompactStore } from "../compact.ts";
import { decodePayload } from "../jobs.ts";
import type { ProfileDocument } from "../profiles.ts";
import { isRetryableStatus, sleep } from "../retry.ts";
import { toMillis, utcDate } from "../time.ts";
import type { Watermarks } from "../watermark.ts";
import { countInDlq, type DlqState, type DlqTarget, eraseFromDlq } from "./dlq-kafka.ts";
import { type Days, eraseFromLake, findInLake, type LakeErased, type LakeProgress } from "./lake.ts";
import { LakeLock } from "./lake-lock.ts";
import {
  type Decrement,
  daysBetween,
  type ForgottenRow,
  isEmptySales,
  planDecrements,
  salesTargets,
  subtractSales,
  uniqueRows,
} from "./plan.ts";
import { forgetHash, scoreOf } from "./tombstones.ts";

/**
 * `capline forget USER_ID...` (docs/forget.md): every trace of some customers out of every store,
 * safe under kill -9 at any moment (a rerun with the same ids finishes the job with the same end
 * state), while the pipeline keeps running.
 *
 *   1. plan, under the planning lease (index jobs wait while it is held): wait for the index jobs
 *      that were running when it was taken; read the customers' events (lake + ranges still in
 *      Redis) and the watermarks of the aggregates they count in: the decrements, exactly;
 *   2. in one Redis transaction: the run record with its plan, the customers on the forget list
 *      (every job that starts from then on drops their events), the lease released, and a snapshot
 *      of the archive jobs running; wait for those to finish (a job that read the list before);
 *   3. delete the profiles; take the decrements out of the aggregates, each document marked with
 *      the run in the same write (a rerun skips it); then delete the documents left empty;
 *   4. rewrite the lake files that hold their rows, in every store;
 *   5. rewrite the DLQ partitions that hold records naming them (processing/forget/dlq-kafka.ts);
 *   6. the audit record in the ops index (counts only), and the run marked done.
 * Each phase is recorded in the run record; a rerun starts at the recorded phase.
 */

export interface ForgetServices {
  es: Client;
  /** Commands. */
  redis: Redis;
  /** A connection of its own for the lease's WATCH/MULTI (never shared with concurrent commands). */
  leaseRedis: Redis;
  queues: { archive: Queue; index: Queue };
  /** The enabled lake stores. */
  stores: readonly CompactStore[];
  queuePrefix: string;
  indexPrefix: string;
  topic: string;
  /** The DLQ topic, its brokers and an admin client of them. */
  dlq: { topic: string; kafka: KafkaOptions; admin: KafkaAdmin };
  /** How long a tombstone must last (ms; Infinity: forever): the events topic's retention. */
  tombstoneMs(): Promise<number>;
}

export interface ForgetOptions {
  dryRun?: boolean;
  /** Who asked (the audit record's `actor`). */
  actor: string;
  /** Longest wait for jobs that were running. @defaultValue 120000 */
  barrierTimeoutMs?: number;
  /** The planning lease's time to live, renewed while the run plans. @defaultValue 30000 */
  leaseMs?: number;
  onPhase?: (phase: Phase, facts?: Record<string, unknown>) => void;
  /** A lake file was rewritten without the customers' rows. */
  onLakeFile?: (store: string, key: string, removed: number) => void;
  /** Lake files read so far in a store (planning, rewriting, a dry run). */
  onLakeProgress?: LakeProgress;
  /** A step of the DLQ's rewrite (docs/forget.md, "The DLQ"). */
  onDlqStep?: (step: "planned" | "copied" | "deleted", partition: number, facts: object) => void;
  /** The lake is taken: this run waits (up to `waitMs`) for `other` (a compaction, another forget). */
  onLakeWait?: (other: string, waitMs: number) => void;
  now?: () => Date;
}

export const PHASES = ["planned", "profiles", "aggregates", "cleaned", "lake", "dlq", "done"] as const;
export type Phase = "planning" | "waiting" | (typeof PHASES)[number];

/** The durable progress record of a run (Redis, `forgetRunKey`). */
interface RunRecord {
  run_id: string;
  /** The last phase completed. */
  phase: (typeof PHASES)[number];
  started_at: string;
  customers: number;
  hashes: string[];
  /** Until the profiles are deleted (then removed from the record): the profiles' ids. */
  user_ids?: string[];
  /** Days of the lake to rewrite; "all" when they could not be narrowed. */
  days: string[] | "all";
  decrements: Decrement[];
  /** The DLQ's rewrite, partition by partition, while it runs. */
  dlq?: DlqState;
  expires_at: number | null;
  counts: ForgetCounts;
}

export interface ForgetCounts {
  profiles: number;
  /** Aggregate documents decremented (some of them then deleted). */
  aggregatesDecremented: number;
  /** Aggregate documents deleted because no event was left in them. */
  aggregatesDeleted: number;
  lakeFiles: number;
  lakeRows: number;
  /** DLQ records (refused rows, failed records) that named them, deleted. */
  dlqRecords: number;
}

export interface ForgetResult {
  runId: string;
  dryRun: boolean;
  customers: number;
  /** The run was found finished already (a rerun): nothing was changed. */
  alreadyDone: boolean;
  counts: ForgetCounts;
  lake: LakeErased[];
  /** Other runs found unfinished (killed) and finished first. */
  resumed: string[];
  tombstoneExpiresAt: string | null;
}

/** The id of a run: the same customers give the same id, so a rerun finds its record. */
export function forgetRunId(userIds: readonly string[]): string {
  const sorted = [...new Set(userIds)].sort();
  return createHash("sha256").update(sorted.join("\n"), "utf8").digest("hex").slice(0, 16);
}

const EMPTY_COUNTS: ForgetCounts = {
  profiles: 0,
  aggregatesDecremented: 0,
  aggregatesDeleted: 0,
  lakeFiles: 0,
  lakeRows: 0,
  dlqRecords: 0,
};

export async function forget(
  services: ForgetServices,
  userIds: readonly string[],
  options: ForgetOptions,
): Promise<ForgetResult> {
  const ids = [...new Set(userIds)].sort();
  const runId = forgetRunId(ids);
  const now = options.now ?? (() => new Date());
  const key = forgetRunKey(services.queuePrefix, runId);
  if (options.dryRun) return dryRun(services, ids, runId, options.onLakeProgress);

  const resumed: string[] = [];
  for (const other of await pendingRuns(services))
    if (other.run_id !== runId) {
      await finish(services, other, options, now);
      resumed.push(other.run_id);
    }

  let record = await readRecord(services.redis, key);
  const alreadyDone = record?.phase === "done";
  if (!record) record = await plan(services, ids, runId, options, now);
  const lake = alreadyDone ? [] : await finish(services, record, options, now, ids);
  const final = (await readRecord(services.redis, key)) ?? record;
  return {
    runId,
    dryRun: false,
    customers: ids.length,
    alreadyDone,
    // A record of a run from before the DLQ phase has no dlqRecords.
    counts: { ...EMPTY_COUNTS, ...final.counts },
    lake,
    resumed,
    tombstoneExpiresAt:
      final.expires_at === null || !Number.isFinite(final.expires_at)
        ? null
        : new Date(final.expires_at).toISOString(),
  };
}

// ---- planning ---------------------------------------------------------------------------------

async function plan(
  services: ForgetServices,
  ids: readonly string[],
  runId: string,
  options: ForgetOptions,
  now: () => Date,
): Promise<RunRecord> {
  const hashes = ids.map(forgetHash).sort();
  const tombstoneMs = await services.tombstoneMs();
  const lease = await Lease.acquire(services, options);
  try {
    options.onPhase?.("waiting", { queue: "index", jobs: lease.runningAtStart.length });
    await waitForJobs(services, "index", lease.runningAtStart, options, () => lease.check());
    options.onPhase?.("planning");
    const wanted = new Set(ids);
    const isForgotten = (user: string) => wanted.has(user);
    // Which days hold their events: the profiles' first and last event, and the ranges in flight;
    // a customer with no profile (its profile job not run yet, or refused) makes it every day.
    const profiles = await mgetSources<Pick<ProfileDocument, "first_seen" | "last_seen">>(
      services.es,
      aliasName(services.indexPrefix, "profiles"),
      ids,
      ["first_seen", "last_seen"],
    );
    const inFlight = await rowsInFlight(services, isForgotten);
    const withRows = new Set(inFlight.map((r) => r.event.user_id));
    let days: Days = [];
    const daySet = new Set<string>(inFlight.map((r) => utcDate(toMillis(r.event.event_time))));
    for (const id of ids) {
      const p = profiles.get(id)?.source;
      if (p) for (const d of daysBetween(p.first_seen, p.last_seen)) daySet.add(d);
      else if (!withRows.has(id)) days = "all";
    }
    if (days !== "all") days = [...daySet].sort();
    await lease.check();
    const fromLake: ForgottenRow[] = [];
    const lakeDays = new Set<string>(daySet);
    for (const store of services.stores) {
      const found = await findInLake(store, days, isForgotten, options.onLakeProgress);
      fromLake.push(...found.rows);
      for (const d of found.days) lakeDays.add(d);
      await lease.check();
    }
    // A customer already on the forget list was planned by an earlier run, which took out all of
    // their merged events: what is still in flight of them must not be taken out twice.
    const listed = await alreadyForgotten(services, hashes, now().getTime());
    const rows = uniqueRows([...fromLake, ...inFlight]).filter(
      (r) => !listed.has(forgetHash(r.event.user_id)),
    );
    const decrements = await decrementsOf(services, rows);
    const expiresAt = Number.isFinite(tombstoneMs) ? now().getTime() + tombstoneMs : null;
    const record: RunRecord = {
      run_id: runId,
      phase: "planned",
      started_at: now().toISOString(),
      customers: ids.length,
      hashes,
      user_ids: [...ids],
      days: days === "all" ? "all" : [...lakeDays].sort(),
      decrements,
      expires_at: expiresAt,
      counts: { ...EMPTY_COUNTS },
    };
    // The plan, the forget list and the end of the lease in one transaction: from here on every
    // job that starts drops the customers' events; the archive jobs running now are waited for.
    await lease.commit(record);
    options.onPhase?.("planned", { decrements: decrements.length, days: record.days.length });
    return record;
  } finally {
    await lease.release();
  }
}

/** The planning lease and the run's commit (processing/forget/tombstones.ts says why). */
class Lease {
  private timer: NodeJS.Timeout | undefined;
  private lost = false;
  private busy: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly services: ForgetServices,
    private readonly ttlMs: number,
    /** Index jobs active when the lease was taken (they may write before seeing it). */
    readonly runningAtStart: string[],
    private token: string,
  ) {}

  static async acquire(services: ForgetServices, options: ForgetOptions): Promise<Lease> {
    const ttl = options.leaseMs ?? 30_000;
    const key = forgetLeaseKey(services.queuePrefix);
    const deadline = Date.now() + (options.barrierTimeoutMs ?? 120_000);
    for (;;) {
      const token = randomUUID();
      const replies = await services.redis
        .multi()
        .set(key, token, "PX", ttl, "NX")
        .lrange(services.queues.index.toKey("active"), 0, -1)
        .exec();
      if (replies?.[0]?.[1] === "OK") {
        const lease = new Lease(services, ttl, (replies[1]?.[1] as string[]) ?? [], token);
        lease.timer = setInterval(
          () => {
            lease.busy = lease.busy.then(() => lease.renew()).catch(() => undefined);
          },
          Math.max(1000, Math.floor(ttl / 6)),
        );
        return lease;
      }
      if (Date.now() > deadline)
        throw new CaplineError(
          "CONFLICT",
          `another capline forget has been planning for over ${Math.round((options.barrierTimeoutMs ?? 120_000) / 1000)} s (Redis key ${key}); try again when it is done`,
        );
      await sleep(500);
    }
  }

  /** Extends the lease if it is still ours (WATCH: no other client changed it in between). */
  private async renew(): Promise<void> {
    const r = this.services.leaseRedis;
    const key = forgetLeaseKey(this.services.queuePrefix);
    await r.watch(key);
    if ((await r.get(key)) !== this.token) {
      await r.unwatch();
      this.lost = true;
      return;
    }
    const done = await r.multi().pexpire(key, this.ttlMs).exec();
    if (done === null) this.lost = true;
  }

  /** Throws when the lease was lost (it expired: the run was too slow, or stopped too long). */
  async check(): Promise<void> {
    await this.busy;
    if (this.lost)
      throw new CaplineError(
        "SERVICE_ERROR",
        "the forget run lost its planning lease (it expired while planning); nothing was changed: run it again",
        { retryable: true },
      );
  }

  /**
   * Writes the plan and the forget list and releases the lease, in one transaction, and only if the
   * lease is still ours (so the watermarks the plan read were read while no index job could write).
   */
  async commit(record: RunRecord): Promise<void> {
    clearInterval(this.timer);
    await this.busy;
    const s = this.services;
    const r = s.leaseRedis;
    const key = forgetLeaseKey(s.queuePrefix);
    await r.watch(key);
    if ((await r.get(key)) !== this.token) {
      await r.unwatch();
      this.lost = true;
      await this.check();
    }
    const score = record.expires_at ?? "+inf";
    const members = record.hashes.flatMap((h) => [score, h]);
    const replies = await r
      .multi()
      .set(forgetRunKey(s.queuePrefix, record.run_id), JSON.stringify(record))
      .zadd(tombstonesKey(s.queuePrefix), "GT", ...members)
      .zadd(tombstonesKey(s.queuePrefix), "NX", ...members)
      .incr(tombstonesVersionKey(s.queuePrefix))
      .del(key)
      .exec();
    if (replies === null) {
      this.lost = true;
      await this.check();
    }
    this.token = "";
  }

  /** Gives the lease up (a failed or finished planning); the commit already did. */
  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.busy;
    if (!this.token) return;
    const r = this.services.leaseRedis;
    const key = forgetLeaseKey(this.services.queuePrefix);
    await r.watch(key);
    if ((await r.get(key)) === this.token) await r.multi().del(key).exec();
    else await r.unwatch();
  }
}

/**
 * Waits until none of `jobs` is active in its queue: the jobs that may have read the forget list
 * before it changed (or started before the lease). Bounded, naming what it waits for.
 */
async function waitForJobs(
  services: ForgetServices,
  queue: "archive" | "index",
  jobs: readonly string[],
  options: ForgetOptions,
  between?: () => Promise<void>,
): Promise<void> {
  if (jobs.length === 0) return;
  const timeout = options.barrierTimeoutMs ?? 120_000;
  const deadline = Date.now() + timeout;
  let waiting = new Set(jobs);
  for (;;) {
    const active = new Set(await services.redis.lrange(services.queues[queue].toKey("active"), 0, -1));
    waiting = new Set([...waiting].filter((j) => active.has(j)));
    if (waiting.size === 0) return;
    if (Date.now() > deadline)
      throw new CaplineError(
        "SERVICE_ERROR",
        `capline forget waited ${Math.round(timeout / 1000)} s for ${waiting.size} ${queue} job(s) that were running when it started (${[...waiting].slice(0, 3).join(", ")}); a worker killed while holding one gives it up after its lock (--lock-ms, 30 s by default). Nothing of these customers was deleted yet: run capline forget again`,
        { retryable: true, details: { queue, jobs: [...waiting] } },
      );
    await between?.();
    await sleep(200);
  }
}

/** The customers' events in the ranges still in Redis (their jobs may not have run yet). */
async function rowsInFlight(
  services: ForgetServices,
  isForgotten: (user: string) => boolean,
): Promise<ForgottenRow[]> {
  const out: ForgottenRow[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await services.redis.scan(
      cursor,
      "MATCH",
      payloadPattern(services.queuePrefix),
      "COUNT",
      500,
    );
    cursor = next;
    for (const k of keys) {
      const range = parseRangeId(k);
      if (!range || range.topic !== services.topic) continue;
      const bytes = await services.redis.getBuffer(k);
      if (!bytes) continue;
      for (const row of decodePayload(bytes))
        if (isForgotten(row.event.user_id))
          out.push({ partition: range.partition, offset: row.offset, event: row.event });
    }
  } while (cursor !== "0");
  return out;
}

/** The decrements of the rows, from the watermarks of the documents they count in. */
async function decrementsOf(services: ForgetServices, rows: readonly ForgottenRow[]): Promise<Decrement[]> {
  const watermarks = new Map<string, Watermarks | undefined>();
  for (const [index, groups] of salesTargets(rows)) {
    const docs = await mgetSources<Pick<SalesDocument, "state">>(
      services.es,
      aliasName(services.indexPrefix, index),
      [...groups.keys()],
      ["state.wm"],
    );
    for (const id of groups.keys()) watermarks.set(`${index}|${id}`, docs.get(id)?.source?.state?.wm);
  }
  return planDecrements(rows, (index, id) => {
    const key = `${index}|${id}`;
    if (!watermarks.has(key)) return undefined;
    return watermarks.get(key) ?? undefined;
  });
}

// ---- applying a plan ----------------------------------------------------------------------------

async function finish(
  services: ForgetServices,
  record: RunRecord,
  options: ForgetOptions,
  now: () => Date,
  ids?: readonly string[],
): Promise<LakeErased[]> {
  const key = forgetRunKey(services.queuePrefix, record.run_id);
  const at = (phase: (typeof PHASES)[number]) => PHASES.indexOf(record.phase) >= PHASES.indexOf(phase);
  const save = async (phase: (typeof PHASES)[number], change: Partial<RunRecord> = {}) => {
    Object.assign(record, change, { phase });
    await services.redis.set(key, JSON.stringify(record));
    options.onPhase?.(phase, { run: record.run_id });
  };
  const started = Date.now();
  if (!at("profiles")) {
    // Archive jobs that started before the forget list changed may still write the customers'
    // rows: wait for every archive job running now (those that started later drop them). Done
    // here, not at the commit, so a rerun after a kill waits for them too.
    const running = await services.redis.lrange(services.queues.archive.toKey("active"), 0, -1);
    options.onPhase?.("waiting", { queue: "archive", jobs: running.length });
    await waitForJobs(services, "archive", running, options);
    const deleted = await deleteProfiles(services, record.user_ids ?? [...(ids ?? [])]);
    // The ids leave the record with the profiles: from here on it holds hashes and counts only.
    delete record.user_ids;
    await save("profiles", { counts: { ...record.counts, profiles: deleted } });
  }
  if (!at("aggregates")) {
    const decremented = await applyDecrements(services, record, now);
    await save("aggregates", { counts: { ...record.counts, aggregatesDecremented: decremented } });
  }
  if (!at("cleaned")) {
    const deleted = await deleteEmptied(services, record);
    await save("cleaned", { counts: { ...record.counts, aggregatesDeleted: deleted } });
  }
  const lake: LakeErased[] = [];
  if (!at("lake")) {
    // One forget run rewrites the lake at a time (LakeLock), and with everyone on the forget list,
    // not only this run's customers, so no file is written back with rows another run took out.
    const lock = await LakeLock.acquire(services.redis, services.queuePrefix, "capline forget", {
      waitMs: options.barrierTimeoutMs ?? 120_000,
      ...(options.onLakeWait ? { onWait: options.onLakeWait } : {}),
    });
    try {
      const isForgotten = await forgottenNow(services, record, now);
      for (const store of services.stores)
        lake.push(
          await eraseFromLake(
            store,
            record.days,
            isForgotten,
            (file, removed) => options.onLakeFile?.(store.name, file, removed),
            options.onLakeProgress,
          ),
        );
      await save("lake", {
        counts: {
          ...record.counts,
          lakeFiles: lake.reduce((n, l) => n + l.files, 0),
          lakeRows: lake.reduce((n, l) => n + l.rows, 0),
        },
      });
    } finally {
      await lock.release();
    }
  }
  if (!at("dlq")) {
    // Under the same lock: one run rewrites a DLQ partition at a time.
    const lock = await LakeLock.acquire(services.redis, services.queuePrefix, "capline forget", {
      waitMs: options.barrierTimeoutMs ?? 120_000,
      ...(options.onLakeWait ? { onWait: options.onLakeWait } : {}),
    });
    try {
      const isForgotten = await forgottenNow(services, record, now);
      const state: DlqState = record.dlq ?? {};
      record.dlq = state;
      const erased = await eraseFromDlq(
        dlqTarget(services, record.run_id),
        isForgotten,
        state,
        async () => {
          await services.redis.set(key, JSON.stringify(record));
        },
        options.onDlqStep,
      );
      await save("dlq", { counts: { ...record.counts, dlqRecords: erased.records } });
      delete record.dlq;
    } finally {
      await lock.release();
    }
  }
  if (!at("done")) {
    await audit(services, record, options.actor, (Date.now() - started) / 1000, now);
    // The plan is not needed any more: keep the counts and the marks, drop the decrements.
    await save("done", { decrements: [], days: [] });
  }
  return lake;
}

async function deleteProfiles(services: ForgetServices, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const index = aliasName(services.indexPrefix, "profiles");
  const response = await services.es.bulk({
    operations: ids.map((id) => ({ delete: { _index: index, _id: id } })),
    refresh: false,
  });
  let deleted = 0;
  for (const item of response.items) {
    const status = item.delete?.status ?? 0;
    if (status === 200) deleted++;
    else if (status !== 404)
      throw new CaplineError(
        "SERVICE_ERROR",
        `Elasticsearch refused to delete a profile in ${index}: ${item.delete?.error?.reason ?? status}`,
        { retryable: isRetryableStatus(status) },
      );
  }
  return deleted;
}

const MAX_ROUNDS = 30;

/** Phase A: each document minus its decrement, marked with the run, guarded by its version. */
async function applyDecrements(
  services: ForgetServices,
  record: RunRecord,
  now: () => Date,
): Promise<number> {
  let changed = 0;
  for (const index of ["sales-daily", "sales-hourly"] as const) {
    const alias = aliasName(services.indexPrefix, index);
    let todo = record.decrements.filter((d) => d.index === index);
    for (let round = 0; todo.length > 0; round++) {
      if (round >= MAX_ROUNDS)
        throw new CaplineError(
          "SERVICE_ERROR",
          `${alias}: ${todo.length} aggregate documents still conflict after ${MAX_ROUNDS} rounds; run capline forget again`,
          { retryable: true },
        );
      const retry: Decrement[] = [];
      for (let i = 0; i < todo.length; i += 500) {
        const chunk = todo.slice(i, i + 500);
        const docs = await mgetSources<SalesDocument>(
          services.es,
          alias,
          chunk.map((d) => d.id),
        );
        const operations: object[] = [];
        const sent: Decrement[] = [];
        for (const d of chunk) {
          const found = docs.get(d.id);
          if (!found?.source) continue;
          const next = subtractSales(found.source, d, record.run_id, now());
          if (!next) continue;
          operations.push(
            {
              index: { _index: alias, _id: d.id, if_seq_no: found.seqNo, if_primary_term: found.primaryTerm },
            },
            next,
          );
          sent.push(d);
        }
        if (operations.length === 0) continue;
        const response = await services.es.bulk({ operations });
        response.items.forEach((item, n) => {
          const status = item.index?.status ?? 0;
          const d = sent[n] as Decrement;
          if (status === 200 || status === 201) changed++;
          else if (status === 409 || status === 429) retry.push(d);
          else
            throw new CaplineError(
              "SERVICE_ERROR",
              `Elasticsearch refused aggregate ${d.id} in ${alias}: ${item.index?.error?.reason ?? status}`,
              { retryable: isRetryableStatus(status) },
            );
        });
      }
      todo = retry;
      if (todo.length > 0) await sleep(50 * (round + 1));
    }
  }
  return changed;
}

/** Phase B: the documents this run left with no event are deleted (guarded by their version). */
async function deleteEmptied(services: ForgetServices, record: RunRecord): Promise<number> {
  let deleted = 0;
  for (const index of ["sales-daily", "sales-hourly"] as const) {
    const alias = aliasName(services.indexPrefix, index);
    let todo = record.decrements.filter((d) => d.index === index).map((d) => d.id);
    for (let round = 0; todo.length > 0 && round < MAX_ROUNDS; round++) {
      const retry: string[] = [];
      for (let i = 0; i < todo.length; i += 500) {
        const chunk = todo.slice(i, i + 500);
        const docs = await mgetSources<SalesDocument>(services.es, alias, chunk);
        const operations: object[] = [];
        const sent: string[] = [];
        for (const id of chunk) {
          const found = docs.get(id);
          const doc = found?.source;
          if (!doc?.state.forgotten?.includes(record.run_id) || !isEmptySales(doc)) continue;
          operations.push({
            delete: { _index: alias, _id: id, if_seq_no: found?.seqNo, if_primary_term: found?.primaryTerm },
          });
          sent.push(id);
        }
        if (operations.length === 0) continue;
        const response = await services.es.bulk({ operations });
        response.items.forEach((item, n) => {
          const status = item.delete?.status ?? 0;
          if (status === 200) deleted++;
          else if (status === 409 || status === 429) retry.push(sent[n] as string);
          else if (status !== 404)
            throw new CaplineError(
              "SERVICE_ERROR",
              `Elasticsearch refused to delete aggregate ${sent[n]} in ${alias}: ${item.delete?.error?.reason ?? status}`,
              { retryable: isRetryableStatus(status) },
            );
        });
      }
      todo = retry;
    }
  }
  return deleted;
}

/** The audit record: who, when, how many — never an id or any other personal data. */
async function audit(
  services: ForgetServices,
  record: RunRecord,
  actor: string,
  seconds: number,
  now: () => Date,
): Promise<void> {
  const c = record.counts;
  await services.es.index({
    index: aliasName(services.indexPrefix, "ops"),
    id: `forget:${record.run_id}`,
    document: {
      "@timestamp": now().toISOString(),
      kind: "forget",
      run_id: record.run_id,
      status: "done",
      actor,
      topic: services.topic,
      customers: record.customers,
      profiles: c.profiles,
      documents: c.profiles + c.aggregatesDecremented,
      files: c.lakeFiles,
      rows: c.lakeRows,
      dlq_records: c.dlqRecords ?? 0,
      seconds,
    },
  });
}

// ---- dry run --------------------------------------------------------------------------------------

/**
 * What a run would change, read without the lease and without writing anything: the profiles, the
 * customers' events in the lake and in flight, the aggregates they count in now, the lake files.
 */
async function dryRun(
  services: ForgetServices,
  ids: readonly string[],
  runId: string,
  onProgress?: LakeProgress,
): Promise<ForgetResult> {
  const wanted = new Set(ids);
  const isForgotten = (user: string) => wanted.has(user);
  const profiles = await mgetSources<object>(services.es, aliasName(services.indexPrefix, "profiles"), ids, [
    "user_id",
  ]);
  const inFlight = await rowsInFlight(services, isForgotten);
  const lake: LakeErased[] = [];
  const fromLake: ForgottenRow[] = [];
  for (const store of services.stores) {
    const found = await findInLake(store, "all", isForgotten, onProgress);
    fromLake.push(...found.rows);
    lake.push(found.erased);
  }
  const decrements = await decrementsOf(services, uniqueRows([...fromLake, ...inFlight]));
  let emptied = 0;
  for (const index of ["sales-daily", "sales-hourly"] as const) {
    const mine = decrements.filter((d) => d.index === index);
    const docs = await mgetSources<SalesDocument>(
      services.es,
      aliasName(services.indexPrefix, index),
      mine.map((d) => d.id),
    );
    for (const d of mine) {
      const doc = docs.get(d.id)?.source;
      const after = doc && subtractSales(doc, d, runId);
      if (after && isEmptySales(after)) emptied++;
    }
  }
  const dlqRecords = await countInDlq(dlqTarget(services, runId), isForgotten);
  const record = await readRecord(services.redis, forgetRunKey(services.queuePrefix, runId));
  return {
    runId,
    dryRun: true,
    customers: ids.length,
    alreadyDone: record?.phase === "done",
    counts: {
      profiles: profiles.size,
      aggregatesDecremented: decrements.length,
      aggregatesDeleted: emptied,
      lakeFiles: lake.reduce((n, l) => n + l.files, 0),
      lakeRows: lake.reduce((n, l) => n + l.rows, 0),
      dlqRecords,
    },
    lake,
    resumed: [],
    tombstoneExpiresAt: null,
  };
}

// ---- helpers --------------------------------------------------------------------------------------

/**
 * Whether a user is forgotten: this run's customers and everyone else on the forget list, so that
 * nothing is written back with rows another run took out.
 */
async function forgottenNow(
  services: ForgetServices,
  record: RunRecord,
  now: () => Date,
): Promise<(user: string) => boolean> {
  const hashes = new Set([...record.hashes, ...(await listedHashes(services, now().getTime()))]);
  const memo = new Map<string, boolean>();
  return (user: string) => {
    let f = memo.get(user);
    if (f === undefined) {
      f = hashes.has(forgetHash(user));
      memo.set(user, f);
    }
    return f;
  };
}

function dlqTarget(services: ForgetServices, runId: string): DlqTarget {
  return { kafka: services.dlq.kafka, admin: services.dlq.admin, topic: services.dlq.topic, runId };
}

async function readRecord(redis: Redis, key: string): Promise<RunRecord | undefined> {
  const text = await redis.get(key);
  return text ? (JSON.parse(text) as RunRecord) : undefined;
}

/** Every hash on the forget list (unexpired). */
async function listedHashes(services: ForgetServices, nowMs: number): Promise<string[]> {
  return services.redis.zrangebyscore(tombstonesKey(services.queuePrefix), nowMs, "+inf");
}

/** Hashes already on the forget list (unexpired). */
async function alreadyForgotten(
  services: ForgetServices,
  hashes: readonly string[],
  nowMs: number,
): Promise<Set<string>> {
  if (hashes.length === 0) return new Set();
  const scores = await services.redis.zmscore(tombstonesKey(services.queuePrefix), ...hashes);
  return new Set(hashes.filter((_, i) => scoreOf(scores[i] ?? undefined) > nowMs));
}

/** Runs recorded but not done: a forget killed midway, to finish first. */
async function pendingRuns(services: ForgetServices): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await services.redis.scan(
      cursor,
      "MATCH",
      forgetRunPattern(services.queuePrefix),
      "COUNT",
      500,
    );
    cursor = next;
    for (const k of keys) {
      const r = await readRecord(services.redis, k);
      if (r && r.phase !== "done") out.push(r);
    }
  } while (cursor !== "0");
  return out;
}

interface Fetched<D> {
  source: D | undefined;
  seqNo: number | undefined;
  primaryTerm: number | undefined;
}

/** Realtime mget, by chunks; missing documents are absent from the map. */
async function mgetSources<D>(
  es: Client,
  index: string,
  ids: readonly string[],
  includes?: string[],
): Promise<Map<string, Fetched<D>>> {
  const out = new Map<string, Fetched<D>>();
  for (let i = 0; i < ids.length; i += 1000) {
    const chunk = ids.slice(i, i + 1000);
    if (chunk.length === 0) continue;
    const response = await es.mget<D>({
      index,
      ids: chunk,
      realtime: true,
      ...(includes ? { _source_includes: includes } : {}),
    });
    for (const doc of response.docs) {
      if (!("found" in doc) || !doc.found) continue;
      out.set(doc._id, { source: doc._source, seqNo: doc._seq_no, primaryTerm: doc._primary_term });
    }
  }
  return out;
}
