import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { isWebHdfsNotFound } from "../core/clients/webhdfs.ts";
import type { Config } from "../core/config/index.ts";
import { CaplineError, describeError, ServiceUnavailableError } from "../core/errors.ts";
import { parseLakeKey } from "../core/names.ts";
import { type CompactStore, compactStoresOf } from "./compact.ts";

/**
 * Reading the lake back, for what only the full event history can answer (RFM as of a past date,
 * the purchase sets of profiles written before index contract v2). The lake holds every accepted
 * event once (DESIGN.md, "Lake layout"): the dispatcher leaves duplicates out, and the covering
 * rule (docs/processing.md, "Compaction") removes the one way a row can be in two files — a
 * compaction between publishing its merged file and deleting the inputs — so the rows read here
 * are each event exactly once, also while a compaction runs.
 *
 * One store is read: MinIO when it is archived to, else HDFS (both hold the same files).
 */

/** A lake column as capline writes it (processing/parquet.ts). */
export type LakeColumn =
  | "event_id"
  | "event_time"
  | "event_type"
  | "product_id"
  | "category_id"
  | "category_code"
  | "brand"
  | "price"
  | "user_id"
  | "user_session"
  | "kafka_partition"
  | "kafka_offset";

/** One row with the columns asked for; `event_time` as epoch ms. */
export type LakeRow = Partial<Record<LakeColumn, string | number | null>>;

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
]);

export class LakeReader {
  constructor(
    readonly store: CompactStore,
    readonly topic: string,
    /** Where the store answers, for the message when it does not. */
    readonly url: string,
  ) {}

  /** The UTC event dates that have a folder, ascending. */
  days(): Promise<string[]> {
    return this.reach(() => this.store.days());
  }

  /** A store that cannot be reached is named with its URL (exit 4), never a raw socket error. */
  private async reach<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      let e: unknown = error;
      for (let depth = 0; e instanceof Error && depth < 5; depth++) {
        const code = (e as NodeJS.ErrnoException).code;
        if (typeof code === "string" && NETWORK_CODES.has(code))
          throw new ServiceUnavailableError(
            this.store.name === "minio" ? "MinIO" : "HDFS",
            this.url,
            describeError(error),
            { cause: error },
          );
        e = e.cause;
      }
      throw error;
    }
  }

  /**
   * The files of one day that hold its rows exactly once: capline's files of this topic, without
   * those whose offset interval lies inside another file's of the same partition.
   */
  async files(dt: string): Promise<string[]> {
    const parsed = (await this.reach(() => this.store.list(dt))).flatMap((o) => {
      const p = parseLakeKey(o.key);
      return p && p.topic === this.topic ? [{ key: o.key, ...p }] : [];
    });
    return parsed
      .filter(
        (f) =>
          !parsed.some(
            (o) => o.key !== f.key && o.partition === f.partition && o.first <= f.first && f.last <= o.last,
          ),
      )
      .map((f) => f.key)
      .sort();
  }

  /**
   * The rows of one day, one row group at a time (a compacted file is read whole but decoded in
   * row groups, so memory stays a file's bytes plus one group's rows).
   */
  async *rows(dt: string, columns: readonly LakeColumn[]): AsyncGenerator<LakeRow[]> {
    for (const key of await this.files(dt)) {
      const bytes = await this.get(key);
      const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const metadata = parquetMetadata(file);
      let start = 0;
      for (const group of metadata.row_groups) {
        const end = start + Number(group.num_rows);
        const rows = (await parquetReadObjects({
          file,
          metadata,
          columns: [...columns],
          rowStart: start,
          rowEnd: end,
          utf8: true,
        })) as Array<Record<string, unknown>>;
        yield rows.map((r) => normalise(r, columns));
        start = end;
      }
    }
  }

  private async get(key: string): Promise<Buffer> {
    try {
      return await this.reach(() => this.store.get(key));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === "NoSuchKey" || code === "NotFound" || isWebHdfsNotFound(error))
        throw new CaplineError(
          "SERVICE_ERROR",
          `lake file ${key} (${this.store.name}) disappeared while it was read — a compaction replaced it; run again`,
          { cause: error, retryable: true, details: { key, store: this.store.name } },
        );
      throw error;
    }
  }
}

function normalise(r: Record<string, unknown>, columns: readonly LakeColumn[]): LakeRow {
  const out: LakeRow = {};
  for (const c of columns) {
    const v = r[c];
    if (c === "event_time")
      out[c] =
        v instanceof Date ? v.getTime() : typeof v === "bigint" || typeof v === "number" ? Number(v) : null;
    else if (typeof v === "bigint") out[c] = Number(v);
    else out[c] = v === undefined || v === null ? null : (v as string | number);
  }
  return out;
}

/** The reader of the store the pipeline archives to (MinIO first); a clear error when neither is. */
export function lakeReaderOf(config: Config): LakeReader {
  const store = compactStoresOf(config)[0];
  const url = store?.name === "minio" ? config.minio.endpoint : config.hdfs.webhdfsUrl;
  if (!store)
    throw new CaplineError(
      "CONFIG_INVALID",
      "the lake is switched off (ARCHIVE_MINIO=false and ARCHIVE_HDFS=false): there is no event history to read",
    );
  return new LakeReader(store, config.kafka.topic, url);
}
