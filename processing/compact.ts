import type * as Minio from "minio";
import { createMinio } from "../core/clients/minio.ts";
import { createWebHdfs, isWebHdfsNotFound, type WebHdfsClient } from "../core/clients/webhdfs.ts";
import type { Config } from "../core/config/index.ts";
import { CaplineError } from "../core/errors.ts";
import { KafkaAdmin, kafkaOptions } from "../core/kafka/index.ts";
import {
  dispatcherGroupOf,
  hdfsPath,
  LAKE_EVENTS_DIR,
  lakeDayDir,
  lakeKey,
  parseLakeDayDir,
  parseLakeKey,
} from "../core/names.ts";
import { decodeParquet, encodeParquet } from "./parquet.ts";
import { retry } from "./retry.ts";

/**
 * `capline compact`: merges a day's small lake files into large ones, per Kafka partition.
 *
 * The protocol (docs/processing.md, "Compaction"), per store, day and partition:
 *   1. leftovers of a killed run — a file whose offset interval lies inside another file's — are
 *      deleted (the covering file was published whole, so it holds every one of their rows);
 *   2. consecutive files whose rows are all committed by the dispatcher group (last offset below
 *      the group's committed offset: every range up to there was archived in every store, so no
 *      offset between them is still to come) are read, merged in offset order and written as ONE
 *      file named `<topic>+<p>+<first>-<last>` spanning them — atomically (S3 PUT; HDFS temporary
 *      name + rename);
 *   3. only then are the inputs deleted.
 * At every instant every row is in at least one visible file, and a file that holds a row twice
 * is always covered by another one; a rerun finishes what a killed run left.
 */

export interface LakeObject {
  key: string;
  size: number;
}

/** A lake store as compaction sees it: list, read, write whole, delete. */
export interface CompactStore {
  readonly name: "minio" | "hdfs";
  days(): Promise<string[]>;
  list(dt: string): Promise<LakeObject[]>;
  get(key: string): Promise<Buffer>;
  /** Atomic: readers see the whole file or nothing. */
  put(key: string, bytes: Buffer): Promise<void>;
  remove(keys: readonly string[]): Promise<void>;
}

export interface MergePlan {
  partition: number;
  output: string;
  inputs: string[];
}

export interface CompactionPlan {
  /** Files covered by another file of the same partition and day: leftovers, deleted first. */
  leftovers: string[];
  merges: MergePlan[];
}

/**
 * What to do with one day's files of `topic`. `committed` maps a partition to the dispatcher
 * group's committed offset (the next offset to read); a file is merged only when its last offset
 * is below it. Groups of consecutive files are cut at `targetBytes` (input sizes).
 */
export function planCompaction(
  files: readonly LakeObject[],
  topic: string,
  committed: ReadonlyMap<number, number>,
  targetBytes: number,
): CompactionPlan {
  const byPartition = new Map<number, Array<LakeObject & { first: number; last: number; dt: string }>>();
  for (const f of files) {
    const parsed = parseLakeKey(f.key);
    if (!parsed || parsed.topic !== topic) continue;
    const list = byPartition.get(parsed.partition) ?? [];
    list.push({ ...f, first: parsed.first, last: parsed.last, dt: parsed.dt });
    byPartition.set(parsed.partition, list);
  }
  const plan: CompactionPlan = { leftovers: [], merges: [] };
  for (const [partition, list] of [...byPartition].sort(([a], [b]) => a - b)) {
    const covered = (f: { key: string; first: number; last: number }) =>
      list.some((o) => o.key !== f.key && o.first <= f.first && f.last <= o.last);
    const maximal: typeof list = [];
    for (const f of list) {
      if (covered(f)) plan.leftovers.push(f.key);
      else maximal.push(f);
    }
    maximal.sort((a, b) => a.first - b.first);
    const limit = committed.get(partition) ?? -1;
    let group: typeof list = [];
    let bytes = 0;
    const flush = () => {
      const first = group[0];
      const last = group[group.length - 1];
      if (group.length > 1 && first && last)
        plan.merges.push({
          partition,
          output: lakeKey(first.dt, topic, partition, first.first, last.last),
          inputs: group.map((g) => g.key),
        });
      group = [];
      bytes = 0;
    };
    for (const f of maximal) {
      // Overlapping maximal files cannot come from capline's writers; leave them to a human.
      const previous = group[group.length - 1];
      if (f.last >= limit || (previous && f.first <= previous.last)) {
        flush();
        continue;
      }
      if (group.length > 0 && bytes + f.size > targetBytes) flush();
      group.push(f);
      bytes += f.size;
    }
    flush();
  }
  return plan;
}

export async function mergeLakeFiles(partition: number, inputs: readonly Buffer[]): Promise<Buffer> {
  const rows = (await Promise.all(inputs.map(decodeParquet))).flat();
  rows.sort((a, b) => a.offset - b.offset);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as (typeof rows)[number];
    if (row.partition !== partition)
      throw new CaplineError("INTERNAL", `a file of partition ${partition} holds a row of another`);
    if (i > 0 && rows[i - 1]?.offset === row.offset)
      throw new CaplineError(
        "INTERNAL",
        `offset ${row.offset} of partition ${partition} is in two of the files to merge`,
      );
  }
  // The same encoder as the archive sink: a merged file is like any other lake file.
  return encodeParquet(partition, rows);
}

export interface CompactedDay {
  store: "minio" | "hdfs";
  dt: string;
  /** Files before and after. */
  filesBefore: number;
  filesAfter: number;
  merged: Array<{ output: string; inputs: number; bytes: number }>;
  leftoversRemoved: number;
}

export interface CompactOptions {
  date?: string;
  /** Largest sum of input sizes merged into one file. */
  targetBytes?: number;
  onMerged?: (store: string, merge: MergePlan) => void;
}

export const DEFAULT_TARGET_BYTES = 128 * 1024 * 1024;

/** Compacts one day (or every day) of every store given. */
export async function compactStores(
  stores: readonly CompactStore[],
  topic: string,
  committed: ReadonlyMap<number, number>,
  options: CompactOptions = {},
): Promise<CompactedDay[]> {
  const out: CompactedDay[] = [];
  for (const store of stores) {
    const days = options.date ? [options.date] : await retry(() => store.days());
    for (const dt of days) {
      const files = await retry(() => store.list(dt));
      const plan = planCompaction(files, topic, committed, options.targetBytes ?? DEFAULT_TARGET_BYTES);
      const day: CompactedDay = {
        store: store.name,
        dt,
        filesBefore: files.length,
        filesAfter: files.length,
        merged: [],
        leftoversRemoved: plan.leftovers.length,
      };
      if (plan.leftovers.length > 0) await retry(() => store.remove(plan.leftovers));
      for (const merge of plan.merges) {
        const inputs = await Promise.all(merge.inputs.map((k) => retry(() => store.get(k))));
        const bytes = await mergeLakeFiles(merge.partition, inputs);
        // Publish first, delete after: a crash in between leaves rows twice (covered inputs, which
        // the next run deletes), never a row missing.
        await retry(() => store.put(merge.output, bytes));
        options.onMerged?.(store.name, merge);
        await retry(() => store.remove(merge.inputs));
        day.merged.push({ output: merge.output, inputs: merge.inputs.length, bytes: bytes.length });
      }
      day.filesAfter =
        files.length - plan.leftovers.length - plan.merges.reduce((n, m) => n + m.inputs.length - 1, 0);
      out.push(day);
    }
  }
  return out;
}

async function listNames(client: Minio.Client, bucket: string, prefix: string, recursive: boolean) {
  const out: Array<{ name: string; size: number; prefix?: string }> = [];
  await new Promise<void>((resolve, reject) => {
    const stream = client.listObjectsV2(bucket, prefix, recursive);
    stream.on("data", (o) => {
      if (o.name) out.push({ name: o.name, size: o.size });
      else if (o.prefix) out.push({ name: "", size: 0, prefix: o.prefix });
    });
    stream.on("error", reject);
    stream.on("end", () => resolve());
  });
  return out;
}

export function minioCompactStore(client: Minio.Client, bucket: string): CompactStore {
  return {
    name: "minio",
    days: async () =>
      (await listNames(client, bucket, `${LAKE_EVENTS_DIR}/`, false))
        .map((o) => parseLakeDayDir(o.prefix ?? ""))
        .filter((d): d is string => d !== undefined)
        .sort(),
    list: async (dt) =>
      (await listNames(client, bucket, `${lakeDayDir(dt)}/`, false))
        .filter((o) => o.name.endsWith(".parquet"))
        .map((o) => ({ key: o.name, size: o.size })),
    get: async (key) => {
      const stream = await client.getObject(bucket, key);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    put: async (key, bytes) => {
      await client.putObject(bucket, key, bytes, bytes.length, {
        "Content-Type": "application/vnd.apache.parquet",
      });
    },
    remove: (keys) => client.removeObjects(bucket, [...keys]).then(() => undefined),
  };
}

export function hdfsCompactStore(client: WebHdfsClient, root: string): CompactStore {
  const ls = (dir: string) =>
    client.listStatus(hdfsPath(root, dir)).catch((error: unknown) => {
      if (isWebHdfsNotFound(error)) return [];
      throw error;
    });
  return {
    name: "hdfs",
    days: async () =>
      (await ls(LAKE_EVENTS_DIR))
        .filter((e) => e.type === "DIRECTORY")
        .map((e) => parseLakeDayDir(e.pathSuffix))
        .filter((d): d is string => d !== undefined)
        .sort(),
    list: async (dt) =>
      (await ls(lakeDayDir(dt)))
        // Hidden names are temporary files of unfinished writes: never inputs.
        .filter(
          (e) => e.type === "FILE" && !e.pathSuffix.startsWith(".") && e.pathSuffix.endsWith(".parquet"),
        )
        .map((e) => ({ key: `${lakeDayDir(dt)}/${e.pathSuffix}`, size: e.length })),
    get: (key) => client.open(hdfsPath(root, key)),
    put: (key, bytes) => client.writeAtomically(hdfsPath(root, key), bytes, { overwrite: true }),
    remove: async (keys) => {
      for (const key of keys) await client.delete(hdfsPath(root, key));
    },
  };
}

/** The dispatcher group's committed offset per partition of the events topic. */
export async function committedOffsets(config: Config): Promise<Map<number, number>> {
  const admin = new KafkaAdmin(kafkaOptions(config));
  try {
    return await admin.committedOffsets(dispatcherGroupOf(config.kafka.clientId), config.kafka.topic);
  } finally {
    await admin.close();
  }
}

export function compactStoresOf(config: Config): CompactStore[] {
  const stores: CompactStore[] = [];
  if (config.archive.minio) stores.push(minioCompactStore(createMinio(config), config.minio.bucket));
  if (config.archive.hdfs) stores.push(hdfsCompactStore(createWebHdfs(config), config.hdfs.root));
  return stores;
}
