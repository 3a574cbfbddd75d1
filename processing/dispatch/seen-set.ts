import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { seenSetMetaKey, seenSetPrefix } from "../../core/names.ts";
import type { RangeEvent } from "../lake.ts";
import { MS_PER_DAY, toMillis } from "../time.ts";
import { LuaScript } from "./lua.ts";

/**
 * The seen-set: exact deduplication by `event_id` per partition (docs/processing.md, "Duplicates").
 *
 * The same input row always has the same `event_id` (derived from its content) and the same key
 * (`user_id`), so every copy of an event lands in the same partition, whatever path brought it in
 * (another file, stdin, `ingest --force`, an overlapping re-export, a far-apart repeat inside one
 * file). Per partition, Redis maps each id to the offset of its first occurrence, set if absent,
 * in one Lua call per range (after the cut is registered, before the payload is stored). An
 * event is a duplicate when the offset recorded for its id is not its own: a replay or a
 * redelivery of the same offsets decides exactly as the first pass did, so the decision survives
 * kill -9 anywhere, and a range re-cut at other boundaries still drops the same events.
 *
 * Compact: ids are 12 bytes (the first 12 bytes of a capline id, which is 32 hex digits of a
 * SHA-1 of the row; any other id is hashed with SHA-256), kept per UTC event day (an event's day
 * is part of its content, so every copy has the same one) in small hashes that grow by linear
 * hashing and stay listpack-encoded. `horizonDays` bounds the memory by dropping days older than
 * the newest day seen minus the horizon (0: never).
 */

export interface SeenSetOptions {
  /** Days of events kept, counted back from the newest event day of the partition (0: all). @defaultValue 0 */
  horizonDays?: number;
  /**
   * Average ids per bucket before a bucket splits; with Redis's default
   * `hash-max-listpack-entries` of 128, 40 keeps every bucket below it (linear hashing leaves
   * unsplit buckets up to about 2.6 × the average). @defaultValue 40
   */
  bucketLoad?: number;
  /** Events per Lua call (a call blocks Redis while it runs). @defaultValue 10000 */
  chunk?: number;
}

export interface MarkResult {
  /** The events that are not duplicates, in offset order. */
  fresh: RangeEvent[];
  /** Events whose id was first seen at another offset. */
  duplicates: number;
  /** Events older than the horizon: not checked (kept), not recorded. */
  beyondHorizon: number;
  /**
   * The partition had no seen-set before this call (a new topic, an installation that predates
   * the seen-set, or Redis lost its data): duplicates of events before `since` are not recognised.
   */
  startedAt: number | undefined;
}

/** Bytes of an id in the seen-set. */
export const SEEN_ID_BYTES = 12;
const CAPLINE_ID = /^[0-9a-f]{32}$/;

/** Writes the 12-byte seen-set id of `eventId` at `at`. */
export function writeSeenId(eventId: string, target: Buffer, at: number): void {
  if (eventId.length === 32 && CAPLINE_ID.test(eventId)) target.write(eventId.slice(0, 24), at, "hex");
  else createHash("sha256").update(eventId).digest().copy(target, at, 0, SEEN_ID_BYTES);
}

/** Days since 1970-01-01 (UTC) of an event time. */
export function eventDay(eventTime: string): number {
  return Math.floor(toMillis(eventTime) / MS_PER_DAY);
}

export class SeenSet {
  private readonly script = new LuaScript("mark-seen");
  private readonly horizonDays: number;
  private readonly bucketLoad: number;
  private readonly chunk: number;

  constructor(
    private readonly redis: Redis,
    private readonly queuePrefix: string,
    private readonly topic: string,
    options: SeenSetOptions = {},
  ) {
    this.horizonDays = options.horizonDays ?? 0;
    this.bucketLoad = options.bucketLoad ?? 40;
    this.chunk = options.chunk ?? 10_000;
    if (!Number.isSafeInteger(this.horizonDays) || this.horizonDays < 0)
      throw new RangeError(`horizonDays must be an integer >= 0, got ${this.horizonDays}`);
  }

  /**
   * Records the events of one range (offset order; `first` is the range's first offset) and returns
   * those that are not duplicates. A range without events still marks where the seen-set starts.
   */
  async mark(partition: number, first: number, rows: readonly RangeEvent[]): Promise<MarkResult> {
    const result: MarkResult = { fresh: [], duplicates: 0, beyondHorizon: 0, startedAt: undefined };
    const duplicate = new Set<number>();
    for (let from = 0; from === 0 || from < rows.length; from += this.chunk) {
      const part = rows.slice(from, from + this.chunk);
      const since = from === 0 ? first : (part[0]?.offset ?? first);
      const reply = (await this.script.run(
        this.redis,
        [seenSetMetaKey(seenSetPrefix(this.queuePrefix, this.topic, partition))],
        this.args(partition, since, part),
      )) as Array<number | string>;
      if (reply[0] === 1) result.startedAt = since;
      result.beyondHorizon += Number(reply[1]);
      for (let i = 2; i < reply.length; i++) duplicate.add(Number(reply[i]));
    }
    result.duplicates = duplicate.size;
    result.fresh = duplicate.size === 0 ? [...rows] : rows.filter((r) => !duplicate.has(r.offset));
    return result;
  }

  private args(partition: number, since: number, rows: readonly RangeEvent[]): Array<string | Buffer> {
    const byDay = new Map<number, RangeEvent[]>();
    for (const row of rows) {
      const day = eventDay(row.event.event_time);
      const list = byDay.get(day);
      if (list) list.push(row);
      else byDay.set(day, [row]);
    }
    const args: Array<string | Buffer> = [
      seenSetPrefix(this.queuePrefix, this.topic, partition),
      String(this.horizonDays),
      String(this.bucketLoad),
      String(since),
      String(byDay.size),
    ];
    for (const [day, list] of byDay) {
      const ids = Buffer.allocUnsafe(list.length * SEEN_ID_BYTES);
      list.forEach((row, i) => {
        writeSeenId(row.event.event_id, ids, i * SEEN_ID_BYTES);
      });
      args.push(String(day), String(list.length), ids);
      for (const row of list) args.push(String(row.offset));
    }
    return args;
  }
}
