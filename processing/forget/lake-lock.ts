import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { CaplineError } from "../../core/errors.ts";
import type { Logger } from "../../core/logging.ts";
import { lakeLockKey } from "../../core/names.ts";
import { LuaScript } from "../dispatch/lua.ts";
import { sleep } from "../retry.ts";

/**
 * The lake's rewriters take turns. Two forget runs rewriting the same file at once could each write
 * back rows the other had just taken out, and a compaction that read a file before forget rewrote
 * it would publish the forgotten rows again; so `capline forget` holds the lake alone
 * (`exclusive`), while compactions may hold it together (`shared`: their merged files are named by
 * the offsets they span and are the same bytes whoever writes them, so two compactions at once only
 * repeat each other's work). Held in Redis (lua/lake-lock.lua), renewed while held: a holder killed
 * with -9 lapses after `ttlMs`, and only an exclusive holder waits for that. The archive jobs only
 * add new files and take nothing. A holder whose event loop is blocked for longer than `ttlMs`
 * cannot renew and loses the lake. 30 s is far above the synchronous steps measured (the 5 M-event
 * compaction of BENCHMARKS.md merged files of about 1.6 MB); a merge near compaction's 128 MiB
 * input cap encodes for longer, and how long is not measured.
 */
export type LakeLockMode = "exclusive" | "shared";

const SCRIPT = new LuaScript("lake-lock");

/** A command's `onWait`: a warning naming what holds the lake and how long the command waits. */
export function warnOnLakeWait(log: Logger): (other: string, waitMs: number) => void {
  return (other, waitMs) =>
    log.warn(
      { holder: other, wait_s: Math.round(waitMs / 1000) },
      `waiting for the lake: ${other} is rewriting it`,
    );
}

export class LakeLock {
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly member: string,
    private readonly ttlMs: number,
  ) {}

  /**
   * Waits up to `waitMs` for the lake; `holder` names the command in the message of a timeout.
   * `onWait` hears once, when the lake is first found taken, which command holds it (so a user
   * knows what the command is waiting for instead of watching it do nothing).
   */
  static async acquire(
    redis: Redis,
    queuePrefix: string,
    holder: string,
    {
      mode = "exclusive",
      waitMs = 120_000,
      ttlMs = 30_000,
      onWait,
    }: {
      mode?: LakeLockMode;
      waitMs?: number;
      ttlMs?: number;
      onWait?: (other: string, waitMs: number) => void;
    } = {},
  ): Promise<LakeLock> {
    const key = lakeLockKey(queuePrefix);
    const member = `${mode}|${holder}:${randomUUID()}`;
    const deadline = Date.now() + waitMs;
    let told = false;
    for (;;) {
      const answer = String(await SCRIPT.run(redis, [key], ["acquire", member, ttlMs]));
      if (answer === "ok") {
        const lock = new LakeLock(redis, key, member, ttlMs);
        lock.timer = setInterval(
          () => {
            lock.renewing = lock.renewing.then(() => lock.renew()).catch(() => undefined);
          },
          Math.max(250, Math.floor(ttlMs / 6)),
        );
        return lock;
      }
      const other = answer.slice(answer.indexOf("|") + 1).split(":")[0] || "another command";
      if (Date.now() > deadline) {
        throw new CaplineError(
          "CONFLICT",
          `${holder} waited ${Math.round(waitMs / 1000)} s for the lake, which ${other} is rewriting (Redis key ${key}); run it again when that is done`,
          { retryable: true },
        );
      }
      if (!told) {
        told = true;
        onWait?.(other, waitMs);
      }
      await sleep(500);
    }
  }

  /** Extends the holding if it is still this holder's (a renewal after it lapsed does nothing). */
  private async renew(): Promise<void> {
    await SCRIPT.run(this.redis, [this.key], ["renew", this.member, this.ttlMs]);
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.renewing;
    await SCRIPT.run(this.redis, [this.key], ["release", this.member, this.ttlMs]);
  }
}
