import {
  type CommittedRecord,
  type KafkaAdmin,
  type KafkaOptions,
  readCommittedPartition,
  TransactionalProducer,
} from "../../core/kafka/index.ts";
import { forgetDlqTransactionalId } from "../../core/names.ts";
import { customersNamed, keptBelow, planDlqRewrite } from "./dlq.ts";

/**
 * The DLQ topic without the forgotten customers' records (docs/forget.md, "The DLQ"). Kafka cannot
 * delete one record in the middle of a partition, only everything below an offset
 * (DeleteRecords). So, per partition that holds a record naming one of them:
 *
 *   1. the plan is recorded (in the run record): delete below the last such record + 1; the
 *      partition's last stable offset now, after which the copies will be;
 *   2. the records below that offset that stay are copied to the end of the partition, in order,
 *      with their own key, value and timestamp, in one transaction (all or none);
 *   3. the copies are recorded as done; the records below the offset are deleted.
 *
 * A kill anywhere leaves a rerun the means to finish: before (2) it starts from the plan; in (2)
 * it fences the killed run's transactional id (its open transaction is aborted, a transaction it
 * was committing is completed), then looks for the copies after the recorded offset (the same
 * records with the same timestamps, in order) and sends them only if they are not there; (3) is
 * idempotent. Records after the last dropped one, and whatever the pipeline appends meanwhile,
 * are never touched. Runs under the lake lock, so two forget runs never rewrite a partition at once.
 */

export interface DlqPartitionState {
  /** Every record below this offset is deleted at the end. */
  deleteBefore: number;
  /** The partition's last stable offset before the copies were sent: they are at or after it. */
  copiesFrom: number;
  /** Records that name a forgotten customer (dropped). */
  dropped: number;
  /** The copies are committed. */
  copied: boolean;
  /** The records below deleteBefore are deleted. */
  done: boolean;
}

/** Per partition (as a string key, since it is stored as JSON). */
export type DlqState = Record<string, DlqPartitionState>;

export interface DlqTarget {
  kafka: KafkaOptions;
  admin: KafkaAdmin;
  /** The DLQ topic. */
  topic: string;
  runId: string;
}

export interface DlqErased {
  /** Partitions rewritten. */
  partitions: number;
  /** Records that named a forgotten customer, gone. */
  records: number;
}

async function readPartition(target: DlqTarget, partition: number): Promise<CommittedRecord[]> {
  const records: CommittedRecord[] = [];
  await readCommittedPartition(target.kafka, target.topic, partition, (r) => records.push(r));
  return records;
}

const same = (a: Buffer | null, b: Buffer | null) => (a === null ? b === null : b !== null && a.equals(b));

/** Whether `wanted` appears in `records` in order (key, value and timestamp equal). */
export function holdsInOrder(
  records: readonly CommittedRecord[],
  wanted: readonly CommittedRecord[],
): boolean {
  let i = 0;
  for (const r of records) {
    const w = wanted[i];
    if (w === undefined) break;
    if (r.timestamp === w.timestamp && same(r.key, w.key) && same(r.value, w.value)) i++;
  }
  return i === wanted.length;
}

async function partitionsOf(target: DlqTarget): Promise<number[]> {
  const described = await target.admin.describeTopic(target.topic);
  return (described?.partitions ?? []).map((p) => p.partition);
}

/** How many DLQ records name a forgotten customer (a dry run: nothing is changed). */
export async function countInDlq(target: DlqTarget, isForgotten: (user: string) => boolean): Promise<number> {
  let n = 0;
  for (const partition of await partitionsOf(target))
    for (const r of await readPartition(target, partition))
      if (customersNamed(r.value).some(isForgotten)) n++;
  return n;
}

/**
 * Rewrites every DLQ partition that holds a record naming a forgotten customer, recording each
 * step in `state` and calling `save` after each (the caller writes it to the run record).
 */
export async function eraseFromDlq(
  target: DlqTarget,
  isForgotten: (user: string) => boolean,
  state: DlqState,
  save: () => Promise<void>,
  onStep?: (step: "planned" | "copied" | "deleted", partition: number, facts: object) => void,
): Promise<DlqErased> {
  for (const partition of await partitionsOf(target)) {
    let s = state[partition];
    if (s?.done) continue;
    const producer = new TransactionalProducer(target.kafka, {
      transactionalId: forgetDlqTransactionalId(target.topic, target.runId, partition),
    });
    try {
      if (s && !s.copied) {
        // A rerun: the killed run's transaction is finished one way or the other before reading.
        await producer.fence();
      }
      if (!s?.copied) {
        const records = await readPartition(target, partition);
        if (!s) {
          const plan = planDlqRewrite(records, isForgotten);
          if (!plan) continue;
          const offsets = await target.admin.offsets(target.topic, { readCommitted: true });
          const end = offsets.find((o) => o.partition === partition)?.high ?? 0;
          s = {
            deleteBefore: plan.deleteBefore,
            copiesFrom: end,
            dropped: plan.dropped.length,
            copied: false,
            done: false,
          };
          state[partition] = s;
          await save();
          onStep?.("planned", partition, { dropped: s.dropped });
          await producer.fence();
        }
        const keep = keptBelow(records, s.deleteBefore, (r) => customersNamed(r.value).some(isForgotten));
        const copiesFrom = s.copiesFrom;
        const after = records.filter((r) => r.offset >= copiesFrom);
        if (keep.length > 0 && !holdsInOrder(after, keep))
          await producer.transact(
            keep.map((r) => ({
              topic: target.topic,
              partition,
              key: r.key,
              value: r.value,
              timestamp: r.timestamp,
            })),
          );
        s.copied = true;
        await save();
        onStep?.("copied", partition, { copies: keep.length });
      }
      await target.admin.deleteRecordsBefore(target.topic, partition, s.deleteBefore);
      s.done = true;
      await save();
      onStep?.("deleted", partition, { before: s.deleteBefore });
    } finally {
      await producer.close();
    }
  }
  const rewritten = Object.values(state);
  return { partitions: rewritten.length, records: rewritten.reduce((n, s) => n + s.dropped, 0) };
}
