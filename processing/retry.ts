import { errors } from "@elastic/elasticsearch";
import { UnrecoverableError } from "bullmq";
import { describeError, isCaplineError, NETWORK_ERROR_CODES } from "../core/errors.ts";
import { within } from "../core/within.ts";

/**
 * The one retry module of processing: what is worth retrying, who retries it, and how long to wait.
 *
 * One owner per failure kind, so a failure is never retried several layers deep:
 *
 * | failure                                   | owner                                                                   |
 * | ----------------------------------------- | ----------------------------------------------------------------------- |
 * | Elasticsearch: network error, 502/503/504 | the client's transport (`maxRetries`, core/clients/elasticsearch.ts)    |
 * | Elasticsearch: 409, 429 (per item or all) | the writer's rounds (es-writer.ts): re-read and merge, or back off      |
 * | MinIO / HDFS: network error, 5xx, 429     | the store's own short retry (`retry` below, archive-sink.ts)            |
 * | anything still failing (an outage)        | BullMQ: the job fails and runs again after `jobBackoffMs`               |
 * | an error no retry can fix                 | nobody: `toJobError` makes it an `UnrecoverableError`, the job fails    |
 *
 * A record a sink refuses for what it is (a 400-class answer about one document) is not a job
 * failure at all: it goes to the DLQ and the job goes on (docs/processing.md, "Poison records").
 */

/** Waits `ms`; an aborted `signal` ends the wait at once with the signal's reason. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("aborted", "AbortError");
}

/**
 * Waits for `work` at most `ms`: true if it settled in time (resolved or rejected), false if
 * not. For shutdown steps that can wait forever on a service that is gone (a Redis command with
 * `maxRetriesPerRequest: null` waits for the server to come back); the caller decides what to do
 * about the step left behind.
 */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = work.then(
    () => true,
    () => true,
  );
  return (await within(settled, ms)) ?? false;
}

/**
 * Backoff with full jitter (a uniform draw below the capped exponential), so writers that failed
 * together do not retry together. `random` is there for the tests.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random = Math.random): number {
  return Math.round(random() * Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30)));
}

/**
 * BullMQ's backoff between attempts of a job (the outage owner): "equal jitter" — half the capped
 * exponential, plus a random half — so an outage of minutes costs at most 30 s of delay after it
 * ends, and the jobs that failed together come back spread out, never all at once.
 */
export function jobBackoffMs(attemptsMade: number, random = Math.random): number {
  const ceiling = Math.min(JOB_BACKOFF_MAX_MS, 250 * 2 ** Math.min(Math.max(attemptsMade - 1, 0), 10));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Longest pause between two attempts of a job. */
export const JOB_BACKOFF_MAX_MS = 30_000;

/**
 * Attempts of a range job before it fails for good: with `jobBackoffMs`, about a day of a sink
 * being down. Then the job is failed (counted, shown by `capline monitor`), the partition waits
 * at that range (nothing is committed past it, so nothing is lost), and the next start of a
 * dispatcher runs it again.
 */
export const JOB_ATTEMPTS = 4000;

export interface RetryOptions {
  /** Tries in all (the first one included). @defaultValue 4 */
  attempts?: number;
  /** First pause; doubles each time (jittered). @defaultValue 200 */
  baseMs?: number;
  /** @defaultValue 2000 */
  maxMs?: number;
  /** @defaultValue isRetryable */
  retryable?: (error: unknown) => boolean;
  /** Ends the waiting (and the retrying) at once. */
  signal?: AbortSignal;
}

/**
 * Runs `fn` until it succeeds, an error is not retryable, the attempts are used up or `signal` is
 * aborted; the last error is thrown. For a transport's short hiccups only: an outage is BullMQ's.
 */
export async function retry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 4;
  const retryable = options.retryable ?? isRetryable;
  for (let attempt = 0; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await fn();
    } catch (error) {
      if (attempt + 1 >= attempts || !retryable(error) || options.signal?.aborted) throw error;
      await sleep(backoffMs(attempt, options.baseMs ?? 200, options.maxMs ?? 2000), options.signal);
    }
  }
}

/** HTTP statuses after which the same request can succeed later. */
export function isRetryableStatus(status: number | undefined): boolean {
  return status === 429 || status === 408 || (status !== undefined && status >= 500);
}

const NETWORK_CODES = new Set([
  ...NETWORK_ERROR_CODES,
  // undici's (the fetch under the Elasticsearch and WebHDFS clients).
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/** S3 error codes (minio-js `code`) that mean "try again". */
const S3_RETRY_CODES = new Set([
  "SlowDown",
  "ServiceUnavailable",
  "InternalError",
  "RequestTimeout",
  "XMinioServerNotInitialized",
]);

/**
 * Whether an error from Elasticsearch, MinIO, WebHDFS, Redis or the network can pass with time:
 * network errors, 408/429/5xx, a service down. Everything else (a 4xx about the request itself,
 * a bug) would fail the same way forever.
 */
export function isRetryable(error: unknown): boolean {
  if (isCaplineError(error)) return error.retryable;
  if (error instanceof errors.ConnectionError || error instanceof errors.TimeoutError) return true;
  if (error instanceof errors.NoLivingConnectionsError) return true;
  if (error instanceof errors.ResponseError) {
    // An index block (disk flood stage, a read-only index) lifts with time like an outage.
    const type = (error.meta.body as { error?: { type?: string } } | undefined)?.error?.type;
    return isRetryableStatus(error.statusCode) || type === "cluster_block_exception";
  }
  if (error instanceof errors.SerializationError || error instanceof errors.DeserializationError)
    return false;
  const e = error as { code?: unknown; cause?: { code?: unknown }; statusCode?: unknown; name?: unknown };
  if (e?.name === "AbortError") return true;
  if (typeof e?.code === "string" && NETWORK_CODES.has(e.code)) return true;
  if (typeof e?.cause?.code === "string" && NETWORK_CODES.has(e.cause.code)) return true;
  if (typeof e?.code === "string" && S3_RETRY_CODES.has(e.code)) return true;
  if (typeof e?.statusCode === "number") return isRetryableStatus(e.statusCode);
  // ioredis: the connection closed under a command (Redis restarting).
  if (error instanceof Error && /Connection is closed|Stream isn't writeable/.test(error.message))
    return true;
  return false;
}

/**
 * The error a job's processor throws: itself when a later attempt can succeed (BullMQ retries it
 * with `jobBackoffMs`), an `UnrecoverableError` naming it when none can (BullMQ fails the job at
 * once, without using up attempts, and `capline monitor` shows it with this reason).
 */
export function toJobError(error: unknown): Error {
  if (error instanceof UnrecoverableError) return error;
  if (isRetryable(error)) return error instanceof Error ? error : new Error(String(error));
  const failure = new UnrecoverableError(describeError(error));
  failure.cause = error;
  return failure;
}
