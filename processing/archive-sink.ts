import type * as Minio from "minio";
import { isWebHdfsNotFound, type WebHdfsClient } from "../core/clients/webhdfs.ts";
import { describeError } from "../core/errors.ts";
import { hdfsPath, lakeDayDir, lakeKey, lakePartitionPrefix, parseLakeKey } from "../core/names.ts";
import { type PoisonRecord, poisonOf } from "./dlq.ts";
import { type LakeFile, lakeFiles, type RangeEvent, uncoveredRuns } from "./lake.ts";
import { encodeParquet } from "./parquet.ts";
import { isRetryable, retry } from "./retry.ts";

/**
 * The archive sink: a range's events as Parquet in every enabled lake store. Each file is encoded
 * once and the same bytes go to each store. Names depend only on the rows, and before writing the
 * sink lists the files the day already has for the partition: rows some file already holds are
 * not written again (`uncoveredRuns`). So a retry writes nothing, and a replay that cut the
 * partition differently (after an offset reset) adds only what is missing.
 */

export interface LakeStore {
  readonly name: "minio" | "hdfs";
  /** Writes the object/file whole: a reader sees the old version or the new one, never a part. */
  put(key: string, bytes: Buffer): Promise<void>;
  /** Offset intervals of the files of one day and partition already in the store. */
  existing(dt: string, topic: string, partition: number): Promise<Array<[number, number]>>;
}

function intervals(
  names: Iterable<string>,
  dt: string,
  topic: string,
  partition: number,
): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const name of names) {
    const parsed = parseLakeKey(name);
    if (parsed && parsed.dt === dt && parsed.topic === topic && parsed.partition === partition)
      out.push([parsed.first, parsed.last]);
  }
  return out;
}

/** S3 PUT of a whole object is atomic by itself. */
export function minioStore(client: Minio.Client, bucket: string): LakeStore {
  return {
    name: "minio",
    put: async (key, bytes) => {
      await client.putObject(bucket, key, bytes, bytes.length, {
        "Content-Type": "application/vnd.apache.parquet",
      });
    },
    existing: async (dt, topic, partition) => {
      const prefix = lakePartitionPrefix(dt, topic, partition);
      const names: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const stream = client.listObjectsV2(bucket, prefix, false);
        stream.on("data", (o) => {
          if (o.name) names.push(o.name);
        });
        stream.on("error", reject);
        stream.on("end", () => resolve());
      });
      return intervals(names, dt, topic, partition);
    },
  };
}

/** HDFS: temporary name, then rename into place (overwriting an earlier copy atomically). */
export function hdfsStore(client: WebHdfsClient, root: string): LakeStore {
  return {
    name: "hdfs",
    put: (key, bytes) => client.writeAtomically(hdfsPath(root, key), bytes, { overwrite: true }),
    existing: async (dt, topic, partition) => {
      const dir = lakeDayDir(dt);
      const entries = await client.listStatus(hdfsPath(root, dir)).catch((error: unknown) => {
        if (isWebHdfsNotFound(error)) return [];
        throw error;
      });
      // A writer killed between its temporary file and the rename leaves the hidden temporary
      // behind (readers skip hidden names). Old ones of this partition are swept here; deleting a
      // live writer's temporary would only make its rename fail and its job retry.
      const stale = Date.now() - TEMP_MAX_AGE_MS;
      const prefix = `.${topic}+${partition}+`;
      for (const e of entries)
        if (
          e.pathSuffix.startsWith(prefix) &&
          e.pathSuffix.includes(".parquet.tmp-") &&
          e.modificationTime < stale
        )
          await client.delete(hdfsPath(root, `${dir}/${e.pathSuffix}`)).catch(() => false);
      return intervals(
        entries.map((e) => `${dir}/${e.pathSuffix}`),
        dt,
        topic,
        partition,
      );
    },
  };
}

/** Age after which a leftover temporary file in HDFS is removed. */
export const TEMP_MAX_AGE_MS = 10 * 60_000;

/** Files of a range written at once; each write is mostly a network round trip (two for HDFS). */
const FILE_CONCURRENCY = 4;

export interface ArchiveResult {
  /** Files written (in any store). */
  files: Array<{ key: string; rows: number; bytes: number }>;
  /** Rows of the range. */
  rows: number;
  /** Bytes written (each file counted once, however many stores). */
  bytes: number;
  /** Rows the encoder cannot write (docs/processing.md, "Poison records"), for the DLQ. */
  poison: PoisonRecord[];
}

export interface ArchiveOptions {
  /** Stops the stores' retries (a worker shutting down). */
  signal?: AbortSignal;
}

/**
 * Short retries of one store call (a connection reset, a 503): the store's transport role
 * (processing/retry.ts). A store that stays away fails the job, and BullMQ runs it again later.
 */
const STORE_RETRY = { attempts: 4, baseMs: 200, maxMs: 2000 } as const;

export async function archiveRange(
  stores: readonly LakeStore[],
  topic: string,
  partition: number,
  rows: readonly RangeEvent[],
  options: ArchiveOptions = {},
): Promise<ArchiveResult> {
  const result: ArchiveResult = { files: [], rows: rows.length, bytes: 0, poison: [] };
  const days = lakeFiles(topic, partition, rows);
  let next = 0;
  const lane = async () => {
    for (let day = days[next++]; day; day = days[next++])
      await archiveDay(stores, topic, partition, day, result, options.signal);
  };
  await settleAll(Array.from({ length: Math.min(FILE_CONCURRENCY, days.length) }, lane));
  result.poison.sort((a, b) => a.offset - b.offset);
  return result;
}

/**
 * Like Promise.all, but waits for every branch before throwing the first error: a failed job must
 * not leave writes of its own running while BullMQ starts it again.
 */
async function settleAll(work: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(work);
  for (const r of results) if (r.status === "rejected") throw r.reason;
}

async function archiveDay(
  stores: readonly LakeStore[],
  topic: string,
  partition: number,
  day: LakeFile,
  result: ArchiveResult,
  signal: AbortSignal | undefined,
): Promise<void> {
  // Encoded once per distinct file, whatever the number of stores that need it.
  const encoded = new Map<string, Promise<Buffer | undefined>>();
  const encode = (key: string, run: RangeEvent[]) => {
    let bytes = encoded.get(key);
    if (!bytes) {
      bytes = encodeRun(partition, run).then(({ bytes: b, rows, poison }) => {
        for (const { row, detail } of poison)
          result.poison.push(...poisonOf({ topic, partition }, [row], "unencodable", "parquet", detail));
        if (b) {
          result.files.push({ key, rows, bytes: b.length });
          result.bytes += b.length;
        }
        return b;
      });
      encoded.set(key, bytes);
    }
    return bytes;
  };
  await settleAll(
    stores.map(async (store) => {
      const existing = await retry(() => store.existing(day.dt, topic, partition), {
        ...STORE_RETRY,
        ...(signal ? { signal } : {}),
      });
      for (const run of uncoveredRuns(day.events, existing)) {
        const key = lakeKey(day.dt, topic, partition, run[0]?.offset ?? 0, run[run.length - 1]?.offset ?? 0);
        const bytes = await encode(key, run);
        if (bytes)
          await retry(() => store.put(key, bytes), { ...STORE_RETRY, ...(signal ? { signal } : {}) });
      }
    }),
  );
}

/**
 * A run's Parquet bytes. One bad value must not keep the day out of the lake: when the encoder
 * refuses the run, the rows it refuses (each tried alone) are set apart with its message, for the
 * DLQ, and the others are written. `bytes` is undefined when no row is left.
 */
async function encodeRun(
  partition: number,
  run: RangeEvent[],
): Promise<{ bytes: Buffer | undefined; rows: number; poison: Array<{ row: RangeEvent; detail: string }> }> {
  try {
    return { bytes: await encodeParquet(partition, run), rows: run.length, poison: [] };
  } catch (error) {
    if (isRetryable(error)) throw error;
    const poison: Array<{ row: RangeEvent; detail: string }> = [];
    const good: RangeEvent[] = [];
    for (const row of run) {
      try {
        await encodeParquet(partition, [row]);
        good.push(row);
      } catch (rowError) {
        poison.push({ row, detail: `Parquet encoding failed: ${describeError(rowError)}` });
      }
    }
    // The run fails as a whole only: a bug of the encoder, not of a row.
    if (poison.length === 0) throw error;
    return {
      bytes: good.length > 0 ? await encodeParquet(partition, good) : undefined,
      rows: good.length,
      poison,
    };
  }
}
