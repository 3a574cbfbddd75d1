import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import type { Client } from "@elastic/elasticsearch";
import type * as Minio from "minio";
import type { WebHdfsClient } from "../../core/clients/webhdfs.ts";
import { aliasName, concreteIndexName } from "../../core/names.ts";
import { INDEX_NAMES } from "../../core/schema/indices.ts";

/** Test helpers that read back what the sinks wrote, through the services' own APIs. */

/** Every document of an index (scroll), by _id. */
export async function allDocuments<D>(es: Client, index: string): Promise<Map<string, D>> {
  await es.indices.refresh({ index });
  const out = new Map<string, D>();
  let response = await es.search<D>({ index, scroll: "1m", size: 1000, query: { match_all: {} } });
  while (response.hits.hits.length > 0) {
    for (const hit of response.hits.hits) if (hit._id && hit._source) out.set(hit._id, hit._source);
    if (!response._scroll_id) break;
    response = await es.scroll<D>({ scroll_id: response._scroll_id, scroll: "1m" });
  }
  if (response._scroll_id) await es.clearScroll({ scroll_id: response._scroll_id }).catch(() => undefined);
  return out;
}

export interface LakeRow {
  event_id: string;
  event_time: string;
  kafka_partition: number;
  kafka_offset: number;
  price: number;
  dt: string;
  file: string;
}

/** Reads Parquet files (name → bytes) with DuckDB, every row with the file it came from. */
export async function readParquetFiles(files: Map<string, Buffer>): Promise<LakeRow[]> {
  if (files.size === 0) return [];
  const dir = mkdtempSync(join(tmpdir(), "capline-lake-read-"));
  try {
    const paths: string[] = [];
    const nameOf = new Map<string, string>();
    let n = 0;
    for (const [name, bytes] of files) {
      const path = join(dir, `f${n++}.parquet`);
      writeFileSync(path, bytes);
      paths.push(path);
      nameOf.set(path, name);
    }
    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    const list = paths.map((p) => `'${p}'`).join(",");
    const reader = await conn.runAndReadAll(
      `SELECT event_id, strftime(make_timestamp(epoch_ms(event_time) * 1000), '%Y-%m-%dT%H:%M:%S.%g') || 'Z' AS event_time,
              kafka_partition, kafka_offset::DOUBLE AS kafka_offset, price, filename
         FROM read_parquet([${list}], filename = true)`,
    );
    const rows = reader.getRowObjects().map((r) => {
      const file = nameOf.get(String(r.filename)) ?? "";
      return {
        event_id: String(r.event_id),
        event_time: String(r.event_time),
        kafka_partition: Number(r.kafka_partition),
        kafka_offset: Number(r.kafka_offset),
        price: Number(r.price),
        dt: /dt=(\d{4}-\d{2}-\d{2})/.exec(file)?.[1] ?? "",
        file,
      };
    });
    conn.closeSync();
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function minioFiles(
  client: Minio.Client,
  bucket: string,
  prefix = "events/",
): Promise<Map<string, Buffer>> {
  const names: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const stream = client.listObjectsV2(bucket, prefix, true);
    stream.on("data", (o) => {
      if (o.name) names.push(o.name);
    });
    stream.on("error", reject);
    stream.on("end", () => resolve());
  });
  const out = new Map<string, Buffer>();
  for (const name of names) {
    const stream = await client.getObject(bucket, name);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    out.set(name, Buffer.concat(chunks));
  }
  return out;
}

export async function removeBucket(client: Minio.Client, bucket: string): Promise<void> {
  const files = await minioFiles(client, bucket, "");
  if (files.size > 0) await client.removeObjects(bucket, [...files.keys()]);
  await client.removeBucket(bucket);
}

/**
 * Every file under `root/events` that readers see, relative key → bytes, and the hidden ones
 * (names starting with "." — temporary files of writes that never finished) apart.
 */
export async function hdfsFiles(client: WebHdfsClient, root: string): Promise<Map<string, Buffer>> {
  return (await hdfsTree(client, root)).visible;
}

export async function hdfsTree(
  client: WebHdfsClient,
  root: string,
): Promise<{ visible: Map<string, Buffer>; hidden: string[] }> {
  const visible = new Map<string, Buffer>();
  const hidden: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    const entries = await client.listStatus(dir).catch((error: unknown) => {
      if ((error as { notFound?: boolean }).notFound) return [];
      throw error;
    });
    for (const e of entries) {
      const path = `${dir}/${e.pathSuffix}`;
      const key = rel ? `${rel}/${e.pathSuffix}` : e.pathSuffix;
      if (e.type === "DIRECTORY") await walk(path, key);
      else if (e.pathSuffix.startsWith(".")) hidden.push(key);
      else visible.set(key, await client.open(path));
    }
  };
  await walk(`${root}/events`, "events");
  return { visible, hidden };
}

/** Deletes the indices and templates `ensureIndices` made under a test prefix (no wildcards: the server refuses them). */
export async function deleteTestIndices(es: Client, prefix: string): Promise<void> {
  const names = INDEX_NAMES.map((n) => concreteIndexName(prefix, n));
  await es.indices.delete({ index: names, ignore_unavailable: true });
  for (const n of INDEX_NAMES)
    await es.indices.deleteIndexTemplate({ name: aliasName(prefix, n) }).catch(() => undefined);
}
