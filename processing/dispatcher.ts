import { type JobsOptions, Queue } from "bullmq";
import type { Redis } from "ioredis";
import { type CaplineError, describeError } from "../core/errors.ts";
import {
  type ConsumedMessage,
  GroupConsumer,
  IdempotentProducer,
  type KafkaOptions,
  type PartitionBatch,
} from "../core/kafka/index.ts";
import type { Logger } from "../core/logging.ts";
import { cutsKey, payloadKey, rangeId } from "../core/names.ts";
import {
  ARCHIVE_QUEUE,
  encodePayload,
  INDEX_QUEUE,
  jobId,
  type PayloadCache,
  RANGE_JOB_OPTIONS,
  type RangeJobData,
} from "./jobs.ts";
import type { RangeEvent } from "./lake.ts";
import { settlesWithin } from "./retry.ts";
import { checkEvent } from "./validate.ts";
import type { OffsetRange } from "./watermark.ts";

/**
 * The dispatcher (docs/processing.md): a Kafka consumer-group member that cuts each partition's
 * messages into ranges, stores them in Redis, queues an archive job and (in order, one at a time
 * per partition) an index job per range, and commits a partition's offset only past ranges whose
 * jobs have both completed.
 */

export interface DispatcherOptions {
  topic: string;
  dlqTopic: string;
  groupId: string;
  queuePrefix: string;
  /** Largest range, in messages. @defaultValue 20000 */
  rangeSize?: number;
  /** Ranges in flight per partition before the partition is paused (backpressure). @defaultValue 8 */
  maxInFlight?: number;
  /**
   * A partial range is cut when its partition is caught up, or after this long without new
   * messages. @defaultValue 300
   */
  lingerMs?: number;
  /** How often job states are checked and offsets committed. @defaultValue 100 */
  tickMs?: number;
  /** BullMQ connection options (a URL). */
  connection: { url: string; maxRetriesPerRequest: null };
  /** The process's decoded payloads, shared with workers in the same process. */
  payloads?: PayloadCache;
}

/** Job options (jobs.ts): an outage is retried with backoff; a job that can never succeed fails. */
export const JOB_OPTIONS: JobsOptions = RANGE_JOB_OPTIONS;

interface Pending {
  range: OffsetRange;
  archiveDone: boolean;
  index: "waiting" | "queued" | "done";
}

interface Open {
  range: OffsetRange;
  rows: RangeEvent[];
  dlq: number;
}

interface PartitionState {
  partition: number;
  /** Registered cuts not yet committed, sorted by first offset. */
  cuts: Array<[first: number, last: number]>;
  /** A registered cut being refilled during a replay. */
  open: Open | undefined;
  /** Messages beyond every registered cut, not cut yet. */
  buffer: RangeEvent[];
  bufferFirst: number | undefined;
  bufferLast: number | undefined;
  bufferDlq: number;
  /** When the buffer last grew (performance.now()). */
  bufferTouched: number;
  ranges: Pending[];
  /** Next offset after everything consumed, control records included. */
  position: number;
  committed: number;
  paused: boolean;
}

/** Registers a cut unless another cut overlaps it: returns 1, or 0 when the cut conflicts. */
const REGISTER_CUT = `
local all = redis.call('HGETALL', KEYS[1])
local a = tonumber(ARGV[1])
local b = tonumber(ARGV[2])
for i = 1, #all, 2 do
  local f = tonumber(all[i])
  local l = tonumber(all[i + 1])
  if f == a and l == b then return 1 end
  if f <= b and a <= l then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

/** The partition's state cannot be trusted: rebuild it by replaying from the committed offset. */
class ReplayNeeded extends Error {}

export interface DispatcherStats {
  events: number;
  ranges: number;
  dlq: number;
  committed: number;
}

export class Dispatcher {
  readonly stats: DispatcherStats = { events: 0, ranges: 0, dlq: 0, committed: 0 };
  private readonly consumer: GroupConsumer;
  private readonly producer: IdempotentProducer;
  private readonly archiveQueue: Queue<RangeJobData>;
  private readonly indexQueue: Queue<RangeJobData>;
  private readonly states = new Map<number, PartitionState>();
  private readonly locks = new Map<number, Promise<unknown>>();
  private readonly rangeSize: number;
  private readonly maxInFlight: number;
  private readonly lingerMs: number;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private stopped = false;
  private fatal: ((error: Error) => void) | undefined;
  /** Jobs that failed before this dispatcher started run once more; later failures are left for the operator. */
  private readonly startedAt = Date.now();
  private readonly failedSeen = new Set<string>();

  constructor(
    kafka: KafkaOptions,
    private readonly redis: Redis,
    private readonly options: DispatcherOptions,
    private readonly log: Logger,
  ) {
    this.rangeSize = options.rangeSize ?? 20_000;
    this.maxInFlight = options.maxInFlight ?? 8;
    this.lingerMs = options.lingerMs ?? 300;
    this.consumer = new GroupConsumer(
      kafka,
      {
        groupId: options.groupId,
        topic: options.topic,
        maxBytesPerPartition: 4 * 1024 * 1024,
        // A fetch waits this long for data before answering empty; stopping waits for the fetch
        // in flight, so a long wait (kafkajs's default was 5 s) adds to every --until-idle exit.
        maxWaitMs: 500,
        sessionTimeoutMs: 30_000,
        heartbeatIntervalMs: 3_000,
      },
      {
        // A new generation re-assigns partitions, each from its committed offset: forget
        // everything; the first batch of each partition rebuilds its state from the committed
        // offset and the cut registry. (Paused partitions start unpaused in the new generation.)
        onAssignment: (assignment) => {
          this.log.info(
            { generation: assignment.generation, assigned: assignment.assigned, revoked: assignment.revoked },
            "joined the consumer group",
          );
          this.states.clear();
        },
        onBatch: (batch) => this.onBatch(batch),
        onError: (error: CaplineError) => this.fail(error),
      },
    );
    // DLQ records: idempotent, and retried for as long as the broker is away.
    this.producer = new IdempotentProducer(kafka, "-dispatcher");
    const queueOptions = { connection: options.connection, prefix: options.queuePrefix };
    this.archiveQueue = new Queue<RangeJobData>(ARCHIVE_QUEUE, queueOptions);
    this.indexQueue = new Queue<RangeJobData>(INDEX_QUEUE, queueOptions);
  }

  /** Joins the group and starts dispatching; `onFatal` hears of errors that stop the dispatcher. */
  async start(onFatal: (error: Error) => void): Promise<void> {
    this.fatal = onFatal;
    await this.consumer.start();
    this.timer = setInterval(() => void this.tick(), this.options.tickMs ?? 100);
  }

  /**
   * Leaves the group and closes the connections, in at most about `budgetMs` whatever state Redis
   * and Kafka are in: a step that waits on a service that is gone (Redis commands wait for the
   * server to come back; leaving the group waits for the batch in hand, which may be waiting on
   * Redis) is left behind. What is left uncommitted is replayed by the next owner (idempotent).
   */
  async stop(budgetMs = 8000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    const deadline = performance.now() + budgetMs;
    const left = (share: number) => Math.max(100, (deadline - performance.now()) * share);
    // A final pass commits what completed meanwhile; whatever is still in flight is replayed by
    // the next owner of the partition (idempotent).
    const finalCommit = (async () => {
      for (const partition of [...this.states.keys()])
        await this.withLock(partition, async () => {
          const state = this.states.get(partition);
          if (state) await this.progress(state);
        }).catch((error: unknown) => this.log.warn({ error: describeError(error) }, "final commit skipped"));
    })();
    if (!(await settlesWithin(finalCommit, left(0.3))))
      this.log.warn("final commit skipped: Redis or Kafka does not answer");
    if (!(await settlesWithin(this.consumer.stop(left(0.5)), left(0.6))))
      this.log.warn(
        "left the consumer group without a clean disconnect (the batch in hand waits on a service)",
      );
    await settlesWithin(this.producer.close(), left(0.5));
    // quit() waits for Redis; disconnecting instead drops the connection (and its reconnect timer).
    for (const queue of [this.archiveQueue, this.indexQueue])
      if (!(await settlesWithin(queue.close(), left(0.5)))) void queue.disconnect().catch(() => undefined);
  }

  /** Per partition: consumed position and committed offset (for status and idle checks). */
  snapshot(): Array<{ partition: number; position: number; committed: number; inFlight: number }> {
    return [...this.states.values()].map((s) => ({
      partition: s.partition,
      position: s.position,
      committed: s.committed,
      inFlight: s.ranges.length,
    }));
  }

  private fail(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.log.error({ error: describeError(err) }, "dispatcher stopped");
    this.fatal?.(err);
  }

  /** Serializes work on one partition's state (batches and ticks interleave at awaits). */
  private withLock<T>(partition: number, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(partition) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    this.locks.set(
      partition,
      next.catch(() => undefined),
    );
    return next;
  }

  /**
   * One fetched batch of a partition. A batch may hold no message at all (only transaction
   * markers or aborted records): it still moves the position, so an idle partition's offset can
   * be committed past them.
   */
  private async onBatch(batch: PartitionBatch): Promise<void> {
    if (batch.topic !== this.options.topic) return;
    await this.withLock(batch.partition, async () => {
      if (this.stopped) return;
      const state = await this.stateFor(batch.partition, batch.fetchOffset);
      await this.sendToDlq(batch.partition, batch.messages);
      try {
        for (const message of batch.messages) await this.route(state, message);
        // Caught up (at most a transaction marker left): cut what is buffered now. Otherwise more
        // messages are coming and the range keeps filling; the tick cuts it if they stop coming
        // (lingerMs).
        if (batch.lag <= 1) await this.flushBuffer(state);
      } catch (error) {
        this.replayOn(error, state);
        return;
      }
      if (batch.nextOffset > state.position) state.position = batch.nextOffset;
      if (state.ranges.length >= this.maxInFlight && !state.paused) {
        this.consumer.pause(state.partition);
        state.paused = true;
      }
    });
  }

  private async stateFor(partition: number, firstOffset: number): Promise<PartitionState> {
    const existing = this.states.get(partition);
    if (existing) return existing;
    const committedRaw = (await this.consumer.committed([partition])).get(partition) ?? -1;
    // No commit yet (-1): consumption starts at the first offset the broker still has.
    const committed = committedRaw >= 0 ? committedRaw : -1;
    const key = cutsKey(this.options.queuePrefix, this.options.topic, partition);
    const registered = await this.redis.hgetall(key);
    const cuts: Array<[number, number]> = [];
    const stale: OffsetRange[] = [];
    for (const [first, last] of Object.entries(registered)) {
      const range = { topic: this.options.topic, partition, first: Number(first), last: Number(last) };
      if (range.last < committed) stale.push(range);
      else cuts.push([range.first, range.last]);
    }
    cuts.sort((a, b) => a[0] - b[0]);
    if (stale.length > 0) await this.forget(stale);
    const state: PartitionState = {
      partition,
      cuts,
      open: undefined,
      buffer: [],
      bufferFirst: undefined,
      bufferLast: undefined,
      bufferDlq: 0,
      bufferTouched: 0,
      ranges: [],
      position: committed >= 0 ? committed : firstOffset,
      committed,
      paused: false,
    };
    this.states.set(partition, state);
    this.log.info({ partition, committed, registeredCuts: cuts.length }, "partition assigned");
    return state;
  }

  private async sendToDlq(partition: number, messages: readonly ConsumedMessage[]): Promise<void> {
    const rejected: Array<{ key: string; value: string }> = [];
    for (const m of messages) {
      const checked = checkEvent(m.value);
      if (!checked.ok)
        rejected.push({
          // The key names the message, so a replayed rejection can be recognised as the same one.
          key: `${this.options.topic}+${partition}+${m.offset}`,
          value: JSON.stringify({
            source: { topic: this.options.topic, partition, offset: m.offset },
            raw: m.value?.toString("utf8") ?? null,
            reason: checked.reason,
            detail: checked.detail,
          }),
        });
    }
    if (rejected.length === 0) return;
    await this.producer.send(
      rejected.map((r) => ({ topic: this.options.dlqTopic, key: r.key, value: r.value })),
    );
    this.stats.dlq += rejected.length;
    this.log.warn({ partition, count: rejected.length }, "messages that are not events went to the DLQ");
  }

  private async route(state: PartitionState, message: ConsumedMessage): Promise<void> {
    const offset = message.offset;
    const checked = checkEvent(message.value);
    const row: RangeEvent | undefined = checked.ok ? { offset, event: checked.event } : undefined;
    if (!state.open) {
      // Drop cuts that lie wholly before this message (their messages were all control/aborted).
      while (state.cuts.length > 0 && (state.cuts[0]?.[1] ?? 0) < offset && !state.open) {
        const [first, last] = state.cuts[0] ?? [0, 0];
        // A registered cut we never saw a message of: nothing to do but keep the registry honest.
        this.log.warn({ partition: state.partition, first, last }, "registered cut without messages skipped");
        state.cuts.shift();
      }
      const cut = state.cuts[0];
      if (cut && cut[0] <= offset) {
        await this.flushBuffer(state);
        state.cuts.shift();
        state.open = {
          range: { topic: this.options.topic, partition: state.partition, first: cut[0], last: cut[1] },
          rows: [],
          dlq: 0,
        };
      }
    }
    if (state.open) {
      if (row) state.open.rows.push(row);
      else state.open.dlq++;
      if (offset >= state.open.range.last) {
        const open = state.open;
        state.open = undefined;
        await this.enqueue(state, open.range, open.rows, open.dlq, false);
      }
      return;
    }
    state.bufferFirst ??= offset;
    state.bufferLast = offset;
    state.bufferTouched = performance.now();
    if (row) state.buffer.push(row);
    else state.bufferDlq++;
    if (state.buffer.length + state.bufferDlq >= this.rangeSize) await this.flushBuffer(state);
  }

  /** Cuts the fresh messages into a new range (when full, caught up, or lingering). */
  private async flushBuffer(state: PartitionState): Promise<void> {
    if (state.bufferFirst === undefined || state.bufferLast === undefined) return;
    const range = {
      topic: this.options.topic,
      partition: state.partition,
      first: state.bufferFirst,
      last: state.bufferLast,
    };
    const rows = state.buffer;
    const dlq = state.bufferDlq;
    state.buffer = [];
    state.bufferFirst = undefined;
    state.bufferLast = undefined;
    state.bufferDlq = 0;
    await this.enqueue(state, range, rows, dlq, true);
  }

  private async enqueue(
    state: PartitionState,
    range: OffsetRange,
    rows: RangeEvent[],
    dlq: number,
    fresh: boolean,
  ): Promise<void> {
    if (fresh) {
      // Register the cut before anything refers to it: a replay then cuts the same range again.
      const ok = await this.redis.eval(
        REGISTER_CUT,
        1,
        cutsKey(this.options.queuePrefix, range.topic, range.partition),
        String(range.first),
        String(range.last),
      );
      if (ok !== 1)
        throw new ReplayNeeded(`range ${rangeId(range)} overlaps a cut registered by another dispatcher`);
    }
    const key = payloadKey(this.options.queuePrefix, range);
    await this.redis.set(key, encodePayload(rows));
    this.options.payloads?.remember(key, rows);
    const data: RangeJobData = { ...range, payloadKey: key, events: rows.length, dlq };
    await this.archiveQueue.add(ARCHIVE_QUEUE, data, { ...JOB_OPTIONS, jobId: jobId(range) });
    state.ranges.push({ range, archiveDone: false, index: "waiting" });
    this.stats.events += rows.length;
    this.stats.ranges++;
    await this.pumpIndex(state);
  }

  /** Queues the next index job of the partition once the previous one has completed. */
  private async pumpIndex(state: PartitionState): Promise<void> {
    const next = state.ranges.find((r) => r.index !== "done");
    if (next?.index !== "waiting") return;
    const data: RangeJobData = {
      ...next.range,
      payloadKey: payloadKey(this.options.queuePrefix, next.range),
      events: 0,
      dlq: 0,
    };
    await this.indexQueue.add(INDEX_QUEUE, data, { ...JOB_OPTIONS, jobId: jobId(next.range) });
    next.index = "queued";
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      for (const partition of [...this.states.keys()])
        await this.withLock(partition, async () => {
          const state = this.states.get(partition);
          if (!state) return;
          await this.progress(state)
            .then(() => this.flushLingering(state))
            .catch((error: unknown) => this.replayOn(error, state));
        });
    } catch (error) {
      this.log.warn({ error: describeError(error) }, "progress check failed; retrying");
    } finally {
      this.ticking = false;
    }
  }

  /**
   * Cuts a partial range whose partition has had no new messages for lingerMs (the end of a
   * stream that is still open, say). Not while the partition is paused for backpressure: its
   * buffer keeps filling once it resumes, which keeps ranges large when the sinks are behind.
   */
  private async flushLingering(state: PartitionState): Promise<void> {
    if (state.bufferFirst === undefined || state.paused) return;
    if (performance.now() - state.bufferTouched >= this.lingerMs) await this.flushBuffer(state);
  }

  /** Checks the head ranges' jobs, queues the next index job, commits and cleans up. */
  private async progress(state: PartitionState): Promise<void> {
    for (const pending of state.ranges) {
      const id = jobId(pending.range);
      if (!pending.archiveDone) pending.archiveDone = await this.isDone(this.archiveQueue, id, pending.range);
      if (pending.index === "queued" && (await this.isDone(this.indexQueue, id, pending.range))) {
        pending.index = "done";
        await this.pumpIndex(state);
      }
      if (!pending.archiveDone || pending.index !== "done") break;
    }
    let done = 0;
    while (
      done < state.ranges.length &&
      state.ranges[done]?.archiveDone &&
      state.ranges[done]?.index === "done"
    )
      done++;
    const completed = state.ranges.slice(0, done);
    const last = completed[completed.length - 1]?.range.last;
    let target = last === undefined ? state.committed : last + 1;
    // Nothing in flight: commit past trailing control records too, so the lag reads zero.
    const drained = done === state.ranges.length && !state.open && state.bufferFirst === undefined;
    if (drained && state.position > target) target = state.position;
    if (target > state.committed) {
      await this.consumer.commit([{ partition: state.partition, offset: target }]);
      state.committed = target;
      state.ranges.splice(0, done);
      this.stats.committed += completed.length;
      await this.forget(completed.map((c) => c.range));
    }
    if (state.paused && state.ranges.length < Math.max(1, Math.floor(this.maxInFlight / 2))) {
      this.consumer.resume(state.partition);
      state.paused = false;
    }
  }

  /**
   * Rebuilds a partition from Kafka: forget its state and seek to the committed offset. The cut
   * registry makes the replay produce the same ranges; every sink write is idempotent.
   */
  private replayOn(error: unknown, state: PartitionState): void {
    if (!(error instanceof ReplayNeeded)) throw error;
    this.log.warn(
      { partition: state.partition, reason: error.message },
      "replaying the partition from its committed offset",
    );
    this.states.delete(state.partition);
    if (state.paused) this.consumer.resume(state.partition);
    this.consumer.seek(state.partition, Math.max(0, state.committed));
  }

  private async isDone(queue: Queue<RangeJobData>, id: string, range: OffsetRange): Promise<boolean> {
    const status = await queue.getJobState(id);
    if (status === "completed") return true;
    if (status === "failed") {
      // A job that can never succeed (an UnrecoverableError, or its attempts used up): the range
      // stays uncommitted, so nothing past it is lost, and the job stays failed for the monitor.
      // One that failed before this dispatcher started runs once more (the cause may be fixed).
      const key = `${queue.name}:${id}`;
      if (this.failedSeen.has(key)) return false;
      this.failedSeen.add(key);
      const job = await queue.getJob(id);
      if (job && (job.finishedOn ?? 0) < this.startedAt) {
        this.log.warn(
          { queue: queue.name, job: id, reason: job.failedReason },
          "job failed in an earlier run; running it again",
        );
        await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
        return false;
      }
      this.log.error(
        { queue: queue.name, job: id, reason: job?.failedReason },
        "job failed; its partition waits here until the cause is fixed and processing restarts",
      );
      return false;
    }
    if (status === "unknown") {
      // Removed (or Redis lost it) before we saw it finish: queue it again, it is idempotent.
      const exists = await this.redis.exists(payloadKey(this.options.queuePrefix, range));
      if (!exists) throw new ReplayNeeded(`range ${rangeId(range)} lost its job and its messages in Redis`);
      await queue.add(
        queue.name,
        { ...range, payloadKey: payloadKey(this.options.queuePrefix, range), events: 0, dlq: 0 },
        {
          ...JOB_OPTIONS,
          jobId: id,
        },
      );
    }
    return false;
  }

  /** Committed ranges: their messages, jobs and cut registrations are not needed any more. */
  private async forget(ranges: readonly OffsetRange[]): Promise<void> {
    if (ranges.length === 0) return;
    const multi = this.redis.multi();
    for (const r of ranges) {
      this.options.payloads?.forget(payloadKey(this.options.queuePrefix, r));
      multi.del(payloadKey(this.options.queuePrefix, r));
      multi.hdel(cutsKey(this.options.queuePrefix, r.topic, r.partition), String(r.first));
    }
    await multi.exec();
    for (const r of ranges) {
      await this.archiveQueue.remove(jobId(r)).catch(() => 0);
      await this.indexQueue.remove(jobId(r)).catch(() => 0);
    }
  }
}
