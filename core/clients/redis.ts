import { Redis, type RedisOptions } from "ioredis";
import type { Config } from "../config/index.ts";
import { ConfigError } from "../errors.ts";
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
    if (isRedisAuthError(error)) {
      // Retrying cannot fix a password: stop reconnecting (commands then fail) and say it once.
      // Commands check the password first (checkRedisAuth), so this is a password changed mid-run.
      redis.disconnect();
      log.error({ url: redactUrl(config.redis.url) }, redisAuthError(config, error).problems[0]?.problem);
      return;
    }
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

/** Redis refused the credentials (WRONGPASS, NOAUTH, or a password it does not want). */
export function isRedisAuthError(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++)
    if (/^(WRONGPASS|NOAUTH)\b|^ERR (invalid password|AUTH\b.*without any password)/.test(e.message))
      return true;
  return false;
}

/**
 * A refused password is a configuration error (exit 2, one line naming REDIS_URL and the fix), not
 * an outage to retry: ioredis and BullMQ would reconnect forever, each attempt a stack trace.
 */
export function redisAuthError(config: Config, cause: unknown): ConfigError {
  const noauth = cause instanceof Error && /^NOAUTH/.test(cause.message);
  const error = new ConfigError([
    {
      variable: "REDIS_URL",
      problem: `Redis at ${redactUrl(config.redis.url)} ${noauth ? "requires a password and none was given" : "refused the user name or password given"}`,
      expected:
        "the credentials Redis expects, as redis://:PASSWORD@host:port or redis://USER:PASSWORD@host:port",
    },
  ]);
  return error;
}

/**
 * Before a command starts Redis clients that retry forever (BullMQ workers, queues): one
 * connection that does not retry, to learn whether Redis takes the credentials. A refusal throws
 * the configuration error above; Redis being down is left to the command's own handling.
 */
export async function checkRedisAuth(config: Config, timeoutMs = 5_000): Promise<void> {
  const redis = new Redis(config.redis.url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let seen: unknown;
  redis.on("error", (error: unknown) => {
    seen ??= error;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    const cause = isRedisAuthError(error) ? error : seen;
    if (isRedisAuthError(cause)) throw redisAuthError(config, cause);
  } finally {
    redis.disconnect();
  }
}
