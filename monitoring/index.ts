/**
 * Monitoring: one round of real checks of every part of the pipeline (`capline monitor`), a watch
 * mode, and an HTTP face for orchestrators and Prometheus (`capline monitor serve`). See
 * docs/monitoring.md.
 */
export type { MonitorState } from "./checks/context.ts";
export { registerMonitor } from "./cli.ts";
export { MonitorMetrics } from "./metrics.ts";
export { type MonitorOptions, monitorOptions } from "./options.ts";
export { renderTable } from "./render.ts";
export { CHECKS, runChecks } from "./run.ts";
export { ENDPOINTS, MonitorServer, type ServeOptions } from "./server.ts";
export { exitCodeOf, readiness, worstStatus } from "./status.ts";
export type { CheckName, CheckResult, MonitorReport, Status } from "./types.ts";
