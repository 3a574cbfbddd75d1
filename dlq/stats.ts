import { REJECT_REASONS, type RejectReason } from "../core/schema/reasons.ts";
import { type DlqEntry, failedIdentity, refusedIdentity } from "./records.ts";

/**
 * `capline dlq stats`: the DLQ counted by reason, file and day, one record at a time (the topic is
 * read once and never held in memory; only the identities of the rows seen are kept, so a row
 * refused twice by a `--force` re-ingest, or a record a retried job sent twice, counts once).
 */

export interface GroupCount {
  total: number;
  byReason: Record<string, number>;
}

export interface FileCount extends GroupCount {
  /** The file's name as ingested (for failed records: the event's `source.file`; null when unknown). */
  file: string | null;
  /** Refused rows of the file that `dlq replay` has sent (always 0 for failed records). */
  replayed: number;
}

export interface DayCount extends GroupCount {
  /** UTC day the records entered the DLQ, or `unknown`. */
  day: string;
}

export interface DlqStats {
  ok: true;
  dlqTopic: string;
  topic: string;
  /** Rows the ingester refused. */
  refused: {
    total: number;
    /** Sent into the events topic by `dlq replay` (exactly once each). */
    replayed: number;
    /** Refused and not replayed (yet). */
    pending: number;
    /** Every refusal reason, zeros included: equal to `ingest --json`'s `rejected_by_reason`. */
    byReason: Record<RejectReason, number>;
    byFile: FileCount[];
    byDay: DayCount[];
  };
  /** Records processing could not write (the dispatcher's checks, the sinks' refusals). */
  failed: {
    total: number;
    byReason: Record<string, number>;
    byStage: { dispatch: number; process: number };
    byFile: FileCount[];
    byDay: DayCount[];
  };
  /** Records of the topic that are neither (another producer's). */
  unrecognised: { total: number; byDay: DayCount[] };
  /** DLQ records that repeat a row or record already counted. */
  repeats: number;
  /** Records read from the topic. */
  records: number;
}

/** The map's values in the order of their keys (code points: the same order everywhere). */
const sorted = <T>(m: Map<string, T>): T[] =>
  [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

export class StatsCollector {
  private readonly seen = new Set<string>();
  private records = 0;
  private repeats = 0;
  private readonly refused = {
    total: 0,
    replayed: 0,
    byReason: Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>,
    files: new Map<string, FileCount>(),
    days: new Map<string, DayCount>(),
  };
  private readonly failed = {
    total: 0,
    byReason: {} as Record<string, number>,
    byStage: { dispatch: 0, process: 0 },
    files: new Map<string, FileCount>(),
    days: new Map<string, DayCount>(),
  };
  private readonly unrecognised = { total: 0, days: new Map<string, DayCount>() };

  /** `replayed(identity)`: whether `dlq replay` has sent that refused row. */
  constructor(private readonly replayed: (identity: string) => boolean = () => false) {}

  add(entry: DlqEntry): void {
    this.records++;
    if (entry.kind === "unrecognised") {
      this.unrecognised.total++;
      this.dayOf(this.unrecognised.days, entry.day).total++;
      return;
    }
    const id = entry.kind === "refused" ? refusedIdentity(entry) : failedIdentity(entry);
    const seenKey = `${entry.kind}|${id}`;
    if (this.seen.has(seenKey)) {
      this.repeats++;
      return;
    }
    this.seen.add(seenKey);
    const target = entry.kind === "refused" ? this.refused : this.failed;
    target.total++;
    bump(target.byReason, entry.reason);
    const file = this.fileOf(target.files, entry.file ?? null);
    file.total++;
    bump(file.byReason, entry.reason);
    const day = this.dayOf(target.days, entry.day);
    day.total++;
    bump(day.byReason, entry.reason);
    if (entry.kind === "refused") {
      if (this.replayed(id)) {
        this.refused.replayed++;
        file.replayed++;
      }
    } else this.failed.byStage[entry.stage]++;
  }

  private fileOf(map: Map<string, FileCount>, file: string | null): FileCount {
    const key = file ?? "";
    let f = map.get(key);
    if (!f) {
      f = { file, total: 0, replayed: 0, byReason: {} };
      map.set(key, f);
    }
    return f;
  }

  private dayOf(map: Map<string, DayCount>, day: string): DayCount {
    let d = map.get(day);
    if (!d) {
      d = { day, total: 0, byReason: {} };
      map.set(day, d);
    }
    return d;
  }

  result(topic: string, dlqTopic: string): DlqStats {
    return {
      ok: true,
      dlqTopic,
      topic,
      refused: {
        total: this.refused.total,
        replayed: this.refused.replayed,
        pending: this.refused.total - this.refused.replayed,
        byReason: this.refused.byReason,
        byFile: sorted(this.refused.files),
        byDay: sorted(this.refused.days),
      },
      failed: {
        total: this.failed.total,
        byReason: Object.fromEntries(
          sorted(new Map(Object.entries(this.failed.byReason).map(([r, n]) => [r, [r, n] as const]))),
        ),
        byStage: this.failed.byStage,
        byFile: sorted(this.failed.files),
        byDay: sorted(this.failed.days),
      },
      unrecognised: { total: this.unrecognised.total, byDay: sorted(this.unrecognised.days) },
      repeats: this.repeats,
      records: this.records,
    };
  }
}
