import type { CheckResult, MonitorReport, Status } from "./types.ts";

/** Pure aggregation rules of a round (unit-tested in status.test.ts). */

const RANK: Record<Exclude<Status, "SKIP">, number> = { OK: 0, WARN: 1, DOWN: 2 };

/** The worst status; SKIP counts as OK (a check left out says nothing about health). */
export function worstStatus(statuses: readonly Status[]): Exclude<Status, "SKIP"> {
  let worst: Exclude<Status, "SKIP"> = "OK";
  for (const s of statuses) if (s !== "SKIP" && RANK[s] > RANK[worst]) worst = s;
  return worst;
}

/** 0 every check OK (or skipped), 1 some WARN, 2 some DOWN. */
export function exitCodeOf(status: Exclude<Status, "SKIP">): 0 | 1 | 2 {
  return RANK[status] as 0 | 1 | 2;
}

export function buildReport(checks: CheckResult[], startedAt: Date, durationMs: number): MonitorReport {
  const status = worstStatus(checks.map((c) => c.status));
  return {
    status,
    exitCode: exitCodeOf(status),
    checkedAt: startedAt.toISOString(),
    durationMs: Math.round(durationMs),
    checks,
  };
}

export interface Readiness {
  ready: boolean;
  /** Critical checks that keep the pipeline from working. */
  failing: { name: string; status: Status; reason: string }[];
}

/**
 * Ready when every critical dependency answers and can be used: none DOWN, none blocking (a topic,
 * index or bucket missing). A plain WARN (a yellow cluster, disk filling, memory high) keeps it
 * ready: the data still flows, and an orchestrator acting on it would only make things flap.
 */
export function readiness(report: MonitorReport): Readiness {
  const failing = report.checks
    .filter((c) => c.critical && (c.status === "DOWN" || (c.status === "WARN" && c.blocking === true)))
    .map((c) => ({ name: c.name, status: c.status, reason: c.reason }));
  return { ready: failing.length === 0, failing };
}

/** Compares two rounds: the checks whose status changed (for `--watch` off a TTY). */
export function statusChanges(
  before: MonitorReport | undefined,
  after: MonitorReport,
): { check: CheckResult; from: Status | undefined }[] {
  const previous = new Map(before?.checks.map((c) => [c.name, c.status]) ?? []);
  return after.checks
    .filter((c) => previous.get(c.name) !== c.status)
    .map((c) => ({ check: c, from: previous.get(c.name) }));
}
