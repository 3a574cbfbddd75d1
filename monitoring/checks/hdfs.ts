import type { CheckOutcome, Sample } from "../types.ts";
import { type CheckContext, httpGet, parseJson } from "./context.ts";

interface FsState {
  NumLiveDataNodes?: number;
  NumDeadDataNodes?: number;
  CapacityTotal?: number;
  CapacityUsed?: number;
  CapacityRemaining?: number;
  FSState?: string;
}

interface NameNodeInfo {
  Safemode?: string;
  Version?: string;
}

async function bean<T>(ctx: CheckContext, name: string): Promise<T> {
  const base = ctx.config.hdfs.webhdfsUrl.replace(/\/$/, "");
  const answer = await httpGet(`${base}/jmx?qry=Hadoop:service=NameNode,name=${name}`, ctx);
  if (answer.status !== 200) throw new Error(`NameNode /jmx (${name}) answered HTTP ${answer.status}`);
  const first = parseJson<{ beans?: T[] }>(answer, "NameNode /jmx").beans?.[0];
  if (!first) throw new Error(`NameNode /jmx has no ${name} bean`);
  return first;
}

export function gigabytes(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

/** NameNode JMX: live DataNodes, safe mode, capacity used; and the lake root in WebHDFS. */
export async function checkHdfs(ctx: CheckContext): Promise<CheckOutcome> {
  const [state, info] = await Promise.all([
    bean<FsState>(ctx, "FSNamesystemState"),
    bean<NameNodeInfo>(ctx, "NameNodeInfo"),
  ]);
  const live = state.NumLiveDataNodes ?? 0;
  const dead = state.NumDeadDataNodes ?? 0;
  const total = state.CapacityTotal ?? 0;
  const used = state.CapacityUsed ?? 0;
  const usedRatio = total > 0 ? used / total : 0;
  const samples: Sample[] = [
    { metric: "hdfs_live_datanodes", value: live },
    { metric: "hdfs_capacity_used_ratio", value: usedRatio },
  ];
  const safeMode = (info.Safemode ?? "").trim() !== "" || state.FSState === "safeMode";
  const details = {
    liveDataNodes: live,
    deadDataNodes: dead,
    capacityTotal: total,
    capacityUsed: used,
    capacityRemaining: state.CapacityRemaining,
    safeMode,
    version: info.Version,
  };
  if (live < 1)
    return {
      status: "DOWN",
      reason: `no live DataNode (${dead} dead): nothing can be written`,
      details,
      samples,
    };
  if (safeMode)
    return {
      status: "DOWN",
      reason: `NameNode in safe mode, writes refused: ${(info.Safemode ?? "").split(".")[0] || "safeMode"}`,
      details,
      samples,
    };
  const root = ctx.config.hdfs.root;
  const base = ctx.config.hdfs.webhdfsUrl.replace(/\/$/, "");
  const status = await httpGet(
    `${base}/webhdfs/v1${root}?op=GETFILESTATUS&user.name=${encodeURIComponent(ctx.config.hdfs.user)}`,
    ctx,
  );
  const nodes = `${live} DataNode${live === 1 ? "" : "s"} live${dead > 0 ? `, ${dead} dead` : ""}`;
  const capacity = `${(usedRatio * 100).toFixed(1)}% of ${gigabytes(total)} used`;
  if (status.status === 404)
    return {
      status: "WARN",
      blocking: true,
      reason: `${nodes}; lake root ${root} missing: run \`capline setup\``,
      details,
      samples,
    };
  if (status.status !== 200) throw new Error(`WebHDFS GETFILESTATUS ${root} answered HTTP ${status.status}`);
  const limit = ctx.options.thresholds.hdfsUsedWarnPercent;
  if (usedRatio * 100 > limit)
    return {
      status: "WARN",
      reason: `${nodes}; ${capacity}, above MONITOR_HDFS_USED_WARN_PERCENT=${limit}`,
      details,
      samples,
    };
  if (dead > 0) return { status: "WARN", reason: `${nodes}; ${capacity}`, details, samples };
  return {
    status: "OK",
    reason: `${nodes}, not in safe mode; ${capacity}; ${root} present`,
    details,
    samples,
  };
}
