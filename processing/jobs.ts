import { gunzipSync, gzipSync } from "node:zlib";
import type { Redis } from "ioredis";
import { CaplineError } from "../core/errors.ts";
import type { RangeEvent } from "./lake.ts";
import { type OffsetRange, rangeId } from "./watermark.ts";

/**
 * The job model shared by the dispatcher and the workers (docs/processing.md, "Job model").
 *
 * - A range's messages are stored once in Redis (`payloadKey`, gzip JSON) by the dispatcher;
 *   the archive job and the index job of the range both read them, so either can be replayed.
 * - Job ids are the range id: adding the same range again while its job exists is a no-op.
 * - The cut registry (`cutsKey`) remembers where the dispatcher cut each partition, so a replay
 *   after a crash re-creates the same ranges (same file names, same job ids), never overlapping
 *   ones.
 */

export const ARCHIVE_QUEUE = "archive";
export const INDEX_QUEUE = "index";
/** The periodic RFM recomputation (a BullMQ job scheduler). */
export const RFM_QUEUE = "rfm";
export type SinkName = typeof ARCHIVE_QUEUE | typeof INDEX_QUEUE;

export interface RangeJobData extends OffsetRange {
  /** Redis key of the range's messages. */
  payloadKey: string;
  events: number;
  /** Messages of the range that went to the DLQ instead (counted in the ops record). */
  dlq: number;
}

export function payloadKey(queuePrefix: string, range: OffsetRange): string {
  return `${queuePrefix}:payload:${rangeId(range)}`;
}

export function cutsKey(queuePrefix: string, topic: string, partition: number): string {
  return `${queuePrefix}:cuts:${topic}:${partition}`;
}

export function jobId(range: OffsetRange): string {
  return rangeId(range);
}

export function encodePayload(rows: readonly RangeEvent[]): Buffer {
  return gzipSync(JSON.stringify(rows), { level: 1 });
}

export function decodePayload(bytes: Buffer): RangeEvent[] {
  return JSON.parse(gunzipSync(bytes).toString("utf8")) as RangeEvent[];
}

export async function loadPayload(redis: Redis, data: RangeJobData): Promise<RangeEvent[]> {
  const bytes = await redis.getBuffer(data.payloadKey);
  if (!bytes)
    throw new CaplineError(
      "INTERNAL",
      `the messages of range ${rangeId(data)} are not in Redis (${data.payloadKey}); the dispatcher replays them from Kafka`,
      { retryable: true, details: { range: rangeId(data) } },
    );
  return decodePayload(bytes);
}
