import { type ConnectionPool, type Consumer, FetchIsolationLevels } from "@platformatic/kafka";
import { type CommittedRecord, committedRecords } from "./read-committed.ts";

/**
 * One read_committed Fetch of some partitions of one topic from their leader, through the client's
 * public `Consumer.fetch`, with the aborted records dropped (read-committed.ts). Shared by the
 * group consumer (the dispatcher) and the partition reader (the checkpoint topic).
 */

export interface FetchRequest {
  node: number;
  topic: string;
  topicId: string;
  partitions: ReadonlyArray<{ partition: number; offset: bigint }>;
  maxWaitMs: number;
  maxBytesPerPartition: number;
  /** Connections of their own: a fetch waiting for data must not hold up heartbeats and commits. */
  pool?: ConnectionPool;
}

export interface PartitionFetched {
  partition: number;
  /** The offset asked for. */
  fetchOffset: bigint;
  records: CommittedRecord[];
  /** Where to fetch next: past every batch of the answer, transaction markers included. */
  next: bigint;
  highWatermark: bigint;
  /** The end of committed data: nothing at or after it is visible to read_committed yet. */
  lastStableOffset: bigint;
  logStartOffset: bigint;
}

export async function fetchCommitted(
  consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
  request: FetchRequest,
): Promise<PartitionFetched[]> {
  const response = await consumer.fetch({
    node: request.node,
    topics: [
      {
        topicId: request.topicId,
        partitions: request.partitions.map((p) => ({
          partition: p.partition,
          fetchOffset: p.offset,
          partitionMaxBytes: request.maxBytesPerPartition,
          currentLeaderEpoch: -1,
          lastFetchedEpoch: -1,
        })),
      },
    ],
    maxWaitTime: request.maxWaitMs,
    minBytes: 1,
    maxBytes: request.maxBytesPerPartition * request.partitions.length,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    ...(request.pool ? { connectionPool: request.pool } : {}),
  });
  const asked = new Map(request.partitions.map((p) => [p.partition, p.offset]));
  const out: PartitionFetched[] = [];
  for (const topic of response.responses) {
    if (topic.topicId !== request.topicId && topic.topicId !== request.topic) continue;
    for (const p of topic.partitions) {
      const fetchOffset = asked.get(p.partitionIndex);
      // A fetch session may carry partitions not asked for this time: not ours to deliver.
      if (fetchOffset === undefined) continue;
      const { records, next } = committedRecords(p.records ?? [], p.abortedTransactions, fetchOffset);
      out.push({
        partition: p.partitionIndex,
        fetchOffset,
        records,
        next,
        highWatermark: p.highWatermark,
        lastStableOffset: p.lastStableOffset >= 0n ? p.lastStableOffset : p.highWatermark,
        logStartOffset: p.logStartOffset,
      });
    }
  }
  return out;
}
