import { Redis, type RedisOptions } from "ioredis";
import type { Config } from "../config/index.ts";
import { logger } from "../logging.ts";

/**
 * An ioredis connection. BullMQ needs `maxRetriesPerRequest: null` on connections used by
 * workers (a blocked command must wait for Redis to come back, not fail).
 */
export function createRedis(config: Config, options: RedisOptions = {}): Redis {
  const redis = new Redis(config.redis.url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: false,
    ...options,
  });
  // Without a listener ioredis prints "[ioredis] Unhandled error event" with a stack to stderr on
  // every failed reconnect while Redis is down. Commands still wait and fail on their own; the
  // outage itself is logged once per change of state, naming the URL without credentials.
  const log = logger("redis");
  let down = false;
  redis.on("error", (error: Error) => {
    if (down) return;
    down = true;
    log.warn({ url: redactUrl(config.redis.url), error: error.message }, "Redis unreachable; retrying");
  });
  redis.on("ready", () => {
    if (down) log.info({ url: redactUrl(config.redis.url) }, "Redis reachable again");
    down = false;
  });
  return redis;
}

/** `redis://user:secret@host:6379/0` → `redis://host:6379/0`. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = "";
    url.password = "";
    return url.toString().replace(/\/$/, "");
  } catch {
    return raw;
  }
}
