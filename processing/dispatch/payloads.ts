import type { Redis } from "ioredis";
import { payloadKey } from "../../core/names.ts";
import { encodePayload } from "../jobs.ts";
import type { RangeEvent } from "../lake.ts";
import type { PayloadCache } from "../payload-cache.ts";
import type { OffsetRange } from "../watermark.ts";

/**
 * A range's messages, stored once in Redis for its archive and index jobs (msgpack + LZ4, the format
 * `processing/jobs.ts` decodes), and optionally handed to a cache of decoded payloads that a
 * worker in the same process reads first (so a range is not decoded again next to its dispatcher).
 * The cache is an object owned by whoever runs both stages and passed to each, never module state.
 */

export class PayloadStore {
  constructor(
    private readonly redis: Redis,
    private readonly queuePrefix: string,
    private readonly cache?: PayloadCache,
  ) {}

  keyOf(range: OffsetRange): string {
    return payloadKey(this.queuePrefix, range);
  }

  async store(range: OffsetRange, rows: readonly RangeEvent[]): Promise<string> {
    const key = this.keyOf(range);
    await this.redis.set(key, encodePayload(rows));
    this.cache?.remember(key, rows);
    return key;
  }

  async exists(range: OffsetRange): Promise<boolean> {
    return (await this.redis.exists(this.keyOf(range))) === 1;
  }

  /** The payloads of committed ranges are not needed any more. */
  async forget(ranges: readonly OffsetRange[]): Promise<void> {
    if (ranges.length === 0) return;
    const keys = ranges.map((r) => this.keyOf(r));
    for (const key of keys) this.cache?.forget(key);
    await this.redis.unlink(...keys);
  }
}
