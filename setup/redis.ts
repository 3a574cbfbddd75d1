import type { Redis } from "ioredis";
import { queueKeysPattern } from "../core/names.ts";

/** Every key under `<prefix>:` (BullMQ queues, jobs, locks...), by SCAN, never KEYS. */
export async function queueKeys(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", queueKeysPattern(prefix), "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return [...new Set(keys)];
}

/** Deletes every key under `<prefix>:`; returns how many went. */
export async function deleteQueueKeys(redis: Redis, prefix: string): Promise<number> {
  const keys = await queueKeys(redis, prefix);
  let deleted = 0;
  for (let i = 0; i < keys.length; i += 500) deleted += await redis.unlink(...keys.slice(i, i + 500));
  return deleted;
}
