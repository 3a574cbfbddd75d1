import type { Client as Elasticsearch } from "@elastic/elasticsearch";
import { Redis } from "ioredis";
import type * as Minio from "minio";
import { createElasticsearch } from "../../core/clients/elasticsearch.ts";
import { createMinio } from "../../core/clients/minio.ts";
import { type Config, publicUrl } from "../../core/config/index.ts";
import { describeError } from "../../core/errors.ts";
import { KafkaAdmin, kafkaOptions } from "../../core/kafka/index.ts";
import type { MonitorOptions } from "../options.ts";

/** What `--watch` and `monitor serve` remember between rounds (deltas and progress). */
export interface MonitorState {
  /** DLQ size at the previous round. */
  dlq?: { total: number; at: number };
  /**
   * The dispatcher group's committed offsets as last seen, since when (first sight or last
   * change), and whether this process has seen them move.
   */
  committed?: { signature: string; since: number; moved: boolean };
}

export interface CheckContext {
  config: Config;
  options: MonitorOptions;
  state: MonitorState;
  /** Aborted when the check's time is up: requests in flight stop. */
  signal: AbortSignal;
  clients: Clients;
}

/**
 * The URL as a person opens it, without credentials: http(s) URLs in the Codespaces forwarded form
 * when there; Redis URLs and Kafka host:port lists as they are (no browser opens them).
 */
export function shownUrl(config: Config, raw: string): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return raw;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    if (!parsed.username && !parsed.password) return raw;
    parsed.username = "";
    parsed.password = "";
    return parsed.toString().replace(/\/$/, "");
  }
  return publicUrl(config, raw);
}

/**
 * Clients of one round, created on first use and shared by the checks (the Kafka check and the
 * pipeline checks use one admin connection). Every client is bounded by the check timeout and
 * never retries: the monitor reports a failure, it does not wait it out.
 */
export class Clients {
  private readonly memo = new Map<string, Promise<unknown>>();
  private readonly closers: (() => Promise<unknown> | unknown)[] = [];
  private esClient: Elasticsearch | undefined;
  private minioClient: Minio.Client | undefined;

  constructor(
    private readonly config: Config,
    private readonly timeoutMs: number,
  ) {}

  /** Runs `fn` once per round per key; later callers share the answer (or the failure). */
  once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = fn();
      // A failure is reported by each check that awaits it; this copy must not be "unhandled".
      p.catch(() => undefined);
      this.memo.set(key, p);
    }
    return p;
  }

  kafkaAdmin(): Promise<KafkaAdmin> {
    return this.once("kafka.admin", async () => {
      const admin = new KafkaAdmin(
        kafkaOptions(this.config, {
          clientId: `${this.config.kafka.clientId}-monitor`,
          socketTimeoutMs: this.timeoutMs,
          requestTimeoutMs: this.timeoutMs,
          retries: 0,
        }),
      );
      this.closers.push(() => admin.close());
      return admin;
    });
  }

  redis(): Promise<Redis> {
    return this.once("redis", async () => {
      const redis = new Redis(this.config.redis.url, {
        lazyConnect: true,
        connectTimeout: this.timeoutMs,
        commandTimeout: this.timeoutMs,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        retryStrategy: () => null,
      });
      // Errors surface through the commands; the event would otherwise be logged by ioredis.
      redis.on("error", () => undefined);
      this.closers.push(() => redis.disconnect());
      await redis.connect();
      return redis;
    });
  }

  elasticsearch(): Elasticsearch {
    if (!this.esClient) {
      const es = createElasticsearch(this.config, { requestTimeout: this.timeoutMs, maxRetries: 0 });
      this.closers.push(() => es.close());
      this.esClient = es;
    }
    return this.esClient;
  }

  minio(): Minio.Client {
    this.minioClient ??= createMinio(this.config);
    return this.minioClient;
  }

  /** Closes every connection of the round; a close that hangs is given up after a second. */
  async close(): Promise<void> {
    await Promise.all(
      this.closers.map((close) =>
        Promise.race([
          Promise.resolve()
            .then(close)
            .catch(() => undefined),
          new Promise((resolve) => setTimeout(resolve, 1_000).unref()),
        ]),
      ),
    );
  }
}

/** Thrown by a check's time limit; its message is the row's reason. */
export class CheckTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = "CheckTimeout";
  }
}

/** A short reason for a failed request: "connection refused", "no answer within 5000 ms"... */
export function reasonOf(error: unknown, timeoutMs?: number): string {
  if (error instanceof CheckTimeout) return error.message;
  const text = describeError(error);
  const codes: string[] = [];
  let current: unknown = error;
  for (let i = 0; i < 5 && current instanceof Error; i++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === "string") codes.push(code);
    if (current.name === "AbortError" || current.name === "TimeoutError") codes.push("ETIMEDOUT");
    current = current.cause;
  }
  const all = `${codes.join(" ")} ${text}`;
  if (/ECONNREFUSED/.test(all)) return "connection refused";
  if (/ENOTFOUND|EAI_AGAIN/.test(all)) return "host not found";
  if (/ECONNRESET|socket hang up/.test(all)) return "connection reset";
  if (/ETIMEDOUT|timed? ?out|TimeoutError|aborted/i.test(all))
    return timeoutMs !== undefined ? `no answer within ${timeoutMs} ms` : "timed out";
  return text;
}

export interface HttpAnswer {
  status: number;
  text: string;
}

/** GET with the check's abort signal. */
export async function httpGet(
  url: string,
  ctx: CheckContext,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  const response = await fetch(url, { headers, signal: ctx.signal, redirect: "manual" });
  const text = await response.text();
  return { status: response.status, text };
}

export function parseJson<T>(answer: HttpAnswer, what: string): T {
  try {
    return JSON.parse(answer.text) as T;
  } catch (error) {
    throw new Error(`${what} did not answer JSON (HTTP ${answer.status})`, { cause: error });
  }
}
