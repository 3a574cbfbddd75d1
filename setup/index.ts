/**
 * Setup and reset: what capline owns in each store (topics, indices, bucket, HDFS root, queues),
 * created idempotently and wiped on demand.
 */
export { registerSetupCommands } from "./command.ts";
export { describeGroups, type GroupState } from "./kafka.ts";
export { type DifferenceKind, diffMappings, type MappingDifference } from "./mapping-diff.ts";
export { type TopicSpec, topicSpecs } from "./names.ts";
export { renderSetupReport, type SetupItem, type SetupReport } from "./report.ts";
export {
  executeReset,
  planReset,
  type ResetPlan,
  type ResetResult,
  type ResetTargets,
  renderPlan,
  renderResetResult,
  resetTargets,
} from "./reset.ts";
export { openServices, type Services } from "./services.ts";
export { runSetup, type SetupTargets, setupTargets } from "./setup.ts";
