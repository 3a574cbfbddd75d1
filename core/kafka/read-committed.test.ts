import { describe, expect, it } from "vitest";
import { committedRecords, type FetchedBatch } from "./read-committed.ts";

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);
const TXN = 0x10;
const CONTROL = 0x20;

/** A batch of `count` records from `first` (offsets first..first+count-1), or one marker. */
function batch(
  first: number,
  producerId: number,
  opts: { txn?: boolean; marker?: Buffer; count?: number; keep?: number[]; time?: number } = {},
): FetchedBatch {
  const count = opts.marker ? 1 : (opts.count ?? 1);
  const deltas = opts.keep ?? Array.from({ length: count }, (_, i) => i);
  return {
    firstOffset: BigInt(first),
    lastOffsetDelta: count - 1,
    firstTimestamp: BigInt(opts.time ?? 1_000),
    producerId: BigInt(producerId),
    attributes: (opts.txn || opts.marker ? TXN : 0) | (opts.marker ? CONTROL : 0),
    records: opts.marker
      ? [{ offsetDelta: 0, timestampDelta: 0n, key: opts.marker, value: Buffer.alloc(6) }]
      : deltas.map((d) => ({
          offsetDelta: d,
          timestampDelta: BigInt(d),
          key: Buffer.from(`k${first + d}`),
          value: Buffer.from(`v${first + d}`),
        })),
  };
}

const aborted = (producerId: number, firstOffset: number) => ({
  producerId: BigInt(producerId),
  firstOffset: BigInt(firstOffset),
});
const offsets = (result: ReturnType<typeof committedRecords>) => result.records.map((r) => r.offset);

describe("committedRecords (read_committed filtering of one Fetch answer)", () => {
  it("keeps plain and committed records, never control records, and says where to go on", () => {
    const result = committedRecords(
      [batch(0, -1), batch(1, 7, { txn: true }), batch(2, 7, { marker: COMMIT })],
      [],
      0n,
    );
    expect(offsets(result)).toEqual([0, 1]);
    expect(result.next).toBe(3n);
    expect(result.records[0]?.value?.toString()).toBe("v0");
    expect(result.records[1]?.key?.toString()).toBe("k1");
  });

  it("gives each record its timestamp: the batch's first plus the record's delta", () => {
    const result = committedRecords([batch(5, -1, { count: 3, time: 1_700_000_000_000 })], [], 5n);
    expect(result.records.map((r) => r.timestamp)).toEqual([
      1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002,
    ]);
  });

  it("drops a producer's records from its aborted transaction's first offset to its abort marker only", () => {
    const result = committedRecords(
      [
        batch(10, 7, { txn: true }), // committed earlier transaction of 7
        batch(11, 7, { marker: COMMIT }),
        batch(12, 7, { txn: true }), // aborted
        batch(13, 8, { txn: true }), // another producer, committed
        batch(14, 7, { txn: true }), // aborted
        batch(15, 7, { marker: ABORT }),
        batch(16, 8, { marker: COMMIT }),
        batch(17, 7, { txn: true }), // 7's next transaction, committed
        batch(18, 7, { marker: COMMIT }),
      ],
      [aborted(7, 12)],
      10n,
    );
    expect(offsets(result)).toEqual([10, 13, 17]);
    expect(result.next).toBe(19n);
  });

  it("drops an aborted transaction whose abort marker lies beyond this answer (the fetch size limit cut it)", () => {
    // The answer ends inside the aborted transaction: its marker comes in the next fetch. The
    // records seen so far are aborted all the same (platformatic/kafka 2.12 delivers them).
    const result = committedRecords(
      [
        batch(0, 3, { txn: true, count: 5 }),
        batch(5, 3, { marker: COMMIT }),
        batch(6, 3, { txn: true, count: 4 }),
      ],
      [aborted(3, 6)],
      0n,
    );
    expect(offsets(result)).toEqual([0, 1, 2, 3, 4]);
    expect(result.next).toBe(10n);
    // The next fetch, from 10: the rest of the aborted transaction, its marker, then committed data.
    const rest = committedRecords(
      [batch(10, 3, { txn: true, count: 2 }), batch(12, 3, { marker: ABORT }), batch(13, 3, { txn: true })],
      [aborted(3, 6)],
      10n,
    );
    expect(offsets(rest)).toEqual([13]);
    expect(rest.next).toBe(14n);
  });

  it("drops every aborted transaction of a producer, not only its last one", () => {
    const result = committedRecords(
      [
        batch(0, 5, { txn: true, count: 2 }), // aborted
        batch(2, 5, { marker: ABORT }),
        batch(3, 5, { txn: true }), // committed
        batch(4, 5, { marker: COMMIT }),
        batch(5, 5, { txn: true, count: 3 }), // aborted
        batch(8, 5, { marker: ABORT }),
        batch(9, 5, { txn: true }), // committed
        batch(10, 5, { marker: COMMIT }),
      ],
      // Listed out of order on purpose.
      [aborted(5, 5), aborted(5, 0)],
      0n,
    );
    expect(offsets(result)).toEqual([3, 9]);
    expect(result.next).toBe(11n);
  });

  it("ignores an abort marker whose transaction began before the fetch offset and is not listed", () => {
    // Fetching from 2, the broker lists no aborted transaction: the data before was aborted and is
    // not part of the answer; the marker alone must not hide later committed data.
    const result = committedRecords([batch(2, 4, { marker: ABORT }), batch(3, 4, { txn: true })], [], 2n);
    expect(offsets(result)).toEqual([3]);
    expect(result.next).toBe(4n);
  });

  it("never drops non-transactional records of a producer with an aborted transaction", () => {
    const result = committedRecords(
      [batch(0, 9, { txn: true }), batch(1, 9), batch(2, 9, { marker: ABORT })],
      [aborted(9, 0)],
      0n,
    );
    expect(offsets(result)).toEqual([1]);
  });

  it("skips the part of a batch before the offset asked for, and a batch's compacted tail", () => {
    // One batch 20..24 of which compaction kept 20 and 22.
    const result = committedRecords([batch(20, -1, { count: 5, keep: [0, 2] })], [], 21n);
    expect(offsets(result)).toEqual([22]);
    expect(result.next).toBe(25n);
  });

  it("moves past a batch of control records only (a transaction marker after the last data)", () => {
    const result = committedRecords([batch(41, 2, { marker: COMMIT })], [], 41n);
    expect(result.records).toEqual([]);
    expect(result.next).toBe(42n);
  });

  it("answers nothing and no progress for an empty fetch", () => {
    expect(committedRecords([], null, 42n)).toEqual({ records: [], next: 42n });
  });
});
