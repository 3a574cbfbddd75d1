import type * as Minio from "minio";
import type { WebHdfsClient } from "../core/clients/webhdfs.ts";
import { type LakeFile, lakeFiles, type RangeEvent } from "./lake.ts";
import { encodeParquet } from "./parquet.ts";
import { withRetries } from "./retry.ts";

/**
 * The archive sink: a range's events as Parquet in every enabled lake store. Each file is encoded
 * once and the same bytes go to each store, under names that depend only on the range, so
 * re-archiving a range (a retry, a replay) overwrites files with identical ones.
 */

export interface LakeStore {
  readonly name: "minio" | "hdfs";
  /** Writes the object/file whole: a reader sees the old version or the new one, never a part. */
  put(key: string, bytes: Buffer): Promise<void>;
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
  };
}

/** HDFS: temporary name, then rename into place (overwriting an earlier copy atomically). */
export function hdfsStore(client: WebHdfsClient, root: string): LakeStore {
  const base = root === "/" ? "" : root.replace(/\/+$/, "");
  return {
    name: "hdfs",
    put: (key, bytes) => client.writeAtomically(`${base}/${key}`, bytes, { overwrite: true }),
  };
}

const FILE_CONCURRENCY = 4;

export interface ArchiveResult {
  files: Array<{ key: string; rows: number; bytes: number }>;
  rows: number;
  bytes: number;
}

export async function archiveRange(
  stores: readonly LakeStore[],
  topic: string,
  partition: number,
  rows: readonly RangeEvent[],
): Promise<ArchiveResult> {
  const result: ArchiveResult = { files: [], rows: 0, bytes: 0 };
  const files = lakeFiles(topic, partition, rows);
  // A few files at once: each store write is mostly a network round trip (two for HDFS).
  let next = 0;
  const lane = async () => {
    for (let file = files[next++]; file; file = files[next++]) {
      const bytes = await encodeParquet(partition, file.events);
      await Promise.all(stores.map((store) => withRetries(() => store.put(file.key, bytes))));
      record(result, file, bytes.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(FILE_CONCURRENCY, files.length) }, lane));
  return result;
}

function record(result: ArchiveResult, file: LakeFile, bytes: number): void {
  result.files.push({ key: file.key, rows: file.events.length, bytes });
  result.rows += file.events.length;
  result.bytes += bytes;
}
