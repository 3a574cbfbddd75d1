import { errors } from "@elastic/elasticsearch";
import { isCaplineError } from "../core/errors.ts";

/**
 * Retries inside a sink, for short hiccups (a 429, a restarting node). Longer outages are the
 * job's business: the job fails retryably and BullMQ runs it again later with backoff, which is
 * safe because every sink write is idempotent.
 */

export interface RetryOptions {
  /** @defaultValue 5 */
  attempts?: number;
  /** First pause; doubles each time. @defaultValue 200 */
  baseMs?: number;
  /** @defaultValue 5000 */
  maxMs?: number;
  /** @defaultValue isRetryable */
  retryable?: (error: unknown) => boolean;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Waits for `work` at most `ms`: true if it settled in time (resolved or rejected), false if
 * not. For shutdown steps that can wait forever on a service that is gone (a Redis command with
 * `maxRetriesPerRequest: null` waits for the server to come back); the caller decides what to do
 * about the step left behind.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Backoff with full jitter, so writers that failed together do not retry together. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.round(Math.random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

export async function withRetries<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  const retryable = options.retryable ?? isRetryable;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt + 1 >= attempts || !retryable(error)) throw error;
      await sleep(backoffMs(attempt, options.baseMs ?? 200, options.maxMs ?? 5000));
    }
  }
}

/** HTTP statuses after which the same request can succeed later. */
export function isRetryableStatus(status: number | undefined): boolean {
  return status === 429 || status === 408 || (status !== undefined && status >= 500);
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** Whether an error from Elasticsearch, MinIO, WebHDFS or the network is worth a retry. */
export function isRetryable(error: unknown): boolean {
  if (isCaplineError(error)) return error.retryable;
  if (error instanceof errors.ConnectionError || error instanceof errors.TimeoutError) return true;
  if (error instanceof errors.NoLivingConnectionsError) return true;
  if (error instanceof errors.ResponseError) return isRetryableStatus(error.statusCode);
  const e = error as { code?: unknown; cause?: { code?: unknown }; statusCode?: unknown; name?: unknown };
  if (typeof e?.code === "string" && NETWORK_CODES.has(e.code)) return true;
  if (typeof e?.cause?.code === "string" && NETWORK_CODES.has(e.cause.code)) return true;
  if (typeof e?.statusCode === "number") return isRetryableStatus(e.statusCode);
  // minio-js: S3 error codes meaning "try again".
  if (e?.code === "SlowDown" || e?.code === "ServiceUnavailable" || e?.code === "InternalError") return true;
  return false;
}
