import { parseLakeKey } from "../../core/names.ts";
import type { CompactStore } from "../compact.ts";
import { decodeParquet, encodeParquet } from "../parquet.ts";
import { retry } from "../retry.ts";
import type { ForgottenRow } from "./plan.ts";

/**
 * The lake side of `capline forget` (docs/forget.md, "The lake"): find the forgotten customers'
 * rows, and rewrite each file that holds some without them, under the same name, atomically (an
 * S3 PUT; in HDFS a hidden temporary name renamed over the file), in every store.
 *
 * Names stay: a file `<p>+<a>-<b>` still holds every row of its partition and day with an offset in
 * [a, b] except the forgotten ones, which the forget list keeps out of every later write, so the
 * archive job's covering rule and compaction's merge of consecutive files stay true. A file left
 * with no row is kept as a Parquet file of zero rows (its interval still claims its offsets).
 */

export type Days = readonly string[] | "all";

export interface LakeErased {
  store: string;
  /** Files read. */
  scanned: number;
  /** Files rewritten without the customers' rows. */
  files: number;
  /** Rows taken out. */
  rows: number;
}

async function daysOf(store: CompactStore, days: Days): Promise<string[]> {
  if (days !== "all") return [...days];
  return retry(() => store.days());
}

/** Files read so far and in all (listed first), for a progress bar. */
export type LakeProgress = (store: string, done: number, total: number) => void;

/** Every lake file of the days given, one at a time, with its rows. */
async function* lakeFiles(
  store: CompactStore,
  days: Days,
  onProgress?: LakeProgress,
): AsyncGenerator<{ key: string; partition: number; rows: Awaited<ReturnType<typeof decodeParquet>> }> {
  const files: Array<{ key: string; partition: number }> = [];
  for (const dt of await daysOf(store, days))
    for (const file of await retry(() => store.list(dt))) {
      const parsed = parseLakeKey(file.key);
      if (parsed) files.push({ key: file.key, partition: parsed.partition });
    }
  onProgress?.(store.name, 0, files.length);
  for (const [i, file] of files.entries()) {
    const bytes = await retry(() => store.get(file.key));
    yield { ...file, rows: await decodeParquet(bytes) };
    onProgress?.(store.name, i + 1, files.length);
  }
}

/**
 * The forgotten customers' rows in one store (the aggregates' plan reads them before any change),
 * the days holding them, and what erasing them would rewrite.
 */
export async function findInLake(
  store: CompactStore,
  days: Days,
  isForgotten: (userId: string) => boolean,
  onProgress?: LakeProgress,
): Promise<{ rows: ForgottenRow[]; days: Set<string>; erased: LakeErased }> {
  const rows: ForgottenRow[] = [];
  const found = new Set<string>();
  const erased: LakeErased = { store: store.name, scanned: 0, files: 0, rows: 0 };
  for await (const file of lakeFiles(store, days, onProgress)) {
    erased.scanned++;
    let inFile = 0;
    for (const r of file.rows)
      if (isForgotten(r.event.user_id)) {
        rows.push({ partition: r.partition, offset: r.offset, event: r.event });
        inFile++;
      }
    if (inFile === 0) continue;
    erased.files++;
    erased.rows += inFile;
    found.add(parseLakeKey(file.key)?.dt ?? "");
  }
  found.delete("");
  return { rows, days: found, erased };
}

/** Rewrites every file of the days given that holds a forgotten customer's row, without it. */
export async function eraseFromLake(
  store: CompactStore,
  days: Days,
  isForgotten: (userId: string) => boolean,
  onFile?: (key: string, removed: number) => void,
  onProgress?: LakeProgress,
): Promise<LakeErased> {
  const out: LakeErased = { store: store.name, scanned: 0, files: 0, rows: 0 };
  for await (const file of lakeFiles(store, days, onProgress)) {
    out.scanned++;
    const kept = file.rows.filter((r) => !isForgotten(r.event.user_id));
    const removed = file.rows.length - kept.length;
    if (removed === 0) continue;
    // The same encoder as the archive job: the rewritten file is like any other lake file.
    const bytes = await encodeParquet(file.partition, kept);
    await retry(() => store.put(file.key, bytes));
    out.files++;
    out.rows += removed;
    onFile?.(file.key, removed);
  }
  return out;
}
