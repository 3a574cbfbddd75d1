import { Consumer, FetchIsolationLevels, ListOffsetTimestamps } from "@platformatic/kafka";
import { CaplineError } from "../errors.ts";
import { baseOptions } from "./client.ts";
import { kafkaCall } from "./errors.ts";
import { fetchCommitted } from "./fetcher.ts";
import type { KafkaOptions } from "./options.ts";
import type { CommittedRecord } from "./read-committed.ts";

/**
 * Reads one partition from its start up to the last stable offset it had when the read began,
 * read_committed, without joining a consumer group: joining one (then deleting it, or leaving it
 * to expire) costs round trips and leaves state on the broker when the process dies in between.
 * The client's Consumer is used only for its Fetch and ListOffsets; its group id never reaches a
 * broker.
 *
 * The ingester reads its checkpoints this way from the compacted `<topic>.checkpoints`
 * (docs/ingestion.md, "Exactly once").
 */

export interface ReadOptions {
  /** Largest answer per fetch. @defaultValue 8 MiB */
  maxBytes?: number;
}

export async function readCommittedPartition(
  options: KafkaOptions,
  topic: string,
  partition: number,
  onRecord: (record: CommittedRecord) => void,
  { maxBytes = 8 << 20 }: ReadOptions = {},
): Promise<void> {
  const consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({
    ...baseOptions(options, "-reader"),
    groupId: `${options.clientId}-partition-reader-never-joins`,
    autocommit: false,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  const what = `read ${topic}/${partition} (read_committed)`;
  try {
    await kafkaCall(options.brokers, what, async () => {
      const offsetOf = async (timestamp: bigint) => {
        const listed = await consumer.listOffsets({
          topics: [topic],
          partitions: { [topic]: [partition] },
          timestamp,
          isolationLevel: FetchIsolationLevels.READ_COMMITTED,
        });
        const offset = listed.get(topic)?.[partition];
        if (offset === undefined)
          throw new CaplineError("SERVICE_ERROR", `no offsets for ${topic}/${partition}`, {
            retryable: true,
          });
        return offset;
      };
      // read_committed, the latest offset is the last stable offset: below any open transaction.
      const end = await offsetOf(ListOffsetTimestamps.LATEST);
      let offset = await offsetOf(ListOffsetTimestamps.EARLIEST);
      if (offset >= end) return;
      const metadata = await consumer.metadata({ topics: [topic] });
      const meta = metadata.topics.get(topic);
      const node = meta?.partitions[partition]?.leader;
      if (meta === undefined || node === undefined || node < 0)
        throw new CaplineError("SERVICE_ERROR", `no leader for ${topic}/${partition}`, { retryable: true });
      while (offset < end) {
        const [answer] = await fetchCommitted(consumer, {
          node,
          topic,
          topicId: meta.id,
          partitions: [{ partition, offset }],
          maxWaitMs: 0,
          maxBytesPerPartition: maxBytes,
        });
        const next = answer?.next ?? offset;
        for (const record of answer?.records ?? []) if (BigInt(record.offset) < end) onRecord(record);
        if (next <= offset) {
          // Nothing came back below the end captured at the start: the range was removed under
          // us (records deleted). Stopping here could miss a record; the caller reads again.
          throw new CaplineError(
            "SERVICE_ERROR",
            `${topic}/${partition} answered nothing at offset ${offset} (end ${end})`,
            {
              retryable: true,
            },
          );
        }
        offset = next;
      }
    });
  } finally {
    await consumer.close(true).catch(() => undefined);
  }
}
