/**
 * `npm run bench:seen-set`: the cost of exact deduplication (processing/dispatch/seen-set.ts)
 * against the stack's Redis, beside a like-for-like reference in the same run: the naive design,
 * one plain Redis hash per partition and day holding the event_id as text, one HSETNX (and, for a
 * repeat, an HGET) per event inside one Lua call per range.
 *
 * Both mark the same ranges of 20,000 events (hex ids as the ingester makes them, 20 event days,
 * one partition), then a second pass of the same events at other offsets (every one a duplicate).
 * Printed per design: Redis memory per event (MEMORY USAGE over every key), Redis CPU per event
 * (INFO commandstats of EVAL/EVALSHA, so other clients' commands are left out), the Node CPU of
 * preparing the calls, and the load average at the start.
 *
 *   npm run bench:seen-set [-- --events N]
 */
import { randomBytes, randomUUID } from "node:crypto";
import { cpus, loadavg } from "node:os";
import type { Redis } from "ioredis";
import { createRedis } from "../core/clients/redis.ts";
import { loadConfig } from "../core/config/index.ts";
import type { CaplineEvent } from "../core/schema/events.ts";
import { SeenSet } from "../processing/dispatch/index.ts";
import type { RangeEvent } from "../processing/lake.ts";
import { deleteQueueKeys, queueKeys } from "../setup/redis.ts";

const args = process.argv.slice(2);
const at = args.indexOf("--events");
const events = at >= 0 ? Number(args[at + 1]) : 500_000;
const RANGE = 20_000;

/** The reference: event_id as text in one hash per partition and day, HSETNX per event. */
const NAIVE = `
local out = {}
for k = 1, #ARGV, 3 do
  local key = KEYS[1] .. ':' .. ARGV[k]
  if redis.call('HSETNX', key, ARGV[k + 1], ARGV[k + 2]) == 0 and redis.call('HGET', key, ARGV[k + 1]) ~= ARGV[k + 2] then
    out[#out + 1] = ARGV[k + 2]
  end
end
return out`;

function rows(n: number, offsetBase: number, ids: string[]): RangeEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    offset: offsetBase + i,
    event: {
      event_id: ids[i],
      event_time: `2019-10-${String(1 + (i % 20)).padStart(2, "0")}T12:00:00.000Z`,
    } as CaplineEvent,
  }));
}

async function evalMicros(redis: Redis): Promise<number> {
  const info = await redis.info("commandstats");
  let usec = 0;
  for (const m of info.matchAll(/cmdstat_(?:eval|evalsha):calls=\d+,usec=(\d+)/g)) usec += Number(m[1]);
  return usec;
}

async function memoryOf(redis: Redis, prefix: string): Promise<number> {
  let bytes = 0;
  for (const key of await queueKeys(redis, prefix))
    bytes += Number(await redis.memory("USAGE", key, "SAMPLES", "0"));
  return bytes;
}

async function measure(
  redis: Redis,
  name: string,
  prefix: string,
  mark: (batch: RangeEvent[]) => Promise<number>,
  ids: string[],
): Promise<Record<string, number | string>> {
  await redis.config("RESETSTAT");
  const cpu0 = process.cpuUsage();
  let duplicates = 0;
  for (const pass of [0, 1])
    for (let i = 0; i < events; i += RANGE) {
      const n = Math.min(RANGE, events - i);
      duplicates += await mark(rows(n, pass * events + i, ids.slice(i, i + n)));
    }
  const cpu = process.cpuUsage(cpu0);
  const redisUs = await evalMicros(redis);
  const bytes = await memoryOf(redis, prefix);
  if (duplicates !== events) throw new Error(`${name}: ${duplicates} duplicates, expected ${events}`);
  return {
    design: name,
    redis_bytes_per_event: Math.round((bytes / events) * 10) / 10,
    redis_mib: Math.round((bytes / 1024 / 1024) * 10) / 10,
    redis_cpu_us_per_event: Math.round((redisUs / (2 * events)) * 100) / 100,
    node_cpu_us_per_event: Math.round(((cpu.user + cpu.system) / (2 * events)) * 100) / 100,
  };
}

const config = loadConfig();
const redis = createRedis(config);
const ids = Array.from({ length: events }, () => randomBytes(16).toString("hex"));
const load = loadavg()[0]?.toFixed(2);
const results: Array<Record<string, number | string>> = [];
const prefixes: string[] = [];
try {
  const seenPrefix = `bench-seen-${randomUUID().slice(0, 8)}`;
  prefixes.push(seenPrefix);
  const seen = new SeenSet(redis, seenPrefix, "events");
  results.push(
    await measure(
      redis,
      "seen-set (binary ids, listpack buckets)",
      seenPrefix,
      async (b) => (await seen.mark(0, b[0]?.offset ?? 0, b)).duplicates,
      ids,
    ),
  );
  const naivePrefix = `bench-naive-${randomUUID().slice(0, 8)}`;
  prefixes.push(naivePrefix);
  results.push(
    await measure(
      redis,
      "reference (text ids, one hash per day)",
      naivePrefix,
      async (batch) => {
        const argv = batch.flatMap((r) => [
          r.event.event_time.slice(0, 10),
          r.event.event_id,
          String(r.offset),
        ]);
        return ((await redis.eval(NAIVE, 1, `${naivePrefix}:seen`, ...argv)) as string[]).length;
      },
      ids,
    ),
  );
  console.log(
    JSON.stringify(
      {
        events,
        range: RANGE,
        days: 20,
        load_average_1m: Number(load),
        cpus: cpus().length,
        cpu: cpus()[0]?.model,
        results,
      },
      null,
      2,
    ),
  );
} finally {
  for (const p of prefixes) await deleteQueueKeys(redis, p);
  redis.disconnect();
}
