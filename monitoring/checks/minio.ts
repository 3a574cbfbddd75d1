import type { BucketItem } from "minio";
import type { CheckOutcome, Sample } from "../types.ts";
import { type CheckContext, httpGet } from "./context.ts";

/** The newest lake objects are looked for in this many of the newest `dt=` folders... */
const NEWEST_FOLDERS = 2;
/** ...reading at most this many names from each (and this many folder names): a bounded listing. */
const LIST_LIMIT = 2_000;

/** Lists at most `limit` entries of a prefix, then stops the listing (no full scan of a big lake). */
function listBounded(
  ctx: CheckContext,
  prefix: string,
  recursive: boolean,
  limit: number,
): Promise<BucketItem[]> {
  const stream = ctx.clients.minio().listObjectsV2(ctx.config.minio.bucket, prefix, recursive);
  return new Promise((resolve, reject) => {
    const items: BucketItem[] = [];
    const stop = () => {
      stream.destroy();
      resolve(items);
    };
    ctx.signal.addEventListener("abort", () => stream.destroy(), { once: true });
    stream.on("data", (item: BucketItem) => {
      items.push(item);
      if (items.length >= limit) stop();
    });
    stream.on("end", () => resolve(items));
    stream.on("error", reject);
  });
}

export interface NewestObject {
  key: string;
  lastModified: Date;
  scanned: number;
}

/**
 * The most recently written object under `events/`: the lake is laid out by event date
 * (`events/dt=YYYY-MM-DD/`), so the newest writes are almost always in the newest folders; late
 * events rewritten into an old day are the exception this bounded look accepts.
 */
export async function newestLakeObject(ctx: CheckContext): Promise<NewestObject | undefined> {
  const folders = (await listBounded(ctx, "events/", false, LIST_LIMIT))
    .map((i) => i.prefix)
    .filter((p): p is string => typeof p === "string")
    .sort();
  let newest: NewestObject | undefined;
  let scanned = 0;
  for (const folder of folders.slice(-NEWEST_FOLDERS)) {
    for (const item of await listBounded(ctx, folder, true, LIST_LIMIT)) {
      scanned++;
      if (item.name && item.lastModified && (!newest || item.lastModified > newest.lastModified))
        newest = { key: item.name, lastModified: item.lastModified, scanned: 0 };
    }
  }
  return newest ? { ...newest, scanned } : undefined;
}

export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7_200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3_600)} h ago`;
  return `${Math.round(s / 86_400)} days ago`;
}

/** Liveness, cluster write quorum, the lake bucket, and the age of the newest archived object. */
export async function checkMinio(ctx: CheckContext): Promise<CheckOutcome> {
  const base = ctx.config.minio.endpoint.replace(/\/$/, "");
  const live = await httpGet(`${base}/minio/health/live`, ctx);
  if (live.status !== 200)
    return { status: "DOWN", reason: `/minio/health/live answered HTTP ${live.status}` };
  const cluster = await httpGet(`${base}/minio/health/cluster`, ctx);
  if (cluster.status !== 200)
    return {
      status: "DOWN",
      reason: `/minio/health/cluster answered HTTP ${cluster.status}: the cluster has lost its write quorum`,
    };
  const bucket = ctx.config.minio.bucket;
  let exists: boolean;
  try {
    exists = await ctx.clients.minio().bucketExists(bucket);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "AccessDenied" || code === "InvalidAccessKeyId" || code === "SignatureDoesNotMatch")
      return {
        status: "DOWN",
        reason: `live, but the keys are refused (${code}): check MINIO_ACCESS_KEY / MINIO_SECRET_KEY`,
      };
    throw error;
  }
  if (!exists)
    return {
      status: "WARN",
      blocking: true,
      reason: `live; bucket ${bucket} missing: run \`capline setup\``,
      details: { bucket, exists },
    };
  const newest = await newestLakeObject(ctx);
  const samples: Sample[] = [];
  const details: Record<string, unknown> = { bucket, exists, console: ctx.config.minio.consoleUrl };
  if (!newest)
    return { status: "OK", reason: `live; bucket ${bucket}, no objects under events/ yet`, details };
  const age = Date.now() - newest.lastModified.getTime();
  samples.push({ metric: "lake_newest_object_age_seconds", value: age / 1000 });
  details.newestObject = {
    key: newest.key,
    lastModified: newest.lastModified.toISOString(),
    scanned: newest.scanned,
  };
  return {
    status: "OK",
    reason: `live; bucket ${bucket}, newest object written ${ago(age)} (${newest.key})`,
    details,
    samples,
  };
}
