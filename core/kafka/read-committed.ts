/**
 * read_committed filtering of one Fetch answer, as Kafka's Java consumer does it (Fetcher,
 * KIP-98). The broker answers a read_committed fetch with whole record batches up to the last
 * stable offset, committed and aborted alike, plus the list of aborted transactions overlapping
 * them; the client must drop the aborted ones. A producer's transactional batches count as
 * aborted from the first offset the broker lists for one of its aborted transactions until that
 * producer's abort marker; control batches (commit and abort markers) are never data.
 *
 * Why capline does this itself: @platformatic/kafka 2.12's own filter keeps an aborted
 * transaction's records when the answer ends before its abort marker (the fetch size limit cut
 * it), and honours only the last of several aborted transactions of one producer in an answer;
 * docs/decisions.md ("Kafka client") has the measurement. This runs after the client's filter,
 * which only ever removes aborted batches, so the two together keep exactly the committed data.
 */

/** The parts of a fetched record batch this needs (the client's RecordsBatch has them). */
export interface FetchedBatch {
  firstOffset: bigint;
  lastOffsetDelta: number;
  firstTimestamp: bigint;
  producerId: bigint;
  attributes: number;
  records: ReadonlyArray<{
    offsetDelta: number;
    timestampDelta: bigint;
    key: Buffer | null;
    value: Buffer | null;
  }>;
}

export interface AbortedTransaction {
  producerId: bigint;
  firstOffset: bigint;
}

/** A committed data record: its offset, key, value and timestamp (ms since the epoch). */
export interface CommittedRecord {
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
}

/** Batch attributes: bit 4 transactional, bit 5 control (Kafka's record batch v2). */
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;

/** A control record's key: version (int16), then type (int16): 0 = abort, 1 = commit. */
function isAbortMarker(batch: FetchedBatch): boolean {
  const key = batch.records[0]?.key;
  return key !== null && key !== undefined && key.length >= 4 && key.readInt16BE(2) === 0;
}

/**
 * The committed data records of one partition's fetched batches, in offset order, and the offset
 * to fetch next: past the last batch, control and aborted batches included (so a consumer moves
 * past trailing transaction markers). Records before `fetchOffset` are left out: a fetch answers
 * with whole batches, and the first may begin before the offset asked for.
 */
export function committedRecords(
  batches: readonly FetchedBatch[],
  aborted: readonly AbortedTransaction[] | null | undefined,
  fetchOffset: bigint,
): { records: CommittedRecord[]; next: bigint } {
  const pending = [...(aborted ?? [])].sort((a, b) =>
    a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
  );
  const abortedProducers = new Set<bigint>();
  const records: CommittedRecord[] = [];
  let next = fetchOffset;
  for (const batch of batches) {
    const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    if (last + 1n > next) next = last + 1n;
    while (pending.length > 0 && (pending[0] as AbortedTransaction).firstOffset <= last)
      abortedProducers.add((pending.shift() as AbortedTransaction).producerId);
    if ((batch.attributes & CONTROL) !== 0) {
      if (isAbortMarker(batch)) abortedProducers.delete(batch.producerId);
      continue;
    }
    if ((batch.attributes & TRANSACTIONAL) !== 0 && abortedProducers.has(batch.producerId)) continue;
    const base = Number(batch.firstOffset);
    const time = Number(batch.firstTimestamp);
    const from = Number(fetchOffset);
    for (const record of batch.records) {
      const offset = base + record.offsetDelta;
      if (offset < from) continue;
      records.push({
        offset,
        key: record.key,
        value: record.value,
        timestamp: time + Number(record.timestampDelta),
      });
    }
  }
  return { records, next };
}
