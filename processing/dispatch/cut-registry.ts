import type { Redis } from "ioredis";
import { cutsKey } from "../../core/names.ts";
import { LuaScript } from "./lua.ts";
import type { Cut } from "./range-cutter.ts";

/**
 * The cut registry (Redis): where the dispatchers cut each partition, so that a replay after a
 * crash or a rebalance re-creates the same ranges (same job ids, same lake files), never
 * overlapping ones. One hash per partition, first offset → last offset; a cut is registered
 * before anything refers to its range, refused when it overlaps another (a second dispatcher
 * cutting the same offsets differently), and forgotten once its range is committed.
 */
export class CutRegistry {
  private readonly script = new LuaScript("register-cut");

  constructor(
    private readonly redis: Redis,
    private readonly queuePrefix: string,
    private readonly topic: string,
  ) {}

  /**
   * The partition's registered cuts that end at or after `committed` (sorted); cuts wholly before
   * it belong to committed ranges a dispatcher did not get to forget, and are removed.
   */
  async load(partition: number, committed: number | undefined): Promise<Cut[]> {
    const key = cutsKey(this.queuePrefix, this.topic, partition);
    const registered = await this.redis.hgetall(key);
    const live: Cut[] = [];
    const stale: string[] = [];
    for (const [first, last] of Object.entries(registered)) {
      if (committed !== undefined && Number(last) < committed) stale.push(first);
      else live.push([Number(first), Number(last)]);
    }
    if (stale.length > 0) await this.redis.hdel(key, ...stale);
    return live.sort((a, b) => a[0] - b[0]);
  }

  /** Registers a new cut; false when another registered cut overlaps it. */
  async register(partition: number, first: number, last: number): Promise<boolean> {
    const key = cutsKey(this.queuePrefix, this.topic, partition);
    return (await this.script.run(this.redis, [key], [String(first), String(last)])) === 1;
  }

  /** Forgets the cuts of committed ranges. */
  async forget(partition: number, firsts: readonly number[]): Promise<void> {
    if (firsts.length === 0) return;
    await this.redis.hdel(cutsKey(this.queuePrefix, this.topic, partition), ...firsts.map(String));
  }
}
