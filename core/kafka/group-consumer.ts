import {
  ConnectionPool,
  Consumer,
  type ConsumerGroupJoinPayload,
  FetchIsolationLevels,
  ListOffsetTimestamps,
} from "@platformatic/kafka";
import { CaplineError, describeError } from "../errors.ts";
import { logger } from "../logging.ts";
import { within } from "../within.ts";
import { baseOptions } from "./client.ts";
import { hasKafkaError, isRetryable, kafkaCall, toCaplineError } from "./errors.ts";
import { fetchCommitted } from "./fetcher.ts";
import type { KafkaOptions } from "./options.ts";

/**
 * A member of a consumer group that reads one topic read_committed, for the dispatcher
 * (core/kafka/README.md has the contract). The client (@platformatic/kafka) runs the group
 * protocol: join, sync, heartbeats on their own timer (so a batch may take as long as it needs
 * while the event loop turns), and rejoining after a rebalance. This class runs the fetch loop
 * on the client's public Fetch, per partition: positions, pause and resume, seek, batches with
 * the position after them (past transaction markers), and explicit commits. Nothing is committed
 * unless `commit` is called.
 */

export interface GroupConsumerOptions {
  groupId: string;
  topic: string;
  /** Largest answer per partition and fetch. @defaultValue 4 MiB */
  maxBytesPerPartition?: number;
  /**
   * How long a fetch waits at the broker for data before answering empty. Stopping waits for the
   * fetch in flight. @defaultValue 500
   */
  maxWaitMs?: number;
  /** The broker drops a member that has not heartbeated for this long. @defaultValue 30000 */
  sessionTimeoutMs?: number;
  /** @defaultValue 3000 */
  heartbeatIntervalMs?: number;
  /** How long the group waits for its members to rejoin in a rebalance. @defaultValue 60000 */
  rebalanceTimeoutMs?: number;
}

/** A committed message of the topic. */
export interface ConsumedMessage {
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  /** Milliseconds since the epoch (the producer's CreateTime). */
  timestamp: number;
}

/** What one fetch brought for one partition. */
export interface PartitionBatch {
  topic: string;
  partition: number;
  /** The generation of the group this batch was fetched in. */
  generation: number;
  /** The offset the fetch began at: the partition's position when it was asked. */
  fetchOffset: number;
  /** The committed data messages, in offset order (may be empty: markers or aborted data only). */
  messages: ConsumedMessage[];
  /**
   * The partition's position after this batch: the next offset to fetch, past trailing control
   * records (transaction markers) and aborted records. Committing it after the batch's messages
   * are durably handled leaves nothing behind.
   */
  nextOffset: number;
  /** The end of committed data when the broker answered (read_committed: the last stable offset). */
  lastStableOffset: number;
  /** Offsets still to read after this batch: `lastStableOffset - nextOffset` (0: caught up). */
  lag: number;
}

/** A partition assigned to this member, and where its fetching starts. */
export interface AssignedPartition {
  partition: number;
  /** The group's committed offset; -1 when it has none. */
  committed: number;
  /** Where fetching starts: the committed offset, or the earliest offset the broker still has. */
  position: number;
}

export interface Assignment {
  generation: number;
  /** Every partition this member owns in the new generation, kept ones included. */
  assigned: AssignedPartition[];
  /** Partitions this member owned before and does not own any more. */
  revoked: number[];
}

export interface GroupConsumerHandlers {
  /**
   * After every (re)join, before any batch of the new generation. Every assigned partition,
   * kept ones included, starts again from the group's committed offset: what was fetched but not
   * committed before the rebalance comes again (the classic, eager protocol).
   */
  onAssignment(assignment: Assignment): Promise<void> | void;
  /**
   * One partition's batch. Batches come one at a time, in offset order per partition; the next
   * fetch starts once the handler has returned. A handler that throws a retryable error (a
   * service away) makes the consumer rewind: after a pause, every owned partition starts again
   * from its committed offset, announced by onAssignment (as after a rejoin). Any other error
   * stops the consumer (onError).
   */
  onBatch(batch: PartitionBatch): Promise<void>;
  /** An error that stopped the consumer. */
  onError(error: CaplineError): void;
}

interface PartitionState {
  position: bigint;
  paused: boolean;
  /** Bumped by seek: answers fetched before it are dropped. */
  seeks: number;
}

/** A failure of the batch handler (not of Kafka): it decides between a rewind and a stop. */
class HandlerError extends Error {
  constructor(readonly original: unknown) {
    super("the batch handler failed", { cause: original });
  }
}

export class GroupConsumer {
  private readonly client: Consumer<Buffer, Buffer, Buffer, Buffer>;
  private readonly pool: ConnectionPool;
  private readonly log = logger("kafka");
  private readonly topic: string;
  private readonly maxBytesPerPartition: number;
  private readonly maxWaitMs: number;
  private readonly partitions = new Map<number, PartitionState>();
  private generation = -1;
  /** The newest assignment the client announced, not applied by the loop yet. */
  private pendingJoin: ConsumerGroupJoinPayload | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private joinFailed = false;

  constructor(
    private readonly options: KafkaOptions,
    private readonly consumer: GroupConsumerOptions,
    private readonly handlers: GroupConsumerHandlers,
  ) {
    this.topic = consumer.topic;
    this.maxBytesPerPartition = consumer.maxBytesPerPartition ?? 4 << 20;
    this.maxWaitMs = consumer.maxWaitMs ?? 500;
    this.client = new Consumer<Buffer, Buffer, Buffer, Buffer>({
      ...baseOptions(options, "-consumer"),
      groupId: consumer.groupId,
      autocommit: false,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      sessionTimeout: consumer.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: consumer.heartbeatIntervalMs ?? 3_000,
      rebalanceTimeout: consumer.rebalanceTimeoutMs ?? 60_000,
    });
    this.pool = new ConnectionPool(`${options.clientId}-fetch`, {
      connectTimeout: options.socketTimeoutMs,
      requestTimeout: options.requestTimeoutMs + this.maxWaitMs,
    });
    this.client.on("consumer:group:join", (payload) => {
      this.pendingJoin = payload;
      this.wake?.();
    });
    // A rejoin that failed (the broker away for longer than the client's retries): the loop
    // joins again. Without a listener, the client's "error" event would end the process.
    this.client.on("error", (error: unknown) => {
      this.joinFailed = true;
      this.log.warn(
        { error: describeError(error), group: consumer.groupId },
        "rejoining the consumer group failed; retrying",
      );
      this.wake?.();
    });
  }

  /** Joins the group and starts fetching; resolves once the first assignment is handled. */
  async start(): Promise<void> {
    this.running = true;
    this.client.topics.track(this.topic);
    await this.join();
    await this.applyJoin();
    this.loop = this.run().catch((error: unknown) => {
      this.running = false;
      if (error instanceof HandlerError)
        this.handlers.onError(
          error.original instanceof CaplineError
            ? error.original
            : new CaplineError("INTERNAL", `the batch handler failed: ${describeError(error.original)}`, {
                cause: error.original,
              }),
        );
      else this.handlers.onError(toCaplineError(error, this.options.brokers, `consume ${this.topic}`));
    });
  }

  private async join(): Promise<void> {
    this.joinFailed = false;
    await kafkaCall(this.options.brokers, `join consumer group ${this.consumer.groupId}`, () =>
      this.client.joinGroup({}),
    );
  }

  /** The partitions this member owns now. */
  assignment(): number[] {
    return [...this.partitions.keys()].sort((a, b) => a - b);
  }

  /** Stops fetching `partition` (batches fetched before and not delivered yet are fetched again on resume). */
  pause(partition: number): void {
    const state = this.partitions.get(partition);
    if (state) state.paused = true;
  }

  resume(partition: number): void {
    const state = this.partitions.get(partition);
    if (state?.paused) {
      state.paused = false;
      this.wake?.();
    }
  }

  isPaused(partition: number): boolean {
    return this.partitions.get(partition)?.paused ?? false;
  }

  /** The next fetch of `partition` starts at `offset`; what was fetched before and not delivered is dropped. */
  seek(partition: number, offset: number): void {
    const state = this.partitions.get(partition);
    if (!state) return;
    state.position = BigInt(offset);
    state.seeks++;
    this.wake?.();
  }

  /** Where the next fetch of `partition` starts. */
  position(partition: number): number | undefined {
    const state = this.partitions.get(partition);
    return state === undefined ? undefined : Number(state.position);
  }

  /** Commits `offset` (the next offset to read) per partition for the group. */
  async commit(offsets: ReadonlyArray<{ partition: number; offset: number }>): Promise<void> {
    if (offsets.length === 0) return;
    await kafkaCall(this.options.brokers, `commit offsets of consumer group ${this.consumer.groupId}`, () =>
      this.client.commit({
        offsets: offsets.map((o) => ({
          topic: this.topic,
          partition: o.partition,
          offset: BigInt(o.offset),
          leaderEpoch: -1,
        })),
      }),
    );
  }

  /** The group's committed offsets of `partitions` (-1: none). */
  async committed(partitions: readonly number[]): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    if (partitions.length === 0) return out;
    const listed = await kafkaCall(
      this.options.brokers,
      `read the offsets of consumer group ${this.consumer.groupId}`,
      () =>
        this.client.listCommittedOffsets({ topics: [{ topic: this.topic, partitions: [...partitions] }] }),
    );
    const offsets = listed.get(this.topic) ?? [];
    for (const p of partitions) out.set(p, Number(offsets[p] ?? -1n));
    return out;
  }

  /**
   * Stops fetching, waits (at most `budgetMs`) for the batch in hand, leaves the group and closes
   * the connections. What was not committed is fetched again by the partition's next owner.
   */
  async stop(budgetMs = 5_000): Promise<void> {
    this.running = false;
    this.wake?.();
    const settled = (await within(this.loop?.then(() => true) ?? Promise.resolve(true), budgetMs)) ?? false;
    if (!settled) this.log.warn("the batch in hand did not finish in time; leaving the group without it");
    await within(
      this.client.close(true).catch(() => undefined),
      budgetMs,
    );
    await this.pool.close().catch(() => undefined);
  }

  /** Applies the newest announced assignment: committed offsets become the positions. */
  private async applyJoin(): Promise<void> {
    const payload = this.pendingJoin;
    if (!payload) return;
    this.pendingJoin = undefined;
    const owned = new Set(payload.assignments?.find((a) => a.topic === this.topic)?.partitions ?? []);
    const revoked = [...this.partitions.keys()].filter((p) => !owned.has(p));
    const mine = [...owned].sort((a, b) => a - b);
    const committed = await this.committed(mine);
    const missing = mine.filter((p) => (committed.get(p) ?? -1) < 0);
    const earliest = missing.length > 0 ? await this.earliest(missing) : new Map<number, number>();
    // A newer join arrived meanwhile: that one is the truth.
    if (this.pendingJoin) return this.applyJoin();
    this.generation = payload.generationId ?? this.generation + 1;
    this.partitions.clear();
    const assigned: AssignedPartition[] = mine.map((partition) => {
      const c = committed.get(partition) ?? -1;
      const position = c >= 0 ? c : (earliest.get(partition) ?? 0);
      this.partitions.set(partition, { position: BigInt(position), paused: false, seeks: 0 });
      return { partition, committed: c, position };
    });
    this.log.info(
      { group: this.consumer.groupId, generation: this.generation, assigned: mine, revoked },
      "partitions assigned",
    );
    await this.handlers.onAssignment({ generation: this.generation, assigned, revoked });
  }

  private async earliest(partitions: readonly number[]): Promise<Map<number, number>> {
    const listed = await kafkaCall(this.options.brokers, `list the offsets of ${this.topic}`, () =>
      this.client.listOffsets({
        topics: [this.topic],
        partitions: { [this.topic]: [...partitions] },
        timestamp: ListOffsetTimestamps.EARLIEST,
      }),
    );
    const offsets = listed.get(this.topic) ?? [];
    return new Map(partitions.map((p) => [p, Number(offsets[p] ?? 0n)]));
  }

  /** Waits until something changes (a resume, a seek, a join, stop) or `ms` pass. */
  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        if (this.joinFailed && !this.client.isActive()) await this.join();
        if (this.pendingJoin) await this.applyJoin();
        const wanted = [...this.partitions].filter(([, s]) => !s.paused);
        if (wanted.length === 0) {
          await this.idle(200);
          continue;
        }
        await this.fetchOnce(wanted);
        failures = 0;
      } catch (error) {
        if (!this.running) return;
        if (error instanceof HandlerError) {
          if (!isRetryable(error.original)) throw error;
          failures++;
          const delay = Math.min(250 * 2 ** Math.min(failures, 5), 5_000);
          this.log.warn(
            { error: describeError(error.original), attempt: failures, retryInMs: delay },
            "the batch handler failed; every partition starts again from its committed offset",
          );
          await this.idle(delay);
          this.rewind();
          continue;
        }
        if (error instanceof CaplineError && error.code === "INTERNAL") throw error;
        const retryable = isRetryable(error) || hasKafkaError(error, "UNKNOWN_TOPIC_OR_PARTITION");
        if (!retryable) throw error;
        failures++;
        const delay = Math.min(250 * 2 ** Math.min(failures, 5), 5_000);
        this.log.warn(
          { error: describeError(error), attempt: failures, retryInMs: delay },
          `fetching ${this.topic} failed; retrying`,
        );
        this.client.clearMetadata();
        await this.idle(delay);
      }
    }
  }

  /** The current assignment again, as if the group had just been joined: positions from the committed offsets. */
  private rewind(): void {
    this.pendingJoin ??= {
      groupId: this.consumer.groupId,
      memberId: this.client.memberId ?? "",
      generationId: this.generation,
      assignments: [{ topic: this.topic, partitions: this.assignment() }],
    };
  }

  private async fetchOnce(wanted: Array<[number, PartitionState]>): Promise<void> {
    const generation = this.generation;
    const metadata = await this.client.metadata({ topics: [this.topic] });
    const meta = metadata.topics.get(this.topic);
    if (!meta)
      throw new CaplineError("SERVICE_ERROR", `no metadata for topic ${this.topic}`, { retryable: true });
    const byNode = new Map<number, Array<{ partition: number; offset: bigint; seeks: number }>>();
    for (const [partition, state] of wanted) {
      const leader = meta.partitions[partition]?.leader ?? -1;
      if (leader < 0) continue;
      const list = byNode.get(leader) ?? [];
      byNode.set(leader, list);
      list.push({ partition, offset: state.position, seeks: state.seeks });
    }
    if (byNode.size === 0) {
      await this.idle(200);
      return;
    }
    const answers = await Promise.all(
      [...byNode].map(async ([node, partitions]) => {
        try {
          return await fetchCommitted(this.client, {
            node,
            topic: this.topic,
            topicId: meta.id,
            partitions,
            maxWaitMs: this.maxWaitMs,
            maxBytesPerPartition: this.maxBytesPerPartition,
            pool: this.pool,
          });
        } catch (error) {
          // A committed offset the broker no longer has (retention, or a topic recreated by a
          // reset): start over from the earliest offset it has, as a new group would.
          if (hasKafkaError(error, "OFFSET_OUT_OF_RANGE")) {
            const earliest = await this.earliest(partitions.map((p) => p.partition));
            for (const p of partitions) {
              const state = this.partitions.get(p.partition);
              const low = earliest.get(p.partition) ?? 0;
              if (state && state.seeks === p.seeks && state.position < BigInt(low))
                state.position = BigInt(low);
            }
            this.log.warn(
              { partitions: partitions.map((p) => p.partition) },
              "offset out of range: from the earliest offset",
            );
            return [];
          }
          throw error;
        }
      }),
    );
    const seeks = new Map([...byNode.values()].flat().map((p) => [p.partition, p.seeks]));
    for (const fetched of answers.flat()) {
      if (!this.running || this.pendingJoin || this.generation !== generation) return;
      const state = this.partitions.get(fetched.partition);
      // Paused, moved by a seek, or no longer ours since the fetch was sent: drop the answer.
      if (
        !state ||
        state.paused ||
        state.seeks !== seeks.get(fetched.partition) ||
        state.position !== fetched.fetchOffset
      )
        continue;
      if (fetched.next <= fetched.fetchOffset) continue;
      const lastStable = Number(fetched.lastStableOffset);
      const next = Number(fetched.next);
      try {
        await this.handlers.onBatch({
          topic: this.topic,
          partition: fetched.partition,
          generation,
          fetchOffset: Number(fetched.fetchOffset),
          messages: fetched.records,
          nextOffset: next,
          lastStableOffset: lastStable,
          lag: Math.max(0, lastStable - next),
        });
      } catch (error) {
        throw new HandlerError(error);
      }
      // The handler may have sought elsewhere (a replay): its position stands.
      if (state.seeks === seeks.get(fetched.partition) && this.partitions.get(fetched.partition) === state)
        state.position = fetched.next;
    }
  }
}
