import type { Assigner, Cluster, Consumer, Kafka } from "kafkajs";
import { CaplineError } from "../core/errors.ts";

/**
 * Reads one partition from its start to the end it had when the read began, with read_committed
 * semantics, and without a consumer group: a kafkajs consumer always belongs to a group, and joining
 * one (then deleting it, or leaving it to expire) costs round trips and leaves state on the broker
 * when the process dies in between. This talks Fetch to the partition's leader directly instead.
 *
 * Used by the ingester to find a file's checkpoint in `<topic>.checkpoints` when its consumer-group
 * offset is gone (docs/ingestion.md, "Exactly once").
 */

/** A record as kafkajs 2.2.4 decodes it from a Fetch response (`protocol/recordBatch`). */
export interface FetchedRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  isControlRecord: boolean;
  batchContext: {
    firstOffset: string;
    lastOffsetDelta: number;
    producerId: string;
    inTransaction: boolean;
  };
}

/** An aborted transaction overlapping the fetched range, as the broker lists it (read_committed). */
export interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

export interface CommittedRecord {
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
}

/** A control record's key: version (int16), then type (int16): 0 = abort, 1 = commit. */
const isAbortMarker = (key: Buffer | null) => key !== null && key.length >= 4 && key.readInt16BE(2) === 0;

/**
 * The data records of one Fetch response that belong to committed transactions (or to no
 * transaction), and the offset to fetch next. As Kafka's Java consumer does: a producer's
 * transactional records count as aborted from the first offset the broker lists for one of its
 * aborted transactions until that producer's abort marker; control records are never data.
 */
export function committedRecords(
  records: readonly FetchedRecord[],
  aborted: readonly AbortedTransaction[],
  fetchOffset: bigint,
): { records: CommittedRecord[]; next: bigint } {
  const pending = [...aborted].sort((a, b) => (BigInt(a.firstOffset) < BigInt(b.firstOffset) ? -1 : 1));
  const abortedProducers = new Set<string>();
  const out: CommittedRecord[] = [];
  let next = fetchOffset;
  for (const record of records) {
    const batch = record.batchContext;
    const batchLast = BigInt(batch.firstOffset) + BigInt(batch.lastOffsetDelta);
    if (batchLast + 1n > next) next = batchLast + 1n;
    for (let first = pending[0]; first !== undefined && BigInt(first.firstOffset) <= batchLast; ) {
      abortedProducers.add(first.producerId);
      pending.shift();
      first = pending[0];
    }
    const offset = BigInt(record.offset);
    if (record.isControlRecord) {
      if (isAbortMarker(record.key)) abortedProducers.delete(batch.producerId);
      continue;
    }
    // A fetch answers with whole batches: the first may start before the offset asked for.
    if (offset < fetchOffset) continue;
    if (batch.inTransaction && abortedProducers.has(batch.producerId)) continue;
    out.push({ offset, key: record.key, value: record.value });
  }
  return { records: out, next };
}

/**
 * A kafkajs cluster with read_committed isolation and no group: a consumer's, taken from the
 * factory kafkajs hands every partition assigner (public, typed API). The consumer is only
 * connected, never run, so its group id never reaches the broker.
 */
export function standaloneCluster(kafka: Kafka): { consumer: Consumer; cluster: Cluster } {
  let cluster: Cluster | undefined;
  const unused = (): never => {
    throw new CaplineError("INTERNAL", "the checkpoint reader's consumer must not join a group");
  };
  const consumer = kafka.consumer({
    groupId: "capline-checkpoint-reader-never-joins",
    readUncommitted: false,
    partitionAssigners: [
      (context) => {
        cluster = context.cluster;
        return { name: "none", version: 0, assign: unused, protocol: unused } satisfies Assigner;
      },
    ],
  });
  if (cluster === undefined) throw new CaplineError("INTERNAL", "kafkajs did not hand over its cluster");
  return { consumer, cluster };
}

interface FetchAnswer {
  responses: Array<{
    partitions: Array<{
      partition: number;
      abortedTransactions?: AbortedTransaction[];
      messages: FetchedRecord[];
    }>;
  }>;
}

/**
 * Calls `onRecord` for every committed record of `topic`/`partition` from the earliest offset up to
 * the last stable offset read first (records committed later are not waited for), in offset order.
 * Errors are kafkajs's (`retriable`) or capline's (`retryable`); the caller retries the whole read.
 */
export async function readCommitted(
  cluster: Cluster,
  topic: string,
  partition: number,
  onRecord: (record: CommittedRecord) => void,
): Promise<void> {
  await cluster.addTargetTopic(topic);
  await cluster.refreshMetadata();
  const offsetOf = async (fromBeginning: boolean) => {
    const [answer] = await cluster.fetchTopicsOffset([{ topic, partitions: [{ partition }], fromBeginning }]);
    const found = answer?.partitions.find((p) => p.partition === partition);
    if (found === undefined)
      throw new CaplineError("SERVICE_ERROR", `no offsets for ${topic}/${partition}`, { retryable: true });
    return BigInt(found.offset);
  };
  // The cluster lists offsets read_committed: `end` is the last stable offset, below any open transaction.
  const end = await offsetOf(false);
  let offset = await offsetOf(true);
  if (offset >= end) return;
  const leaders = cluster.findLeaderForPartitions(topic, [partition]);
  const nodeId = Object.keys(leaders)[0];
  if (nodeId === undefined)
    throw new CaplineError("SERVICE_ERROR", `no leader for ${topic}/${partition}`, { retryable: true });
  const broker = await cluster.findBroker({ nodeId });
  while (offset < end) {
    const answer = (await broker.fetch({
      isolationLevel: 1, // READ_COMMITTED
      maxWaitTime: 0,
      minBytes: 1,
      maxBytes: 16 << 20,
      topics: [{ topic, partitions: [{ partition, fetchOffset: offset.toString(), maxBytes: 8 << 20 }] }],
    })) as FetchAnswer;
    const data = answer.responses[0]?.partitions.find((p) => p.partition === partition);
    const { records, next } = committedRecords(data?.messages ?? [], data?.abortedTransactions ?? [], offset);
    for (const record of records) if (record.offset < end) onRecord(record);
    if (next <= offset) {
      // Nothing came back below the end captured at the start: the range was removed under us
      // (records deleted). Stopping here could miss a record; the caller's retry reads again.
      throw new CaplineError(
        "SERVICE_ERROR",
        `${topic}/${partition} answered nothing at offset ${offset} (end ${end})`,
        { retryable: true },
      );
    }
    offset = next;
  }
}
