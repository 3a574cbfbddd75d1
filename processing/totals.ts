import { CaplineError } from "../core/errors.ts";

/**
 * Sums kept in a profile or an aggregate (integer cents, counts). A stored total that is not a
 * safe integer (null, as JSON writes Infinity or NaN; a float; a string), a delta that is not one,
 * or a sum beyond 2^53 is a bug upstream (the ingester bounds prices so that this cannot happen):
 * the merge refuses it instead of writing `null` over a total — which the next merge read as 0,
 * restarting a day's revenue from nothing (issue 12). The error is not retryable; the worker's
 * poison-record policy decides where the range goes.
 */
export function addTotal(field: string, stored: unknown, delta: number): number {
  const base = stored === undefined ? 0 : stored;
  if (typeof base !== "number" || !Number.isSafeInteger(base))
    throw new CaplineError(
      "INTERNAL",
      `stored ${field} is ${JSON.stringify(base)}, not a whole number: refused`,
      {
        details: { field, stored: base },
      },
    );
  const sum = base + delta;
  if (!Number.isSafeInteger(delta) || !Number.isSafeInteger(sum))
    throw new CaplineError("INTERNAL", `${field} + ${delta} is not a safe whole number: refused`, {
      details: { field, stored: base, delta },
    });
  return sum;
}
