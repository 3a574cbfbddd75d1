import { type CaplineEvent, EVENT_TYPES } from "../core/schema/events.ts";

/**
 * The dispatcher's check of each Kafka message. The ingester only sends valid events, but the
 * topic is open to any producer: a message that is not a canonical event can never be written,
 * so it goes to the DLQ with a reason instead of blocking its partition.
 */

export type Checked =
  | { ok: true; event: CaplineEvent }
  | { ok: false; reason: "invalid_event"; detail: string };

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
  if (!Number.isFinite(Date.parse(e.event_time as string)))
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
  return { ok: true, event: parsed as CaplineEvent };
}
