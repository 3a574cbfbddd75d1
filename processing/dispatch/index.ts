/**
 * The dispatcher in parts (docs/processing.md, "Job model"): pure range cutting and commit
 * bookkeeping, the Redis cut registry and seen-set, the BullMQ job gateway, and a thin dispatcher
 * wiring a consumer (`DispatchConsumer`, implemented over core/kafka/) to them.
 */

export { DecodedPayloads, type PayloadCache } from "../payload-cache.ts";
export { type Classified, classify, type DlqRecord, dlqRecord } from "./classify.ts";
export {
  CommitLedger,
  type CommitPlan,
  type JobKind,
  type LedgerAction,
  type LedgerRange,
} from "./commit-ledger.ts";
export type {
  ConsumedBatch,
  ConsumedMessage,
  ConsumerHandlers,
  DispatchConsumer,
  DlqProducer,
} from "./consumer.ts";
export { CutRegistry } from "./cut-registry.ts";
export { Dispatcher, type DispatcherOptions, type DispatcherStats } from "./dispatcher.ts";
export { JOB_OPTIONS, JobGateway, type JobGatewayOptions, type JobOutcome } from "./job-gateway.ts";
export { PayloadStore } from "./payloads.ts";
export { type Cut, type CutRange, RangeCutter, type RangeCutterOptions } from "./range-cutter.ts";
export { eventDay, type MarkResult, SeenSet, type SeenSetOptions } from "./seen-set.ts";
