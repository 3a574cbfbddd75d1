import { statusChanges } from "./status.ts";
import type { MonitorReport, Status } from "./types.ts";

/** Human renderings of a report: the table, and one line per status change (`--watch` off a TTY). */

const COLORS: Record<Status, string> = {
  OK: "\x1b[32m",
  WARN: "\x1b[33m",
  DOWN: "\x1b[31m",
  SKIP: "\x1b[2m",
};
const RESET = "\x1b[0m";

export interface RenderOptions {
  /** ANSI colors for the status column. @defaultValue false */
  color?: boolean;
}

function paint(status: Status, text: string, color: boolean): string {
  return color ? `${COLORS[status]}${text}${RESET}` : text;
}

/** The table: CHECK, STATUS, URL, REASON; then the verdict line and any hints. */
export function renderTable(report: MonitorReport, options: RenderOptions = {}): string {
  const color = options.color ?? false;
  const header = { name: "CHECK", status: "STATUS", url: "URL", reason: "REASON" };
  const rows = report.checks.map((c) => ({ name: c.name, status: c.status, url: c.url, reason: c.reason }));
  const width = (key: "name" | "status" | "url") =>
    Math.max(header[key].length, ...rows.map((r) => r[key].length));
  const [wName, wStatus, wUrl] = [width("name"), width("status"), width("url")];
  const line = (name: string, status: string, url: string, reason: string, s?: Status) =>
    `${name.padEnd(wName)}  ${s ? paint(s, status.padEnd(wStatus), color) : status.padEnd(wStatus)}  ${url.padEnd(wUrl)}  ${reason}`.trimEnd();
  const out = [line(header.name, header.status, header.url, header.reason)];
  for (const r of rows) out.push(line(r.name, r.status, r.url, r.reason, r.status));
  const counted = report.checks.filter((c) => c.status !== "SKIP").length;
  out.push(
    "",
    `${paint(report.status, report.status, color)}: ${counted} checks (${report.checks.length - counted} skipped) in ${report.durationMs} ms at ${report.checkedAt}; exit ${report.exitCode}`,
  );
  const hints = report.checks.filter((c) => c.status === "DOWN" && c.hint);
  for (const c of hints) out.push(`hint (${c.name}): ${c.hint}`);
  return out.join("\n");
}

/** Lines for the checks whose status changed since `before` (all of them on the first round). */
export function renderChanges(before: MonitorReport | undefined, after: MonitorReport): string[] {
  return statusChanges(before, after).map(
    ({ check, from }) =>
      `${after.checkedAt} ${check.name} ${from ? `${from} -> ` : ""}${check.status}: ${check.reason}${check.status === "SKIP" ? "" : ` (${check.url})`}`,
  );
}
