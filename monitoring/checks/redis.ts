import { Queue } from "bullmq";
import { SINK_QUEUES } from "../../core/names.ts";
import type { CheckOutcome, Sample } from "../types.ts";
import type { CheckContext } from "./context.ts";

/** `used_memory:123` lines of INFO into a map. */
export function parseInfo(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(":");
    if (i > 0 && !line.startsWith("#")) map.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return map;
}

export function megabytes(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** PING, memory against maxmemory, and the eviction policy BullMQ needs. */
export async function checkRedis(ctx: CheckContext): Promise<CheckOutcome> {
  const redis = await ctx.clients.redis();
  const pong = await redis.ping();
  if (pong !== "PONG") return { status: "DOWN", reason: `PING answered ${pong}` };
  const info = parseInfo(await redis.info());
  const used = Number(info.get("used_memory") ?? 0);
  const max = Number(info.get("maxmemory") ?? 0);
  const policy = info.get("maxmemory_policy") ?? "unknown";
  const samples: Sample[] = [{ metric: "redis_used_memory_bytes", value: used }];
  const details = {
    version: info.get("redis_version"),
    usedMemory: used,
    maxMemory: max,
    maxMemoryPolicy: policy,
    connectedClients: Number(info.get("connected_clients") ?? 0),
  };
  const memory =
    max > 0 ? `${megabytes(used)} of ${megabytes(max)}` : `${megabytes(used)} used (no maxmemory)`;
  const head = `PONG, Redis ${details.version ?? "?"}, ${memory}, ${details.connectedClients} clients`;
  if (policy !== "noeviction")
    return {
      status: "WARN",
      reason: `${head}; maxmemory-policy is ${policy}: BullMQ needs noeviction or jobs can vanish`,
      details,
      samples,
    };
  const limit = ctx.options.thresholds.redisMemoryWarnPercent;
  if (max > 0 && (used / max) * 100 > limit)
    return {
      status: "WARN",
      reason: `${head}: above MONITOR_REDIS_MEMORY_WARN_PERCENT=${limit}`,
      details,
      samples,
    };
  return { status: "OK", reason: head, details, samples };
}

const STATES = ["waiting", "active", "failed", "delayed"] as const;

/** A reason on one line, at most 300 characters (an Elasticsearch reason can quote a whole id). */
export function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}

/** Per queue: waiting / active / failed / delayed jobs and the workers connected. */
export async function checkBullmq(ctx: CheckContext): Promise<CheckOutcome> {
  const connection = await ctx.clients.redis();
  const prefix = ctx.config.redis.queuePrefix;
  const samples: Sample[] = [];
  const problems: string[] = [];
  const parts: string[] = [];
  const details: Record<string, unknown> = {};
  for (const name of SINK_QUEUES) {
    // A queue over the round's shared connection: closing the queue leaves the connection alone.
    const queue = new Queue(name, { connection, prefix });
    try {
      const [counts, workers] = await Promise.all([
        queue.getJobCounts("waiting", "prioritized", "active", "failed", "delayed"),
        queue.getWorkersCount(),
      ]);
      const c = {
        waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
        active: counts.active ?? 0,
        failed: counts.failed ?? 0,
        delayed: counts.delayed ?? 0,
      };
      details[name] = { ...c, workers };
      for (const state of STATES)
        samples.push({ metric: "queue_jobs", labels: { queue: name, state }, value: c[state] });
      samples.push({ metric: "queue_workers", labels: { queue: name }, value: workers });
      samples.push({ metric: "sink_errors", labels: { sink: name }, value: c.failed });
      parts.push(
        `${name} ${c.waiting}w/${c.active}a/${c.failed}f/${c.delayed}d, ${workers} worker${workers === 1 ? "" : "s"}`,
      );
      if (c.failed > ctx.options.thresholds.failedJobsWarn) {
        // Which jobs, and why: a failed job holds its partition until someone fixes the cause.
        const newest = await queue.getFailed(0, 2);
        const why = newest.map((j) => `${j.id}: ${oneLine(j.failedReason ?? "no reason recorded")}`);
        details[name] = {
          ...c,
          workers,
          failed_jobs: newest.map((j) => ({ id: j.id, reason: j.failedReason })),
        };
        problems.push(
          `${name} has ${c.failed} failed job${c.failed === 1 ? "" : "s"} (MONITOR_FAILED_JOBS_WARN=${ctx.options.thresholds.failedJobsWarn}; their partitions wait; \`capline process\` runs them again at start): ${why.join("; ")}`,
        );
      }
      if (c.waiting + c.delayed > 0 && workers === 0)
        problems.push(
          `${name} has ${c.waiting + c.delayed} jobs and no worker: start \`capline process worker\``,
        );
    } finally {
      await queue.close().catch(() => undefined);
    }
  }
  const summary = `${parts.join("; ")} (waiting/active/failed/delayed)`;
  if (problems.length > 0)
    return { status: "WARN", reason: `${problems.join("; ")} — ${summary}`, details, samples };
  return { status: "OK", reason: summary, details, samples };
}
