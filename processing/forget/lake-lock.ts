import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { CaplineError } from "../../core/errors.ts";
import { lakeLockKey } from "../../core/names.ts";
import { sleep } from "../retry.ts";

/**
 * One rewriter of existing lake files at a time: two forget runs rewriting the same file at once
 * could each write back rows the other had just taken out. A Redis key with a time to live, renewed
 * while held: a killed holder frees it after `ttlMs`. The archive jobs only add new files and do not
 * take it. `capline compact` reads and replaces files too and does not take it yet (its runs are
 * killed and rerun at once by design; docs/forget.md says not to run both at the same time).
 */
export class LakeLock {
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly token: string,
    private readonly ttlMs: number,
  ) {}

  /** Waits up to `waitMs` for the lock; `holder` names the command in the message of a timeout. */
  static async acquire(
    redis: Redis,
    queuePrefix: string,
    holder: string,
    { waitMs = 120_000, ttlMs = 30_000 }: { waitMs?: number; ttlMs?: number } = {},
  ): Promise<LakeLock> {
    const key = lakeLockKey(queuePrefix);
    const token = `${holder}:${randomUUID()}`;
    const deadline = Date.now() + waitMs;
    for (;;) {
      if ((await redis.set(key, token, "PX", ttlMs, "NX")) === "OK") {
        const lock = new LakeLock(redis, key, token, ttlMs);
        lock.timer = setInterval(
          () => {
            lock.renewing = lock.renewing.then(() => lock.renew()).catch(() => undefined);
          },
          Math.max(1000, Math.floor(ttlMs / 6)),
        );
        return lock;
      }
      if (Date.now() > deadline) {
        const other = ((await redis.get(key)) ?? "").split(":")[0] || "another command";
        throw new CaplineError(
          "CONFLICT",
          `${holder} waited ${Math.round(waitMs / 1000)} s for the lake, which ${other} is rewriting (Redis key ${key}); run it again when that is done`,
          { retryable: true },
        );
      }
      await sleep(500);
    }
  }

  /** Extends the lock if it is still this holder's (a renewal after an expiry does nothing). */
  private async renew(): Promise<void> {
    if ((await this.redis.get(this.key)) === this.token) await this.redis.pexpire(this.key, this.ttlMs);
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.renewing;
    if ((await this.redis.get(this.key)) === this.token) await this.redis.del(this.key);
  }
}
