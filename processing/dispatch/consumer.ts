import type { DlqRecord } from "./classify.ts";

/**
 * What the dispatcher needs from a Kafka consumer, and nothing more: the face an adapter over
 * `core/kafka/` implements (one consumer-group member reading one topic). The dispatcher never
 * sees a Kafka client; the adapter never sees ranges or jobs.
 *
 * The contract an implementation keeps:
 * - **read_committed**, **no automatic commit**: the only commits are `commit()`'s.
 * - **Assignment**: `assigned` / `revoked` are called with the partitions gained or lost by a
 *   rebalance (a revoked partition's batches are no longer delivered once `revoked` resolved). A
 *   partition starts at its committed offset (or the log start when there is none) and
 *   **resumed**, whatever its pause state in an earlier assignment.
 * - **Batches**: per partition, in offset order, one at a time: the next batch of a partition is
 *   not delivered before the handler's promise for the previous one settled (that is the
 *   backpressure along with `pause`). Batches of different partitions may interleave.
 * - **Control records**: a batch's `next` is the position after everything the fetch covered,
 *   transaction markers and aborted records included; a fetch that held only control records is
 *   delivered as a batch with no messages, so the position still moves past them.
 * - **`from`**: the offset a batch continues from: where the previous batch of this assignment
 *   ended (its `next`), or where consumption (re)started (the committed offset, the log start,
 *   or the offset of the last `seek`).
 * - **Seek**: after `seek(p, o)`, batches fetched before it are dropped and the next batch of `p`
 *   has `from === o`.
 * - **Commit** stores an explicit offset: the next offset to consume, Kafka's convention.
 */

export interface ConsumedMessage {
  offset: number;
  /** The record's value (null for a tombstone). */
  value: Buffer | null;
}

export interface ConsumedBatch {
  partition: number;
  /** The offset this batch continues from (see the contract above). */
  from: number;
  /** The batch's messages in offset order; may be empty (control records only). */
  messages: readonly ConsumedMessage[];
  /** The position after this batch: past its last message and any control records after it. */
  next: number;
  /** Nothing more is there to fetch past `next` right now (the partition's last stable offset). */
  caughtUp: boolean;
}

export interface ConsumerHandlers {
  assigned(partitions: readonly number[]): Promise<void>;
  revoked(partitions: readonly number[]): Promise<void>;
  /** Resolves when the batch is taken; a rejection is reported by the handler itself, never thrown. */
  batch(batch: ConsumedBatch): Promise<void>;
  /** The consumer stopped for good (it cannot rejoin the group). */
  fatal(error: Error): void;
}

export interface DispatchConsumer {
  /** The topic consumed (the dispatcher derives range ids and Redis keys from it). */
  readonly topic: string;
  /** Joins the group and starts delivering to `handlers`; resolves once running. */
  start(handlers: ConsumerHandlers): Promise<void>;
  /** The group's committed offset of a partition; undefined when nothing was committed. */
  committed(partition: number): Promise<number | undefined>;
  /** Commits `offset` (the next offset to consume) for a partition. */
  commit(partition: number, offset: number): Promise<void>;
  pause(partition: number): void;
  resume(partition: number): void;
  seek(partition: number, offset: number): void;
  /** Leaves the group and closes the connections. */
  close(): Promise<void>;
}

/** Where the dispatcher sends the DLQ records of messages that are not events (an idempotent producer). */
export interface DlqProducer {
  send(records: readonly DlqRecord[]): Promise<void>;
}
