import { type CaplineEvent, EVENT_TYPES } from "../core/schema/events.ts";
import { parseMillis } from "./time.ts";

/**
 * The dispatcher's check of each Kafka message. The ingester only sends valid events, but the
 * topic is open to any producer: a message that is not a canonical event can never be written,
 * so it goes to the DLQ with a reason instead of blocking its partition. So does an event that
 * some sink can never hold (docs/processing.md, "Poison records"): refused here, before any sink
 * sees it, it is in none of them, and the lake and the index keep agreeing.
 *
 * - `invalid_event`: not a canonical event (not JSON, a field missing or of the wrong type);
 * - `id_too_long`: `user_id` over 512 bytes, the most an Elasticsearch `_id` (the profile's) takes;
 * - `out_of_range`: an event time outside the years 0000–9999 (Elasticsearch dates and the
 *   lake's `dt=YYYY-MM-DD` folders have four-digit years), a price whose cents are not a safe
 *   integer (every sum is kept in integer cents), a source line that is not one.
 */

export const CHECK_REASONS = ["invalid_event", "id_too_long", "out_of_range"] as const;
export type CheckReason = (typeof CHECK_REASONS)[number];

export type Checked = { ok: true; event: CaplineEvent } | { ok: false; reason: CheckReason; detail: string };

/** The most bytes of an Elasticsearch `_id`. */
export const MAX_ID_BYTES = 512;
const MIN_TIME_MS = Date.parse("0000-01-01T00:00:00.000Z");
const MAX_TIME_MS = Date.parse("9999-12-31T23:59:59.999Z");

const STRING_FIELDS = [
  "event_id",
  "event_time",
  "product_id",
  "category_id",
  "user_id",
  "user_session",
] as const;

export function checkEvent(value: Buffer | string | null): Checked {
  if (value === null) return { ok: false, reason: "invalid_event", detail: "message has no value" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === "string" ? value : value.toString("utf8"));
  } catch {
    return { ok: false, reason: "invalid_event", detail: "value is not JSON" };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    return { ok: false, reason: "invalid_event", detail: "value is not a JSON object" };
  const e = parsed as Record<string, unknown>;
  for (const field of STRING_FIELDS)
    if (typeof e[field] !== "string")
      return { ok: false, reason: "invalid_event", detail: `${field} is not a string` };
  if (e.user_id === "") return { ok: false, reason: "invalid_event", detail: "user_id is empty" };
  const ms = parseMillis(e.event_time as string);
  if (!Number.isFinite(ms))
    return { ok: false, reason: "invalid_event", detail: "event_time is not an ISO-8601 time" };
  if (!(EVENT_TYPES as readonly unknown[]).includes(e.event_type))
    return {
      ok: false,
      reason: "invalid_event",
      detail: "event_type is not view|cart|remove_from_cart|purchase",
    };
  if (typeof e.price !== "number" || !Number.isFinite(e.price) || e.price < 0)
    return { ok: false, reason: "invalid_event", detail: "price is not a number >= 0" };
  for (const field of ["category_code", "brand"] as const)
    if (e[field] !== null && typeof e[field] !== "string")
      return { ok: false, reason: "invalid_event", detail: `${field} is neither a string nor null` };
  const source = e.source as { file?: unknown; line?: unknown } | undefined;
  if (typeof source?.file !== "string" || typeof source.line !== "number")
    return { ok: false, reason: "invalid_event", detail: "source is not {file, line}" };
  const user = e.user_id as string;
  // Three bytes per UTF-16 unit at most: only long ids need counting.
  if (user.length * 3 > MAX_ID_BYTES && Buffer.byteLength(user) > MAX_ID_BYTES)
    return {
      ok: false,
      reason: "id_too_long",
      detail: `user_id is ${Buffer.byteLength(user)} bytes; a profile's Elasticsearch _id takes at most ${MAX_ID_BYTES}`,
    };
  if (ms < MIN_TIME_MS || ms > MAX_TIME_MS)
    return { ok: false, reason: "out_of_range", detail: "event_time is outside the years 0000-9999" };
  if (!Number.isSafeInteger(Math.round((e.price as number) * 100)))
    return {
      ok: false,
      reason: "out_of_range",
      detail: "price in cents is beyond 2^53 (not a safe integer)",
    };
  if (!Number.isSafeInteger(source.line) || source.line < 0)
    return { ok: false, reason: "out_of_range", detail: "source.line is not a whole number >= 0" };
  return { ok: true, event: parsed as CaplineEvent };
}
