import type { WebHdfsClient } from "../core/clients/webhdfs.ts";
import type { SetupItem } from "./report.ts";

/** Creates the lake's HDFS root folder when it is missing. */
export async function ensureHdfsRoot(hdfs: WebHdfsClient, root: string): Promise<SetupItem> {
  const base = { store: "HDFS", kind: "hdfs-root", name: root } as const;
  const status = await hdfs.stat(root);
  if (status?.type === "DIRECTORY") return { ...base, status: "unchanged", differences: [] };
  if (status)
    return { ...base, status: "differs", differences: [`is a ${status.type}, expected a DIRECTORY`] };
  await hdfs.mkdirs(root);
  return { ...base, status: "created", differences: [] };
}

export interface HdfsCounts {
  exists: boolean;
  files: number;
  folders: number;
  bytes: number;
}

/** Files and folders below the root (the root itself not counted). */
export async function countHdfs(hdfs: WebHdfsClient, root: string): Promise<HdfsCounts> {
  const status = await hdfs.stat(root);
  if (!status) return { exists: false, files: 0, folders: 0, bytes: 0 };
  const summary = await hdfs.contentSummary(root);
  const isDir = status.type === "DIRECTORY";
  return {
    exists: true,
    files: summary.fileCount,
    folders: isDir ? summary.directoryCount - 1 : summary.directoryCount,
    bytes: summary.length,
  };
}

/** Deletes everything below the root; the root folder stays (its owner and permissions too). */
export async function emptyHdfsRoot(hdfs: WebHdfsClient, root: string): Promise<number> {
  const status = await hdfs.stat(root);
  if (status?.type !== "DIRECTORY") return 0;
  const entries = await hdfs.listStatus(root);
  const base = root === "/" ? "" : root;
  for (const entry of entries) await hdfs.delete(`${base}/${entry.pathSuffix}`, { recursive: true });
  return entries.length;
}
