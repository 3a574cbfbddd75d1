/**
 * Every failure capline reports carries a stable `code`, the `cause` that led to it, and whether a
 * retry can help. Commands map codes to exit codes in one place (`exitCodeFor`), so scripts can
 * rely on them.
 */

/** Node's socket error codes for "the service did not answer" (refused, reset, timed out, unresolved, unreachable). */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
]);

export const ErrorCodes = [
  /** A configuration value (env or .env) is missing or malformed. */
  "CONFIG_INVALID",
  /** A flag or argument on the command line is wrong. */
  "USAGE",
  /** An input file cannot be read or is not what the command expects. */
  "INPUT_INVALID",
  /** A service (Kafka, Elasticsearch, MinIO, HDFS, Redis, Kibana) did not answer. */
  "SERVICE_UNAVAILABLE",
  /** A service answered, but with an error. */
  "SERVICE_ERROR",
  /** An existing index, topic or bucket differs from what capline expects. */
  "CONFLICT",
  /** The local stack could not install or start a service. */
  "STACK_FAILED",
  /** A program the command needs (Java, Maven, Go, redis-server...) is not installed. */
  "PREREQUISITE_MISSING",
  /** The user declined a confirmation, or the command was interrupted. */
  "ABORTED",
  /** The indices a command reads are empty or missing (nothing ingested and processed yet). */
  "NO_DATA",
  /** A bug or an unexpected state. */
  "INTERNAL",
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

export interface CaplineErrorOptions {
  cause?: unknown;
  /** Whether retrying the same operation later can succeed. @defaultValue false */
  retryable?: boolean;
  /** Extra structured facts for logs and `--json` output. Never put secrets here. */
  details?: Record<string, unknown>;
}

export class CaplineError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: CaplineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CaplineError";
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, retryable: this.retryable, ...this.details };
  }
}

export interface ConfigProblem {
  /** The environment variable (or flag) at fault. */
  variable: string;
  /** What is wrong with the value given. */
  problem: string;
  /** What would be accepted, with an example. */
  expected: string;
}

export class ConfigError extends CaplineError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const lines = problems.map((p) => `  ${p.variable}: ${p.problem}; expected ${p.expected}`);
    super("CONFIG_INVALID", `Invalid configuration:\n${lines.join("\n")}`, { details: { problems } });
    this.name = "ConfigError";
    this.problems = problems;
  }
}

export class UsageError extends CaplineError {
  constructor(message: string, options: CaplineErrorOptions = {}) {
    super("USAGE", message, options);
    this.name = "UsageError";
  }
}

export class ServiceUnavailableError extends CaplineError {
  readonly service: string;
  readonly url: string;

  constructor(service: string, url: string, reason: string, options: CaplineErrorOptions = {}) {
    super("SERVICE_UNAVAILABLE", `${service} is not reachable at ${url}: ${reason}`, {
      retryable: true,
      ...options,
      details: { service, url, ...options.details },
    });
    this.name = "ServiceUnavailableError";
    this.service = service;
    this.url = url;
  }
}

export function isCaplineError(error: unknown): error is CaplineError {
  return error instanceof CaplineError;
}

export function isServiceUnavailable(error: unknown): error is ServiceUnavailableError {
  return error instanceof ServiceUnavailableError;
}

/** One short line for a cause chain: "outer: inner: innermost". */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (current instanceof Error) {
      const text = current.message || current.name;
      if (!parts.some((p) => p.includes(text))) parts.push(text);
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.join(": ");
}
