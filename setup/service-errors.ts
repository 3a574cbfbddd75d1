import { errors as esErrors } from "@elastic/elasticsearch";
import {
  CaplineError,
  describeError,
  isCaplineError,
  NETWORK_ERROR_CODES,
  ServiceUnavailableError,
} from "../core/errors.ts";

/**
 * Turns each client's own errors into capline's: a service that cannot be reached becomes a
 * ServiceUnavailableError naming it and its URL (exit 4); a service that answered with an error
 * becomes SERVICE_ERROR with what it said. Errors that are capline's already pass through.
 */

export type ServiceName = "Kafka" | "Elasticsearch" | "MinIO" | "Redis";

function chain(error: unknown): unknown[] {
  const out: unknown[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    out.push(current);
    const next = (current as { cause?: unknown; originalError?: unknown }).cause;
    current = next ?? (current as { originalError?: unknown }).originalError;
  }
  return out;
}

function isNetworkError(service: ServiceName, error: unknown): boolean {
  return chain(error).some((e) => {
    if (!(e instanceof Error)) return false;
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === "string" && NETWORK_ERROR_CODES.has(code)) return true;
    // core/kafka throws CaplineErrors already (passed through above): nothing to recognise here.
    if (service === "Elasticsearch")
      return (
        e instanceof esErrors.ConnectionError ||
        e instanceof esErrors.TimeoutError ||
        e instanceof esErrors.NoLivingConnectionsError
      );
    if (service === "Redis")
      return /Connection is closed|connect ETIMEDOUT|Reached the max retries/.test(e.message);
    return false;
  });
}

function responseDetail(error: unknown): { status?: number; reason?: string } {
  if (error instanceof esErrors.ResponseError) {
    const body = error.meta.body as { error?: { type?: string; reason?: string } } | undefined;
    const reason = body?.error ? `${body.error.type ?? ""}: ${body.error.reason ?? ""}` : error.message;
    return { status: error.meta.statusCode ?? undefined, reason } as { status?: number; reason?: string };
  }
  return {};
}

/** The capline error for a failure of `what` (e.g. "create topic customer-events") at `service`. */
export function serviceError(service: ServiceName, url: string, what: string, error: unknown): CaplineError {
  if (isCaplineError(error)) return error;
  if (isNetworkError(service, error))
    return new ServiceUnavailableError(service, url, `${what}: ${describeError(error)}`, { cause: error });
  const { status, reason } = responseDetail(error);
  return new CaplineError(
    "SERVICE_ERROR",
    `${service} (${url}) refused to ${what}: ${reason ?? describeError(error)}`,
    {
      cause: error,
      retryable: status !== undefined && status >= 500,
      details: { service, url, ...(status === undefined ? {} : { status }) },
    },
  );
}

/** Runs `fn`, converting its failure with `serviceError`. */
export async function withService<T>(
  service: ServiceName,
  url: string,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw serviceError(service, url, what, error);
  }
}
