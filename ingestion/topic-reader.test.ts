import { describe, expect, it } from "vitest";
import { committedRecords, type FetchedRecord } from "./topic-reader.ts";

const ABORT = Buffer.from([0, 0, 0, 0]);
const COMMIT = Buffer.from([0, 0, 0, 1]);

/** A one-record batch at `offset` (batches of several records set `first` and `delta`). */
function record(
  offset: number,
  producerId: string,
  opts: { txn?: boolean; control?: Buffer; first?: number; delta?: number } = {},
): FetchedRecord {
  return {
    offset: String(offset),
    key: opts.control ?? Buffer.from(`k${offset}`),
    value: opts.control ? null : Buffer.from(`v${offset}`),
    isControlRecord: opts.control !== undefined,
    batchContext: {
      firstOffset: String(opts.first ?? offset),
      lastOffsetDelta: opts.delta ?? 0,
      producerId,
      inTransaction: opts.txn ?? false,
    },
  };
}

const offsets = (result: ReturnType<typeof committedRecords>) => result.records.map((r) => Number(r.offset));

describe("committedRecords (read_committed filtering of one Fetch answer)", () => {
  it("keeps plain and committed records, never control records, and says where to go on", () => {
    const result = committedRecords(
      [record(0, "-1"), record(1, "7", { txn: true }), record(2, "7", { txn: true, control: COMMIT })],
      [],
      0n,
    );
    expect(offsets(result)).toEqual([0, 1]);
    expect(result.next).toBe(3n);
    expect(result.records[0]?.value?.toString()).toBe("v0");
  });

  it("drops a producer's records from its aborted transaction's first offset to its abort marker only", () => {
    const result = committedRecords(
      [
        record(10, "7", { txn: true }), // committed earlier transaction of 7
        record(11, "7", { txn: true, control: COMMIT }),
        record(12, "7", { txn: true }), // aborted
        record(13, "8", { txn: true }), // another producer, committed
        record(14, "7", { txn: true }), // aborted
        record(15, "7", { txn: true, control: ABORT }),
        record(16, "8", { txn: true, control: COMMIT }),
        record(17, "7", { txn: true }), // 7's next transaction, committed
        record(18, "7", { txn: true, control: COMMIT }),
      ],
      [{ producerId: "7", firstOffset: "12" }],
      10n,
    );
    expect(offsets(result)).toEqual([10, 13, 17]);
    expect(result.next).toBe(19n);
  });

  it("handles aborted transactions listed out of order and several per producer", () => {
    const result = committedRecords(
      [
        record(0, "5", { txn: true }),
        record(1, "5", { txn: true, control: ABORT }),
        record(2, "5", { txn: true }),
        record(3, "5", { txn: true, control: COMMIT }),
        record(4, "5", { txn: true }),
        record(5, "5", { txn: true, control: ABORT }),
      ],
      [
        { producerId: "5", firstOffset: "4" },
        { producerId: "5", firstOffset: "0" },
      ],
      0n,
    );
    expect(offsets(result)).toEqual([2]);
  });

  it("skips the part of a batch before the offset asked for, and a batch's compacted tail", () => {
    // One batch 20..24 of which compaction kept 20 and 22.
    const result = committedRecords(
      [record(20, "-1", { first: 20, delta: 4 }), record(22, "-1", { first: 20, delta: 4 })],
      [],
      21n,
    );
    expect(offsets(result)).toEqual([22]);
    expect(result.next).toBe(25n);
  });

  it("answers nothing and no progress for an empty fetch", () => {
    expect(committedRecords([], [], 42n)).toEqual({ records: [], next: 42n });
  });
});
