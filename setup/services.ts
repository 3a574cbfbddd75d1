import type { Client as Elasticsearch } from "@elastic/elasticsearch";
import type { Redis } from "ioredis";
import type * as Minio from "minio";
import { createElasticsearch } from "../core/clients/elasticsearch.ts";
import { createMinio } from "../core/clients/minio.ts";
import { createRedis, isRedisAuthError, redactUrl, redisAuthError } from "../core/clients/redis.ts";
import { createWebHdfs, type WebHdfsClient } from "../core/clients/webhdfs.ts";
import type { Config } from "../core/config/index.ts";
import { KafkaAdmin, kafkaOptions } from "../core/kafka/index.ts";
import { withService } from "./service-errors.ts";

/** The service URLs as they may be shown (no credentials). */
export interface ServiceUrls {
  kafka: string;
  elasticsearch: string;
  minio: string;
  hdfs: string;
  redis: string;
}

/** Clients for setup and reset; connections open lazily and close in `close()`. */
export interface Services {
  config: Config;
  urls: ServiceUrls;
  admin(): Promise<KafkaAdmin>;
  es: Elasticsearch;
  minio: Minio.Client;
  hdfs: WebHdfsClient;
  redis(): Promise<Redis>;
  close(): Promise<void>;
}

export function openServices(config: Config): Services {
  const urls: ServiceUrls = {
    kafka: config.kafka.brokers.join(","),
    elasticsearch: config.elasticsearch.url,
    minio: config.minio.endpoint,
    hdfs: config.hdfs.webhdfsUrl,
    redis: redactUrl(config.redis.url),
  };
  // Retry an unreachable broker for about KAFKA_CONNECT_TIMEOUT_MS, then name it (exit 4).
  const kafka = kafkaOptions(config, {
    retries: Math.max(1, Math.ceil(config.kafka.connectTimeoutMs / 1_000)),
    retryDelayMs: 1_000,
  });
  let admin: Promise<KafkaAdmin> | undefined;
  let redis: Promise<Redis> | undefined;
  const es = createElasticsearch(config, { maxRetries: 2, requestTimeout: 30_000 });
  return {
    config,
    urls,
    es,
    minio: createMinio(config),
    hdfs: createWebHdfs(config),
    admin() {
      admin ??= withService("Kafka", urls.kafka, "connect", async () => {
        const a = new KafkaAdmin(kafka);
        try {
          await a.describeCluster();
        } catch (error) {
          await a.close();
          throw error;
        }
        return a;
      });
      return admin;
    },
    redis() {
      // Setup and reset should fail fast with a name, not wait forever as a worker would.
      redis ??= withService("Redis", urls.redis, "connect", async () => {
        const r = createRedis(config, {
          lazyConnect: true,
          maxRetriesPerRequest: 1,
          connectTimeout: 5_000,
          retryStrategy: (times) => (times > 3 ? null : 300),
        });
        // ioredis reports each failed attempt as an "error" event as well as rejecting connect();
        // keep the first (it says why: ECONNREFUSED...) for the message instead of printing it.
        let reason: unknown;
        r.on("error", (error: unknown) => {
          reason ??= error;
        });
        try {
          await r.connect();
        } catch (error) {
          r.disconnect();
          const cause = reason ?? error;
          // A refused password is REDIS_URL's fault (exit 2), not an outage.
          throw isRedisAuthError(cause) ? redisAuthError(config, cause) : cause;
        }
        return r;
      });
      return redis;
    },
    async close() {
      // A connection that failed has reported its error already; closing it adds nothing.
      const closing: Promise<unknown>[] = [es.close()];
      if (admin) closing.push(admin.then((a) => a.close()).catch(() => undefined));
      if (redis) closing.push(redis.then((r) => r.quit()).catch(() => undefined));
      await Promise.all(closing);
    },
  };
}
