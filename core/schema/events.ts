import type { RejectReason } from "./reasons.ts";

/**
 * The canonical event (DESIGN.md, "Events"): one Kafka message, JSON value, key = user_id.
 * Ids stay strings: REES46 ids have 19 digits, beyond 2^53.
 */

export const EVENT_TYPES = ["view", "cart", "remove_from_cart", "purchase"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface EventSource {
  file: string;
  line: number;
}

export interface CaplineEvent {
  /** Deterministic: the same input row always yields the same id. */
  event_id: string;
  /** ISO-8601 UTC with milliseconds, e.g. 2019-10-01T00:00:00.000Z. */
  event_time: string;
  event_type: EventType;
  product_id: string;
  category_id: string;
  category_code: string | null;
  brand: string | null;
  price: number;
  user_id: string;
  user_session: string;
  source: EventSource;
}

/**
 * The event's fields that come from an input row, in the REES46 column order: the ingester's
 * canonical row and the lake's columns both follow it.
 */
export const ROW_FIELDS = [
  "event_time",
  "event_type",
  "product_id",
  "category_id",
  "category_code",
  "brand",
  "price",
  "user_id",
  "user_session",
] as const;
export type RowField = (typeof ROW_FIELDS)[number];

export { REJECT_REASONS, type RejectReason } from "./reasons.ts";

/** A refused row as written to the DLQ topic and the rejects file. */
export interface RejectedRow {
  file: string;
  line: number;
  raw: string;
  reason: RejectReason;
  /** A human sentence: which field and what was wrong with it. */
  detail: string;
}

/** Aggregates file null category codes and brands under this key. */
export const UNKNOWN_KEY = "unknown";
