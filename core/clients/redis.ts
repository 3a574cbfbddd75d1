import { Redis, type RedisOptions } from "ioredis";
import type { Config } from "../config/index.ts";

/**
 * An ioredis connection. BullMQ needs `maxRetriesPerRequest: null` on connections used by
 * workers (a blocked command must wait for Redis to come back, not fail).
 */
export function createRedis(config: Config, options: RedisOptions = {}): Redis {
  return new Redis(config.redis.url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: false,
    ...options,
  });
}
