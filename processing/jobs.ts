import { gunzipSync, gzipSync } from "node:zlib";
import type { Redis } from "ioredis";
import { CaplineError } from "../core/errors.ts";
import { QUEUES, rangeId } from "../core/names.ts";
import type { RangeEvent } from "./lake.ts";
import type { OffsetRange } from "./watermark.ts";

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

export const ARCHIVE_QUEUE = QUEUES.archive;
export const INDEX_QUEUE = QUEUES.index;
/** The periodic RFM recomputation (a BullMQ job scheduler). */
export const RFM_QUEUE = QUEUES.rfm;
export type SinkName = typeof ARCHIVE_QUEUE | typeof INDEX_QUEUE;

export interface RangeJobData extends OffsetRange {
  /** Redis key of the range's messages. */
  payloadKey: string;
  events: number;
  /** Messages of the range that went to the DLQ instead (counted in the ops record). */
  dlq: number;
  /**
   * Events of the range left out as duplicates of an event_id first seen at another offset
   * (processing/dispatch/seen-set.ts; counted in the ops record). Absent from older jobs.
   */
  duplicates?: number;
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

/**
 * Payloads this process already holds decoded, by Redis key: the rows the dispatcher just stored
 * and the ones a worker just read, so a range's archive and index jobs in the same process decode
 * it once (or never, next to the dispatcher). A range's messages never change (Kafka offsets are
 * immutable and the cut registry fixes the range), so a cached copy always equals the stored one.
 * Bounded by events, oldest dropped first; the rows are shared and must not be modified.
 */
const decoded = new Map<string, readonly RangeEvent[]>();
let decodedEvents = 0;
/** Most events held decoded per process. */
const DECODED_EVENTS_MAX = 200_000;

export function rememberPayload(key: string, rows: readonly RangeEvent[]): void {
  forgetPayload(key);
  if (rows.length > DECODED_EVENTS_MAX) return;
  for (const [oldest, held] of decoded) {
    if (decodedEvents + rows.length <= DECODED_EVENTS_MAX) break;
    decoded.delete(oldest);
    decodedEvents -= held.length;
  }
  decoded.set(key, rows);
  decodedEvents += rows.length;
}

export function forgetPayload(key: string): void {
  const held = decoded.get(key);
  if (!held) return;
  decoded.delete(key);
  decodedEvents -= held.length;
}

export async function loadPayload(redis: Redis, data: RangeJobData): Promise<readonly RangeEvent[]> {
  const held = decoded.get(data.payloadKey);
  if (held) return held;
  const bytes = await redis.getBuffer(data.payloadKey);
  if (!bytes)
    throw new CaplineError(
      "INTERNAL",
      `the messages of range ${rangeId(data)} are not in Redis (${data.payloadKey}); the dispatcher replays them from Kafka`,
      { retryable: true, details: { range: rangeId(data) } },
    );
  const rows = decodePayload(bytes);
  rememberPayload(data.payloadKey, rows);
  return rows;
}
