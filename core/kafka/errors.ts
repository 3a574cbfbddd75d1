import { CaplineError, NETWORK_ERROR_CODES, ServiceUnavailableError } from "../errors.ts";

/**
 * The client's errors in capline's terms. The client reports a failure as a tree: an error per
 * broker or retry (`errors` of an AggregateError), each with its `cause`; protocol errors carry
 * the broker's error name (`apiId`, e.g. PRODUCER_FENCED) and whether a retry can help
 * (`canRetry`). Every operation of the face converts what it throws with `toCaplineError`, so
 * callers only ever see CaplineErrors: SERVICE_UNAVAILABLE (exit 4, retryable) when no broker
 * answered, SERVICE_ERROR with the broker's error name otherwise.
 */

/** The client's codes for "no answer" (connection failed or closed, request timed out). */
const CLIENT_NETWORK_CODES = new Set(["PLT_KFK_NETWORK", "PLT_KFK_TIMEOUT"]);

interface Node {
  message?: unknown;
  code?: unknown;
  apiId?: unknown;
  canRetry?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** Every error of the tree, depth first, the outermost first (bounded: trees can be wide). */
export function errorTree(error: unknown): Node[] {
  const out: Node[] = [];
  const visit = (e: unknown, depth: number) => {
    if (e === null || typeof e !== "object" || depth > 8 || out.length > 64) return;
    const node = e as Node;
    out.push(node);
    if (Array.isArray(node.errors)) for (const child of node.errors) visit(child, depth + 1);
    visit(node.cause, depth + 1);
  };
  visit(error, 0);
  return out;
}

/** The broker's error names in the tree (`PRODUCER_FENCED`, `TOPIC_ALREADY_EXISTS`...). */
export function kafkaErrorNames(error: unknown): string[] {
  return [...new Set(errorTree(error).flatMap((e) => (typeof e.apiId === "string" ? [e.apiId] : [])))];
}

/** Whether the broker answered with `name` anywhere in the tree. */
export function hasKafkaError(error: unknown, name: string): boolean {
  if (error instanceof CaplineError && error.details.kafka_errors !== undefined)
    return (error.details.kafka_errors as string[]).includes(name);
  return kafkaErrorNames(error).includes(name);
}

/** No broker answered (refused, reset, timed out): a retry later may succeed. */
export function isNetworkFailure(error: unknown): boolean {
  if (error instanceof ServiceUnavailableError) return true;
  return errorTree(error).some(
    (e) =>
      (typeof e.code === "string" && (NETWORK_ERROR_CODES.has(e.code) || CLIENT_NETWORK_CODES.has(e.code))) ||
      (e instanceof Error && e.name === "AbortError"),
  );
}

/** Whether retrying the same operation later can succeed. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof CaplineError) return error.retryable;
  if (isNetworkFailure(error)) return true;
  const protocol = errorTree(error).filter((e) => typeof e.apiId === "string");
  return protocol.length > 0 && protocol.every((e) => e.canRetry === true);
}

/** One short line for the tree: the distinct messages, the innermost ones (the reasons) last. */
export function reasonOf(error: unknown): string {
  const messages: string[] = [];
  for (const node of errorTree(error)) {
    const text = typeof node.message === "string" ? node.message.trim().replace(/\.$/, "") : "";
    if (text !== "" && !messages.some((m) => m.includes(text))) messages.push(text);
  }
  return messages.slice(-3).join(": ") || String(error);
}

/**
 * `error` (of the client, of Node, or capline's own) as a CaplineError for the failure of `what`
 * (e.g. "create topic customer-events") at `brokers`.
 */
export function toCaplineError(error: unknown, brokers: readonly string[], what: string): CaplineError {
  if (error instanceof CaplineError) return error;
  const url = brokers.join(",");
  const reason = reasonOf(error);
  if (isNetworkFailure(error))
    return new ServiceUnavailableError("Kafka", url, `${what}: ${reason}`, { cause: error });
  const names = kafkaErrorNames(error);
  return new CaplineError("SERVICE_ERROR", `Kafka (${url}) refused to ${what}: ${reason}`, {
    cause: error,
    retryable: isRetryable(error),
    details: { service: "Kafka", url, ...(names.length > 0 ? { kafka_errors: names } : {}) },
  });
}

/** Runs `fn`, converting its failure with `toCaplineError`. */
export async function kafkaCall<T>(
  brokers: readonly string[],
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toCaplineError(error, brokers, what);
  }
}
