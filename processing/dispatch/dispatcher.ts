import type { Redis } from "ioredis";
import { describeError } from "../../core/errors.ts";
import type { Logger } from "../../core/logging.ts";
import { rangeId } from "../../core/names.ts";
import { Tombstones } from "../forget/tombstones.ts";
import type { RangeJobData } from "../jobs.ts";
import type { PayloadCache } from "../payload-cache.ts";
import { settlesWithin, sleep } from "../retry.ts";
import { SharedStrings } from "../shared-strings.ts";
import type { OffsetRange } from "../watermark.ts";
import { classify, type DlqRecord, dlqRecord } from "./classify.ts";
import { CommitLedger, type JobKind, type LedgerAction, type LedgerRange } from "./commit-ledger.ts";
import type { ConsumedBatch, DispatchConsumer, DlqProducer } from "./consumer.ts";
import { CutRegistry } from "./cut-registry.ts";
import { JobGateway, type JobGatewayOptions, type JobOutcome } from "./job-gateway.ts";
import { PayloadStore } from "./payloads.ts";
import { type CutRange, RangeCutter } from "./range-cutter.ts";
import { SeenSet } from "./seen-set.ts";

/**
 * The dispatcher (docs/processing.md, "Job model"): wires a consumer-group member to the parts of
 * this folder. Per partition, each batch's messages are classified once (messages that are not
 * events go to the DLQ), cut into ranges (`RangeCutter`), registered (`CutRegistry`), deduplicated
 * (`SeenSet`), stored (`PayloadStore`) and queued (`JobGateway`); the `CommitLedger` says which
 * jobs to queue next, what to commit, and when to pause or resume. Work on one partition is
 * serialized (batches, ticks and job outcomes interleave at awaits); partitions run side by side.
 *
 * When a partition's state cannot be trusted (a cut refused because another dispatcher registered
 * an overlapping one, a range whose job and payload Redis lost, a batch that skips offsets, any
 * failed step), it is dropped and the partition is sought back to its committed offset: the cut
 * registry makes the replay produce the same ranges and every write is idempotent.
 */

export interface DispatcherOptions {
  /** Redis key prefix (QUEUE_PREFIX). */
  queuePrefix: string;
  /** Largest range, in messages. @defaultValue 20000 */
  rangeSize?: number;
  /**
   * Ranges in flight per partition before the partition is paused (resumed below half of it). 4:
   * fewer ranges cut and stored ahead of the workers (BENCHMARKS.md, "Memory of the process").
   * @defaultValue 4
   */
  maxInFlight?: number;
  /** A partial range is cut after this long without new messages. @defaultValue 300 */
  lingerMs?: number;
  /** How often lingering ranges are cut and drained partitions committed. @defaultValue 100 */
  tickMs?: number;
  /** Days of the seen-set kept, back from the newest event day (0: all). @defaultValue 0 */
  dedupHorizonDays?: number;
  /** BullMQ connection and job options. */
  gateway: Omit<JobGatewayOptions, "queuePrefix">;
  /** Decoded payloads shared with workers in the same process (optional). */
  payloadCache?: PayloadCache;
}

export interface DispatcherStats {
  /** Events dispatched to the sinks (duplicates left out; a replay dispatches its events again). */
  events: number;
  ranges: number;
  dlq: number;
  /** Events left out because their event_id was first seen at another offset. */
  duplicates: number;
  /** Ranges committed. */
  committed: number;
  /** Jobs that failed for good (their ranges are held; see JobGateway). */
  failed_jobs: number;
  /** Events older than the dedup horizon (not checked). */
  beyond_horizon: number;
  /** Events of customers on the forget list (capline forget), left out of their range. */
  forgotten: number;
  /** Partitions sought back to their committed offset. */
  replays: number;
}

/** The partition's state cannot be trusted: rebuild it by replaying from the committed offset. */
class ReplayNeeded extends Error {}

interface PartitionState {
  partition: number;
  /** Where this state began consuming (the committed offset, or the first batch's). */
  start: number;
  cutter: RangeCutter;
  ledger: CommitLedger;
  /** Job data of the ranges in flight, by first offset. */
  data: Map<number, RangeJobData>;
}

export class Dispatcher {
  readonly stats: DispatcherStats = {
    events: 0,
    ranges: 0,
    dlq: 0,
    duplicates: 0,
    committed: 0,
    failed_jobs: 0,
    beyond_horizon: 0,
    forgotten: 0,
    replays: 0,
  };
  private readonly topic: string;
  private readonly registry: CutRegistry;
  private readonly seen: SeenSet;
  private readonly payloads: PayloadStore;
  /** The forget list: forgotten customers' events never reach a payload. */
  private readonly tombstones: Tombstones;
  private readonly gateway: JobGateway;
  private readonly states = new Map<number, PartitionState>();
  /** Partitions sought back: batches are dropped until one starts at the target. */
  private readonly seeking = new Map<number, number>();
  private readonly lanes = new Map<number, Promise<unknown>>();
  /** Consecutive failed steps per partition (backoff before the replay). */
  private readonly failures = new Map<number, number>();
  private readonly rangeSize: number;
  private readonly maxInFlight: number;
  private readonly lingerMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** A tick is running (a slow Redis must not stack them up). */
  private ticking = false;
  private stopped = false;
  private fatal: ((error: Error) => void) | undefined;

  constructor(
    private readonly consumer: DispatchConsumer,
    private readonly dlq: DlqProducer,
    redis: Redis,
    private readonly options: DispatcherOptions,
    private readonly log: Logger,
  ) {
    this.topic = consumer.topic;
    this.rangeSize = options.rangeSize ?? 20_000;
    this.maxInFlight = options.maxInFlight ?? 4;
    this.lingerMs = options.lingerMs ?? 300;
    this.registry = new CutRegistry(redis, options.queuePrefix, this.topic);
    this.seen = new SeenSet(redis, options.queuePrefix, this.topic, {
      horizonDays: options.dedupHorizonDays ?? 0,
    });
    this.payloads = new PayloadStore(redis, options.queuePrefix, options.payloadCache);
    this.tombstones = new Tombstones(redis, options.queuePrefix);
    this.gateway = new JobGateway(
      { ...options.gateway, queuePrefix: options.queuePrefix },
      (outcome) => this.onOutcome(outcome),
      log,
    );
  }

  /** Starts listening for job outcomes, then joins the group; `onFatal` hears of errors that stop it. */
  async start(onFatal: (error: Error) => void): Promise<void> {
    this.fatal = onFatal;
    await this.gateway.start();
    await this.consumer.start({
      assigned: async (partitions) => {
        this.log.info({ partitions }, "partitions assigned");
        for (const p of partitions) this.seeking.delete(p);
      },
      revoked: (partitions) => this.revoke(partitions),
      batch: (batch) => this.onBatch(batch),
      fatal: (error) => this.fail(error),
    });
    this.timer = setInterval(() => void this.tick(), this.options.tickMs ?? 100);
  }

  /**
   * Commits what completed, then leaves the group and closes the connections, in at most about
   * `budgetMs` whatever state Redis and Kafka are in. What is left uncommitted is replayed by the
   * next owner (idempotent).
   */
  async stop(budgetMs = 8000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    const deadline = performance.now() + budgetMs;
    const left = (share: number) => Math.max(100, (deadline - performance.now()) * share);
    const finalCommit = Promise.all(
      [...this.states.keys()].map((p) =>
        this.lane(p, async () => {
          const state = this.states.get(p);
          if (state) await this.settle(state);
        }),
      ),
    );
    if (!(await settlesWithin(finalCommit, left(0.3))))
      this.log.warn("final commit skipped: Redis or Kafka does not answer");
    if (!(await settlesWithin(this.consumer.close(), left(0.6))))
      this.log.warn("left the consumer group without a clean disconnect");
    await this.gateway.close(left(0.9));
  }

  /** Per partition: consumed position, committed offset, ranges in flight and held by a failed job. */
  snapshot(): Array<{
    partition: number;
    position: number;
    committed: number;
    inFlight: number;
    failed: number;
  }> {
    return [...this.states.values()].map((s) => ({
      partition: s.partition,
      position: s.ledger.position,
      committed: s.ledger.committed ?? -1,
      inFlight: s.ledger.inFlight,
      failed: s.ledger.failed().length,
    }));
  }

  private fail(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.log.error({ error: describeError(err) }, "dispatcher stopped");
    this.fatal?.(err);
  }

  /**
   * Serializes the work on one partition. A failed step replays the partition (from `from` when it
   * has no state yet: the batch that could not be taken).
   */
  private lane(partition: number, work: () => Promise<void>, from?: number): Promise<void> {
    const run = async () => {
      try {
        await work();
        this.failures.delete(partition);
      } catch (error) {
        await this.replay(partition, error, from);
      }
    };
    const next = (this.lanes.get(partition) ?? Promise.resolve()).then(run, run);
    this.lanes.set(partition, next);
    return next;
  }

  private async revoke(partitions: readonly number[]): Promise<void> {
    this.log.info({ partitions }, "partitions revoked");
    await Promise.all(
      partitions.map((p) =>
        this.lane(p, async () => {
          this.states.delete(p);
          this.seeking.delete(p);
          this.gateway.forgetPartition(p);
        }),
      ),
    );
  }

  private onBatch(batch: ConsumedBatch): Promise<void> {
    return this.lane(
      batch.partition,
      async () => {
        if (this.stopped) return;
        const p = batch.partition;
        const target = this.seeking.get(p);
        if (target !== undefined) {
          // Fetched before the seek: its messages belong to the state that was dropped.
          if (batch.from !== target) return;
          this.seeking.delete(p);
        }
        const state = this.states.get(p) ?? (await this.open(p, batch.from));
        if (batch.from > state.cutter.position)
          throw new ReplayNeeded(`batch from ${batch.from} skips offsets after ${state.cutter.position}`);
        const strings = new SharedStrings();
        const messages = batch.messages.map((m) => classify(m.offset, m.value, strings));
        await this.sendToDlq(p, messages);
        const now = performance.now();
        for (const message of messages)
          for (const cut of state.cutter.push(message, now)) await this.dispatch(state, cut);
        state.cutter.skipTo(batch.next);
        state.ledger.advance(batch.next);
        if (batch.caughtUp) {
          const cut = state.cutter.flush();
          if (cut) await this.dispatch(state, cut);
        }
        await this.settle(state);
      },
      batch.from,
    );
  }

  /** A partition's first batch (of an assignment or after a replay): committed offset and registered cuts. */
  private async open(partition: number, from: number): Promise<PartitionState> {
    const committed = await this.consumer.committed(partition);
    if (committed !== undefined && from !== committed)
      this.log.warn({ partition, committed, from }, "consumption starts away from the committed offset");
    const start = from;
    const cuts = await this.registry.load(partition, committed);
    const cutter = new RangeCutter(cuts, start, { rangeSize: this.rangeSize, lingerMs: this.lingerMs });
    const state: PartitionState = {
      partition,
      start,
      cutter,
      ledger: new CommitLedger(committed, start, this.maxInFlight),
      data: new Map(),
    };
    this.states.set(partition, state);
    this.log.info({ partition, committed, registeredCuts: cuts.length }, "partition started");
    return state;
  }

  private async sendToDlq(partition: number, messages: ReturnType<typeof classify>[]): Promise<void> {
    const records: DlqRecord[] = [];
    for (const m of messages) {
      const record = dlqRecord(this.topic, partition, m);
      if (record) records.push(record);
    }
    if (records.length === 0) return;
    await this.dlq.send(records);
    this.stats.dlq += records.length;
    this.log.warn({ partition, count: records.length }, "messages that are not events went to the DLQ");
  }

  /** One range: registered (if new), deduplicated, stored, then its jobs as the ledger says. */
  private async dispatch(state: PartitionState, cut: CutRange): Promise<void> {
    const range: OffsetRange = {
      topic: this.topic,
      partition: state.partition,
      first: cut.first,
      last: cut.last,
    };
    // Registered before anything refers to it: a replay then cuts the same range again.
    if (cut.fresh && !(await this.registry.register(state.partition, cut.first, cut.last)))
      throw new ReplayNeeded(`range ${rangeId(range)} overlaps a cut registered by another dispatcher`);
    const marked = await this.seen.mark(state.partition, cut.first, cut.rows);
    if (marked.startedAt !== undefined && marked.startedAt > 0)
      this.log.warn(
        { partition: state.partition, since: marked.startedAt },
        "no seen-set before this offset (an installation that predates it, or Redis lost its data): duplicates of earlier events are not recognised",
      );
    // Customers erased by capline forget are left out here already (the workers check again: a
    // range stored before the erasure still holds them). Like duplicates, they keep their offset.
    const kept = await this.tombstones.filter(marked.fresh);
    const payloadKey = await this.payloads.store(range, kept.rows);
    state.data.set(cut.first, {
      ...range,
      payloadKey,
      events: kept.rows.length,
      dlq: cut.dlq,
      duplicates: marked.duplicates,
    });
    this.stats.events += kept.rows.length;
    this.stats.forgotten += kept.forgotten;
    this.stats.duplicates += marked.duplicates;
    this.stats.beyond_horizon += marked.beyondHorizon;
    this.stats.ranges++;
    await this.apply(state, state.ledger.add({ first: cut.first, last: cut.last }));
  }

  private async apply(state: PartitionState, actions: readonly LedgerAction[]): Promise<void> {
    for (const action of actions) {
      if (action.type === "pause") this.consumer.pause(state.partition);
      else if (action.type === "resume") this.consumer.resume(state.partition);
      else await this.gateway.add(action.kind, this.jobData(state, action.kind, action.range));
    }
  }

  /** The archive job carries the range's counts (its ops record counts them once); the index job none. */
  private jobData(state: PartitionState, kind: JobKind, range: LedgerRange): RangeJobData {
    const data = state.data.get(range.first);
    if (!data) throw new Error(`no job data for range ${range.first}-${range.last} of ${state.partition}`);
    return kind === "archive" ? data : { ...data, events: 0, dlq: 0, duplicates: 0 };
  }

  /** Commits what the ledger allows, then forgets the committed ranges' payloads, jobs and cuts. */
  private async settle(state: PartitionState): Promise<void> {
    const plan = state.ledger.plan(state.cutter.holding);
    if (!plan) return;
    await this.consumer.commit(state.partition, plan.offset);
    const resume = state.ledger.markCommitted(plan);
    this.stats.committed += plan.ranges.length;
    const ranges = plan.ranges.map((r) => ({ topic: this.topic, partition: state.partition, ...r }));
    for (const r of plan.ranges) state.data.delete(r.first);
    await this.registry.forget(
      state.partition,
      plan.ranges.map((r) => r.first),
    );
    await this.payloads.forget(ranges);
    await this.gateway.remove(ranges);
    await this.apply(state, resume);
  }

  private onOutcome(outcome: JobOutcome): void {
    const p = outcome.data.partition;
    void this.lane(p, async () => {
      const state = this.states.get(p);
      if (!state) return;
      const range = { first: outcome.data.first, last: outcome.data.last };
      if (state.data.get(range.first)?.last !== range.last) return;
      if (outcome.result === "unknown") {
        // Removed, or Redis lost it, before we saw it finish: queue it again if its messages are
        // still there (idempotent), else rebuild the partition from Kafka.
        if (!(await this.payloads.exists(outcome.data)))
          throw new ReplayNeeded(`range ${rangeId(outcome.data)} lost its job and its messages in Redis`);
        await this.gateway.add(outcome.kind, this.jobData(state, outcome.kind, range));
        return;
      }
      if (outcome.result === "failed") this.stats.failed_jobs++;
      const reason = outcome.result === "failed" ? outcome.reason : "";
      await this.apply(state, state.ledger.outcome(outcome.kind, range, outcome.result, reason));
      await this.settle(state);
    });
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.ticking) return;
    this.ticking = true;
    try {
      await Promise.all(
        [...this.states.keys()].map((p) =>
          this.lane(p, async () => {
            const state = this.states.get(p);
            if (!state || this.stopped) return;
            const cut = state.cutter.linger(performance.now(), state.ledger.isPaused);
            if (cut) await this.dispatch(state, cut);
            await this.settle(state);
          }),
        ),
      );
    } finally {
      this.ticking = false;
    }
  }

  /**
   * Drops the partition's state and seeks it back to its committed offset. After a failed step
   * that is not a known replay cause (Redis refusing writes, say), waits first, doubling up to
   * 30 s, so a lasting fault does not spin.
   */
  private async replay(partition: number, error: unknown, from?: number): Promise<void> {
    const state = this.states.get(partition);
    if (!(error instanceof ReplayNeeded)) {
      const n = (this.failures.get(partition) ?? 0) + 1;
      this.failures.set(partition, n);
      this.log.warn({ partition, error: describeError(error), attempt: n }, "dispatch step failed");
      await sleep(Math.min(30_000, 250 * 2 ** Math.min(n, 7)));
    } else
      this.log.warn(
        { partition, reason: error.message },
        "replaying the partition from its committed offset",
      );
    if (this.stopped || this.states.get(partition) !== state) return;
    const target = state ? (state.ledger.committed ?? state.start) : from;
    if (target === undefined) return;
    this.states.delete(partition);
    this.gateway.forgetPartition(partition);
    this.stats.replays++;
    if (state?.ledger.isPaused) this.consumer.resume(partition);
    this.seeking.set(partition, target);
    this.consumer.seek(partition, target);
  }

  /** Ranges held by jobs that failed for good, over every partition. */
  held(): Array<{ partition: number; range: string; kind: JobKind; reason: string }> {
    return [...this.states.values()].flatMap((s) =>
      s.ledger.failed().map((f) => ({
        partition: s.partition,
        range: rangeId({ topic: this.topic, partition: s.partition, ...f.range }),
        kind: f.kind,
        reason: f.reason,
      })),
    );
  }
}
