import { gunzipSync } from "node:zlib";
import type { JobsOptions } from "bullmq";
import type { Redis } from "ioredis";
import { compressSync, uncompressSync } from "lz4-napi";
import { Packr } from "msgpackr";
import { CaplineError } from "../core/errors.ts";
import { QUEUES, rangeId } from "../core/names.ts";
import type { RangeEvent } from "./lake.ts";
import type { PayloadCache } from "./payload-cache.ts";
import { JOB_ATTEMPTS } from "./retry.ts";
import { SharedStrings } from "./shared-strings.ts";
import type { OffsetRange } from "./watermark.ts";

/**
 * The job model shared by the dispatcher and the workers (docs/processing.md, "Job model").
 *
 * - A range's messages are stored once in Redis (`payloadKey`, msgpack + LZ4) by the dispatcher;
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

/**
 * A range's payload in Redis: msgpack (records: each object's keys written once per shape) in an
 * LZ4 block, behind a two-byte format tag. Against the gzip JSON of before, on 20,000 events of
 * the pipeline benchmark: the same size (about 40 bytes per event), encoding 2.2 times and
 * decoding 4 times cheaper in CPU (BENCHMARKS.md, "Half the cost per event").
 *
 * `M2` (written now): the rows as msgpack arrays of at most `PACK_ROWS` rows, end to end. msgpackr
 * encodes into one buffer it keeps for the next call and grows to the largest value it was given:
 * a whole range (about 7 MB of msgpack) kept 15.5 MB allocated for the life of the process (a heap
 * snapshot of the 885k benchmark); slices keep it under 1 MB. `M1` (one array for the range) is
 * still read: payloads stored by an earlier capline in the middle of a run.
 */
const FORMAT_MSGPACK_LZ4 = Buffer.from("M1");
const FORMAT_MSGPACK_SLICES_LZ4 = Buffer.from("M2");
const PACK_ROWS = 1000;
const packr = new Packr({ useRecords: true, moreTypes: false, structuredClone: false });

export function encodePayload(rows: readonly RangeEvent[]): Buffer {
  const slices: Buffer[] = [];
  // Each pack's result lies in msgpackr's buffer, which the next pack overwrites: copied at once.
  for (let i = 0; i < rows.length; i += PACK_ROWS)
    slices.push(Buffer.from(packr.pack(rows.slice(i, i + PACK_ROWS))));
  if (slices.length === 0) slices.push(Buffer.from(packr.pack([])));
  return Buffer.concat([FORMAT_MSGPACK_SLICES_LZ4, compressSync(Buffer.concat(slices))]);
}

export function decodePayload(bytes: Buffer): RangeEvent[] {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b)
    // gzip JSON: a payload stored by a capline before 0.2 (an upgrade in the middle of a run).
    return JSON.parse(gunzipSync(bytes).toString("utf8")) as RangeEvent[];
  const format = bytes.subarray(0, 2);
  let rows: RangeEvent[] | undefined;
  if (format.equals(FORMAT_MSGPACK_SLICES_LZ4))
    rows = (packr.unpackMultiple(uncompressSync(bytes.subarray(2))) as RangeEvent[][]).flat();
  else if (format.equals(FORMAT_MSGPACK_LZ4))
    rows = packr.unpack(uncompressSync(bytes.subarray(2))) as RangeEvent[];
  if (rows) {
    const strings = new SharedStrings();
    for (const row of rows) strings.share(row.event);
    return rows;
  }
  throw new CaplineError("INTERNAL", "a range payload in Redis is in no format capline writes");
}

/**
 * Job options of every range job: BullMQ owns outages (processing/retry.ts). A failed attempt
 * runs again after `jobBackoffMs` (jittered, up to 30 s), for `JOB_ATTEMPTS` attempts (about a
 * day of a sink being down); an error no retry can fix is an `UnrecoverableError`, which fails the
 * job at once. A failed job is kept (for the monitor, with its reason) and its range is not
 * committed: nothing past it is lost, and the next dispatcher to start runs it again.
 */
export const RANGE_JOB_OPTIONS: JobsOptions = {
  attempts: JOB_ATTEMPTS,
  backoff: { type: "jittered" },
  removeOnComplete: { age: 86_400 },
  removeOnFail: false,
};

/** A range's rows: from `cache` when this process holds them, else read from Redis and decoded. */
export async function loadPayload(
  redis: Redis,
  data: RangeJobData,
  cache?: Pick<PayloadCache, "get" | "remember">,
): Promise<readonly RangeEvent[]> {
  const held = cache?.get(data.payloadKey);
  if (held) return held;
  const bytes = await redis.getBuffer(data.payloadKey);
  if (!bytes)
    throw new CaplineError(
      "INTERNAL",
      `the messages of range ${rangeId(data)} are not in Redis (${data.payloadKey}); the dispatcher replays them from Kafka`,
      { retryable: true, details: { range: rangeId(data) } },
    );
  const rows = decodePayload(bytes);
  // This job is one of the range's readers; the other sink's job may still read them here.
  cache?.remember(data.payloadKey, rows, 1);
  return rows;
}
