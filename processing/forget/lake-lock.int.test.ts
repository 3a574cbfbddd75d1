import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { createRedis } from "../../core/clients/redis.ts";
import { loadConfig } from "../../core/config/index.ts";
import { isCaplineError } from "../../core/errors.ts";
import { lakeLockKey } from "../../core/names.ts";
import { LakeLock } from "./lake-lock.ts";

/**
 * The lake's holders against the real Redis: compactions hold it together, `capline forget` alone
 * and never beside a compaction, and a holder that died (its connection gone, so it cannot renew)
 * lapses after its time to live.
 */
const config = loadConfig();
const prefix = `t-${randomUUID()}`;

async function refusal(attempt: Promise<LakeLock>): Promise<string> {
  try {
    const lock = await attempt;
    await lock.release();
    return "acquired";
  } catch (error) {
    expect(isCaplineError(error) && error.code).toBe("CONFLICT");
    return (error as Error).message;
  }
}

describe("the lake lock", () => {
  const redis = createRedis(config);
  afterAll(async () => {
    await redis.del(lakeLockKey(prefix));
    redis.disconnect();
  });

  it("lets compactions share the lake and forget hold it alone", async () => {
    const a = await LakeLock.acquire(redis, prefix, "capline compact", { mode: "shared", waitMs: 0 });
    const b = await LakeLock.acquire(redis, prefix, "capline compact", { mode: "shared", waitMs: 0 });
    // Forget waits for both compactions, says at once what it waits for, and which command
    // holds the lake when it gives up.
    const told: Array<[string, number]> = [];
    expect(
      await refusal(
        LakeLock.acquire(redis, prefix, "capline forget", {
          waitMs: 1600,
          onWait: (other, waitMs) => told.push([other, waitMs]),
        }),
      ),
    ).toMatch(/capline forget waited 2 s for the lake, which capline compact is rewriting/);
    expect(told).toEqual([["capline compact", 1600]]);
    await a.release();
    expect(await refusal(LakeLock.acquire(redis, prefix, "capline forget", { waitMs: 0 }))).toMatch(
      /capline compact/,
    );
    await b.release();
    const forget = await LakeLock.acquire(redis, prefix, "capline forget", { waitMs: 0 });
    // While forget holds it, neither a compaction nor a second forget gets in.
    expect(
      await refusal(LakeLock.acquire(redis, prefix, "capline compact", { mode: "shared", waitMs: 0 })),
    ).toMatch(/which capline forget is rewriting/);
    expect(await refusal(LakeLock.acquire(redis, prefix, "capline forget", { waitMs: 0 }))).toMatch(
      /which capline forget is rewriting/,
    );
    await forget.release();
    expect(
      await refusal(LakeLock.acquire(redis, prefix, "capline compact", { mode: "shared", waitMs: 0 })),
    ).toBe("acquired");
  });

  it("a holder that died lapses after its time to live, and renewals keep a live one", async () => {
    const dying = createRedis(config);
    await LakeLock.acquire(dying, prefix, "capline compact", { mode: "shared", ttlMs: 1500, waitMs: 0 });
    const alive = await LakeLock.acquire(redis, prefix, "capline compact", {
      mode: "shared",
      ttlMs: 1500,
      waitMs: 0,
    });
    dying.disconnect(); // killed: it never renews nor releases
    // 3 s is twice the time to live: the live holder has renewed, the dead one has lapsed.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await redis.zcard(lakeLockKey(prefix))).toBe(1);
    expect(await refusal(LakeLock.acquire(redis, prefix, "capline forget", { waitMs: 0 }))).toMatch(
      /capline compact/,
    );
    await alive.release();
    expect(await refusal(LakeLock.acquire(redis, prefix, "capline forget", { waitMs: 0 }))).toBe("acquired");
  });
});
