import type { Config, MonitorThresholds } from "../core/config/index.ts";
import { UsageError } from "../core/errors.ts";
import { CHECK_NAMES, type CheckName } from "./types.ts";

/** How one round of checks runs: configuration (MONITOR_*) with command-line flags on top. */
export interface MonitorOptions {
  /** Time limit of each check. @defaultValue MONITOR_TIMEOUT_MS (5000) */
  timeoutMs: number;
  /** @defaultValue MONITOR_KIBANA (optional) */
  kibana: "optional" | "required" | "off";
  /** Checks that do not run (reported as SKIP), with the reason shown in their row. */
  skip: ReadonlyMap<CheckName, string>;
  thresholds: MonitorThresholds;
}

export interface MonitorFlags {
  timeout?: number;
  skip?: string;
  only?: string;
  kibana?: string;
  lagWarn?: number;
  stallSeconds?: number;
}

/** Parses "kibana,hdfs" into check names; an unknown name is a usage error naming `source`. */
export function parseCheckList(raw: string, source: string): CheckName[] {
  const names = raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const unknown = names.filter((n) => !(CHECK_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0)
    throw new UsageError(
      `${source}: unknown check ${unknown.map((u) => `"${u}"`).join(", ")}; the checks are ${CHECK_NAMES.join(", ")}`,
    );
  return names as CheckName[];
}

const KIBANA_MODES = ["optional", "required", "off"] as const;

export function monitorOptions(config: Config, flags: MonitorFlags = {}): MonitorOptions {
  const skip = new Map<CheckName, string>();
  for (const n of parseCheckList(config.monitor.skip.join(","), "MONITOR_SKIP"))
    skip.set(n, "left out by MONITOR_SKIP");
  if (flags.skip !== undefined)
    for (const n of parseCheckList(flags.skip, "--skip")) skip.set(n, "left out by --skip");
  if (flags.only !== undefined) {
    const only = new Set(parseCheckList(flags.only, "--only"));
    for (const n of CHECK_NAMES) if (!only.has(n)) skip.set(n, "left out by --only");
  }
  let kibana = config.monitor.kibana;
  if (flags.kibana !== undefined) {
    if (!(KIBANA_MODES as readonly string[]).includes(flags.kibana))
      throw new UsageError(`--kibana: "${flags.kibana}" is not valid; expected ${KIBANA_MODES.join(" | ")}`);
    kibana = flags.kibana as MonitorOptions["kibana"];
  }
  if (kibana === "off" && !skip.has("kibana"))
    skip.set(
      "kibana",
      flags.kibana === "off" ? "left out by --kibana off" : "left out by MONITOR_KIBANA=off",
    );
  // Archive stores switched off are not part of the deployment: not checked, not critical.
  if (!config.archive.hdfs && !skip.has("hdfs")) skip.set("hdfs", "not used (ARCHIVE_HDFS=false)");
  if (!config.archive.minio && !skip.has("minio")) skip.set("minio", "not used (ARCHIVE_MINIO=false)");
  return {
    timeoutMs: flags.timeout ?? config.monitor.timeoutMs,
    kibana,
    skip,
    thresholds: {
      ...config.monitor.thresholds,
      ...(flags.lagWarn !== undefined ? { lagWarn: flags.lagWarn } : {}),
      ...(flags.stallSeconds !== undefined ? { stallSeconds: flags.stallSeconds } : {}),
    },
  };
}
