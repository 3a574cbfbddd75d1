import { dlqMessageKey } from "../../core/names.ts";
import type { CaplineEvent } from "../../core/schema/events.ts";
import type { SharedStrings } from "../shared-strings.ts";
import { type CheckReason, checkEvent } from "../validate.ts";

/**
 * Each message is parsed and checked once (`checkEvent`): the result feeds both the DLQ record of
 * a message that is not an event and the range cutter.
 */

export type Classified =
  | { offset: number; event: CaplineEvent; invalid?: undefined }
  | {
      offset: number;
      event?: undefined;
      invalid: { reason: CheckReason; detail: string; raw: string | null };
    };

/** @param strings the pool of the batch being classified: its events share repeated values. */
export function classify(offset: number, value: Buffer | null, strings?: SharedStrings): Classified {
  const checked = checkEvent(value);
  if (checked.ok) {
    strings?.share(checked.event);
    return { offset, event: checked.event };
  }
  return {
    offset,
    invalid: { reason: checked.reason, detail: checked.detail, raw: value?.toString("utf8") ?? null },
  };
}

/** A DLQ record of the events topic: keyed by `<topic>+<partition>+<offset>`, so a replayed rejection is recognisable. */
export interface DlqRecord {
  key: string;
  value: string;
}

export function dlqRecord(topic: string, partition: number, message: Classified): DlqRecord | undefined {
  if (!message.invalid) return undefined;
  return {
    key: dlqMessageKey(topic, partition, message.offset),
    value: JSON.stringify({
      source: { topic, partition, offset: message.offset },
      raw: message.invalid.raw,
      reason: message.invalid.reason,
      detail: message.invalid.detail,
    }),
  };
}
