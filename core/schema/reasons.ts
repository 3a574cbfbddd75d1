/**
 * Why a record went to the DLQ: the one list every part imports (the ingester and the rejects
 * file, the ops index mapping and the Kibana dashboards, `inspect`, DLQ statistics, the monitor).
 * docs/ingestion.md ("Row rules") explains each reason with examples; keep the two in step (a unit
 * test checks that every reason here is documented there).
 */

/** Why the ingester refused a CSV row, in the order the rules are checked. */
export const REJECT_REASONS = [
  "malformed_row",
  "missing_field",
  "bad_timestamp",
  "bad_event_type",
  "bad_price",
  "id_too_long",
  "event_too_large",
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** One sentence per reason: what a row did to earn it (help texts, inspect, dashboards). */
export const REJECT_REASON_DOCS: Record<RejectReason, string> = {
  malformed_row:
    "wrong number of fields, broken quoting, a line over the line limit, invalid UTF-8 or a NUL byte",
  missing_field: "event_time, event_type, product_id, user_id or price is empty",
  bad_timestamp:
    "event_time is not one of the accepted forms, not a real date, or outside the accepted window",
  bad_event_type: "event_type is not view, cart, remove_from_cart or purchase",
  bad_price: "price is not a plain decimal number, is negative, or is above the accepted maximum",
  id_too_long: "user_id, product_id, category_id or user_session is longer than any sink accepts",
  event_too_large: "the encoded event is larger than the configured event size limit",
};

/**
 * Why processing sent a Kafka record to the DLQ instead of a sink: the dispatcher's checks
 * (processing/validate.ts, CHECK_REASONS; its `id_too_long` is also a refusal reason) and the
 * workers' poison-record policy (processing/dlq.ts, POISON_REASONS). `capline dlq` takes its
 * `--reason` values from here; a unit test (dlq/records.test.ts) keeps the lists in step.
 */
export const PROCESSING_DLQ_REASONS = [
  "invalid_event",
  "out_of_range",
  "sink_refused",
  "unencodable",
] as const;
export type ProcessingDlqReason = (typeof PROCESSING_DLQ_REASONS)[number];

/** Every reason a DLQ record can carry. */
export const DLQ_REASONS = [...REJECT_REASONS, ...PROCESSING_DLQ_REASONS] as const;
export type DlqReason = RejectReason | ProcessingDlqReason;

export function isRejectReason(value: unknown): value is RejectReason {
  return typeof value === "string" && (REJECT_REASONS as readonly string[]).includes(value);
}
