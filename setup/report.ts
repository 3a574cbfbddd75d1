import { count, num } from "../core/text.ts";
/**
 * What `capline setup` did, item by item, and how it is shown: one line per item for people,
 * the same structure as JSON for scripts.
 */

export type Store = "Kafka" | "Elasticsearch" | "MinIO" | "HDFS" | "Redis";
/** `migrated`: brought up to the current contract in place (index contract v2 of the sales indices). */
export type ItemStatus = "created" | "unchanged" | "migrated" | "differs";
export type ItemKind = "topic" | "index-template" | "index" | "alias" | "bucket" | "hdfs-root";

export interface SetupItem {
  store: Store;
  kind: ItemKind;
  name: string;
  status: ItemStatus;
  /** For `differs`: one line per difference (field path, expected vs found). */
  differences: string[];
  /** A short fact worth showing (partition count, the concrete index behind an alias...). */
  detail?: string;
}

export interface SetupReport {
  /** False when anything differs from what capline expects (exit code CONFLICT). */
  ok: boolean;
  /** Whether this run created anything. */
  changed: boolean;
  counts: Record<ItemStatus, number>;
  items: SetupItem[];
}

export function summarize(items: SetupItem[]): SetupReport {
  const counts: Record<ItemStatus, number> = { created: 0, unchanged: 0, migrated: 0, differs: 0 };
  for (const item of items) counts[item.status] += 1;
  return { ok: counts.differs === 0, changed: counts.created + counts.migrated > 0, counts, items };
}

const MARK: Record<ItemStatus, string> = { created: "+", unchanged: "=", migrated: "~", differs: "!" };

/** Rows of cells as lines, each column padded to its widest cell (the last one left as is). */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows)
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
}

/** The human form: a table of items, the differences under each, and a verdict line. */
export function renderSetupReport(report: SetupReport): string {
  const lines: string[] = [];
  const rows = report.items.map((item) => [
    MARK[item.status],
    item.store,
    item.kind,
    item.name,
    item.status,
    item.detail ? `(${item.detail})` : "",
  ]);
  const rendered = table(rows);
  report.items.forEach((item, i) => {
    lines.push(rendered[i] ?? "");
    for (const d of item.differences) lines.push(`      - ${d}`);
  });
  const { created, unchanged, migrated, differs } = report.counts;
  lines.push("");
  if (differs > 0)
    lines.push(
      `${count(differs, "item")} ${differs === 1 ? "differs" : "differ"} from what capline expects; nothing existing was changed. ` +
        "Fix them by hand, or change the configuration to match; an index can also be rebuilt empty with " +
        "the expected mapping by `capline reset` (which deletes all pipeline data).",
    );
  else if (created === 0 && migrated === 0)
    lines.push(`Everything was in place already (${count(unchanged, "item")}); nothing changed.`);
  else
    lines.push(
      `Created ${count(created, "item")}${migrated > 0 ? `, migrated ${num(migrated)} in place` : ""}; ${num(unchanged)} ${unchanged === 1 ? "was" : "were"} in place already.`,
    );
  return lines.join("\n");
}
