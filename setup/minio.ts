import type * as Minio from "minio";
import type { SetupItem } from "./report.ts";

/** Creates the lake bucket when it is missing. */
export async function ensureBucket(minio: Minio.Client, bucket: string, region: string): Promise<SetupItem> {
  const base = { store: "MinIO", kind: "bucket", name: bucket, differences: [] as string[] } as const;
  if (await minio.bucketExists(bucket)) return { ...base, status: "unchanged" };
  try {
    await minio.makeBucket(bucket, region);
  } catch (error) {
    // Another setup (a second container, say) made it between the check and here: fine.
    if ((error as { code?: string }).code === "BucketAlreadyOwnedByYou")
      return { ...base, status: "unchanged" };
    throw error;
  }
  return { ...base, status: "created" };
}

/** Every object name in the bucket (empty when the bucket does not exist). */
export async function listObjectNames(minio: Minio.Client, bucket: string): Promise<string[]> {
  if (!(await minio.bucketExists(bucket))) return [];
  const names: string[] = [];
  const stream = minio.listObjectsV2(bucket, "", true);
  for await (const item of stream as AsyncIterable<{ name?: string }>) if (item.name) names.push(item.name);
  return names;
}

/** Object names with a multipart upload started and neither completed nor aborted. */
export async function listIncompleteUploads(minio: Minio.Client, bucket: string): Promise<string[]> {
  if (!(await minio.bucketExists(bucket))) return [];
  const keys = new Set<string>();
  const stream = minio.listIncompleteUploads(bucket, "", true);
  for await (const item of stream as AsyncIterable<{ key?: string }>) if (item.key) keys.add(item.key);
  return [...keys];
}

/**
 * Deletes every object of the bucket and aborts its unfinished multipart uploads (a writer killed
 * mid-upload leaves their parts, which take space without being listed as objects); the bucket
 * itself stays. Returns how many objects were deleted.
 */
export async function emptyBucket(minio: Minio.Client, bucket: string): Promise<number> {
  for (const key of await listIncompleteUploads(minio, bucket))
    await minio.removeIncompleteUpload(bucket, key);
  const names = await listObjectNames(minio, bucket);
  // S3 DeleteObjects takes at most 1000 keys per request.
  for (let i = 0; i < names.length; i += 1000) {
    const results = await minio.removeObjects(bucket, names.slice(i, i + 1000));
    const failed = (results as { Error?: { Key?: string; Message?: string } }[]).filter((r) => r.Error);
    if (failed.length)
      throw new Error(
        `could not delete ${failed.length} object(s), first ${failed[0]?.Error?.Key}: ${failed[0]?.Error?.Message}`,
      );
  }
  return names.length;
}
