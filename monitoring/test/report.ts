import { buildReport } from "../status.ts";
import type { CheckResult, MonitorReport, Sample, Status } from "../types.ts";

/** A check row built by hand, for the unit tests of the pure parts. */
export function row(
  name: CheckResult["name"],
  status: Status,
  extra: Partial<CheckResult> & { samples?: Sample[] } = {},
): CheckResult {
  return {
    name,
    status,
    reason: `${name} is ${status}`,
    url: `http://127.0.0.1/${name}`,
    critical: true,
    durationMs: 12,
    details: {},
    samples: [],
    ...extra,
  };
}

export function report(checks: CheckResult[]): MonitorReport {
  return buildReport(checks, new Date("2026-01-02T03:04:05.000Z"), 42);
}
