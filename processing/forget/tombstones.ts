import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { forgetLeaseKey, tombstonesKey, tombstonesVersionKey } from "../../core/names.ts";
import type { RangeEvent } from "../lake.ts";
import { sleep } from "../retry.ts";

/**
 * The forget list as the workers see it (docs/forget.md): customers erased by `capline forget`,
 * whose events every archive and index job drops before it writes anything, so a replay of the
 * events topic, a redelivery or a job queued before the erasure cannot bring them back.
 *
 * Redis holds a sorted set (`tombstonesKey`) of `forgetHash(user_id)` scored by the expiry time
 * (ms) of each tombstone, and a version counter bumped on every change. A job reads the version
 * (one round trip, with the planning lease below) and reloads the set only when it moved, so a
 * pipeline with no forgotten customer pays one small MULTI per job and no hashing at all.
 *
 * The planning lease (`forgetLeaseKey`): while a forget run reads the aggregates it is about to
 * decrement, index jobs wait before they start writing, so the watermarks it reads say exactly
 * which of the customers' events are merged (processing/forget/run.ts).
 */

/** A customer's member in the forget list: the user_id's SHA-256, hex (no user_id is stored). */
export function forgetHash(userId: string): string {
  return createHash("sha256").update(userId, "utf8").digest("hex");
}

export interface TombstoneFilter {
  rows: readonly RangeEvent[];
  /** Events left out because their customer is forgotten. */
  forgotten: number;
}

/** Polling period while a forget run holds the planning lease. */
const LEASE_POLL_MS = 200;

/**
 * One per process (owned by the `Workers`, never module state): the forget list of one queue
 * prefix, cached by version.
 */
export class Tombstones {
  private version: string | null | undefined;
  /** hash → expiry (ms). */
  private expiries = new Map<string, number>();
  /** user_id → forgotten, for the ids met since the list last changed. */
  private readonly decided = new Map<string, boolean>();

  constructor(
    private readonly redis: Redis,
    private readonly queuePrefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The rows of a job without the forgotten customers' events. `waitForLease`: index jobs wait
   * while a forget run plans (it is released within seconds, or expires when the run died).
   * Reads Redis after the job became active, which is what the forget run's barrier relies on.
   */
  async filter(
    rows: readonly RangeEvent[],
    options: { waitForLease?: boolean; signal?: AbortSignal } = {},
  ): Promise<TombstoneFilter> {
    await this.refresh(options);
    if (this.expiries.size === 0) return { rows, forgotten: 0 };
    const now = this.now();
    const kept: RangeEvent[] = [];
    for (const row of rows) if (!this.isForgotten(row.event.user_id, now)) kept.push(row);
    return { rows: kept.length === rows.length ? rows : kept, forgotten: rows.length - kept.length };
  }

  private isForgotten(userId: string, now: number): boolean {
    let forgotten = this.decided.get(userId);
    if (forgotten === undefined) {
      forgotten = (this.expiries.get(forgetHash(userId)) ?? 0) > now;
      if (this.decided.size >= 100_000) this.decided.clear();
      this.decided.set(userId, forgotten);
    }
    return forgotten;
  }

  private async refresh(options: { waitForLease?: boolean; signal?: AbortSignal }): Promise<void> {
    for (;;) {
      const replies = await this.redis
        .multi()
        .get(tombstonesVersionKey(this.queuePrefix))
        .exists(forgetLeaseKey(this.queuePrefix))
        .exec();
      const version = (replies?.[0]?.[1] as string | null | undefined) ?? null;
      const leased = Number(replies?.[1]?.[1] ?? 0) === 1;
      if (leased && options.waitForLease) {
        await sleep(LEASE_POLL_MS, options.signal);
        continue;
      }
      if (version !== this.version) {
        this.expiries = version === null ? new Map() : await this.load();
        this.decided.clear();
        this.version = version;
      }
      return;
    }
  }

  private async load(): Promise<Map<string, number>> {
    const flat = await this.redis.zrangebyscore(
      tombstonesKey(this.queuePrefix),
      this.now(),
      "+inf",
      "WITHSCORES",
    );
    const out = new Map<string, number>();
    for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i] as string, scoreOf(flat[i + 1]));
    return out;
  }
}

/** A sorted-set score as Redis prints it (`inf` for a tombstone that never expires). */
export function scoreOf(text: string | undefined): number {
  if (text === "inf" || text === "+inf") return Number.POSITIVE_INFINITY;
  return Number(text);
}
