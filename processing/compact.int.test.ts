import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateEvents, rng } from "./test/events.ts";
import { Pipeline } from "./test/harness.ts";
import { coveredFiles, type FullRow, readAllRows } from "./test/lake-rows.ts";
import { produceEvents } from "./test/produce.ts";
import { hdfsFiles, minioFiles } from "./test/stores.ts";

/**
 * `capline compact` against the real stores: the lake of a `process` run with small ranges (many
 * small files per day and partition) is compacted; every row of every column is still there once,
 * in MinIO and in HDFS, compared row for row with the content before (DuckDB). Compaction children
 * are killed with SIGKILL at random moments after they started publishing: after each kill the lake
 * holds every row (read with the covering rule: exactly once), and a rerun finishes the job. A rerun
 * on a compacted lake changes nothing, and a full replay from offset 0 archives nothing again.
 */

const BIN = join(dirname(fileURLToPath(import.meta.url)), "..", "bin", "capline.mjs");

describe("capline compact", () => {
  const pipeline = new Pipeline({ hdfs: true });
  const events = generateEvents(5000, 31, 150, 5);
  const before = new Map<string, FullRow[]>();
  const initial = new Map<string, number>();

  const lakes = async () => ({
    minio: await minioFiles(pipeline.minio, pipeline.name),
    hdfs: await hdfsFiles(pipeline.hdfs, `/${pipeline.name}`),
  });

  const compact = (args: string[], onPublished?: () => void) => {
    const child = spawn(process.execPath, [BIN, "compact", ...args], {
      env: { ...process.env, ...pipeline.env, LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += String(d);
    });
    child.stderr.on("data", (d) => {
      stderr += String(d);
      if (onPublished && stderr.includes("merged file published")) {
        const f = onPublished;
        onPublished = undefined;
        f();
      }
    });
    const exit = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
      (resolve) => child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr })),
    );
    return { child, exit };
  };

  beforeAll(async () => {
    await pipeline.setup();
    await produceEvents(pipeline.kafka, pipeline.name, 3, events, { batch: 500 });
    const run = await pipeline.run(["--until-idle", "--json", "--range-size", "150"]);
    expect(run.code, run.stderr).toBe(0);
    const files = await lakes();
    for (const [store, f] of Object.entries(files)) {
      // Many small files per day and partition: something to compact.
      expect(f.size, store).toBeGreaterThan(60);
      const rows = await readAllRows(f);
      expect(rows).toHaveLength(events.length);
      before.set(store, rows);
      initial.set(store, f.size);
    }
  });
  afterAll(() => pipeline.cleanup());

  it("kill -9 at random moments: every row always there; with the covering rule exactly once; a rerun finishes", async () => {
    const rand = rng(99);
    let intermediate = 0;
    let finished = false;
    for (let attempt = 0; attempt < 8 && !finished; attempt++) {
      const { child, exit } = compact(["--json"], () => {
        setTimeout(() => child.kill("SIGKILL"), rand() * 2500);
      });
      const result = await exit;
      if (result.code === 0) {
        finished = true;
        break;
      }
      expect(result.signal, result.stderr).toBe("SIGKILL");
      const files = await lakes();
      for (const [store, f] of Object.entries(files)) {
        const want = before.get(store) ?? [];
        const all = await readAllRows(f);
        // A plain reader may see rows twice for a moment (merged file published, inputs not yet
        // deleted), never a row missing; and a duplicated row is always in a covered file.
        expect(new Set(all.map((r) => r.json))).toEqual(new Set(want.map((r) => r.json)));
        const covered = coveredFiles(f.keys());
        const exact = all.filter((r) => !covered.has(r.file));
        expect(exact.map((r) => r.json)).toEqual(want.map((r) => r.json));
        // Half done: leftovers of a merge, or some merges done and others not.
        if (covered.size > 0 || (f.size < (initial.get(store) ?? 0) && f.size > 15)) intermediate++;
      }
    }
    expect(intermediate, "at least one kill hit a compaction half done").toBeGreaterThan(0);
    const run = await compact(["--json"]).exit;
    expect(run.code, run.stderr).toBe(0);
    const files = await lakes();
    for (const [store, f] of Object.entries(files)) {
      // One file per day and partition: 5 days × 3 partitions at most.
      expect(f.size, store).toBeLessThanOrEqual(15);
      expect(coveredFiles(f.keys()).size).toBe(0);
      const rows = await readAllRows(f);
      expect(rows.map((r) => r.json)).toEqual((before.get(store) ?? []).map((r) => r.json));
    }
    await pipeline.verify(events);
  });

  it("is idempotent: a second run merges nothing and leaves the same files", async () => {
    const names = async () => {
      const f = await lakes();
      return { minio: [...f.minio.keys()].sort(), hdfs: [...f.hdfs.keys()].sort() };
    };
    const was = await names();
    const run = await compact(["--json"]).exit;
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { days: Array<{ merged: unknown[]; leftovers_removed: number }> };
    expect(out.days.length).toBe(10);
    for (const d of out.days)
      expect({ merged: d.merged.length, leftovers: d.leftovers_removed }).toEqual({
        merged: 0,
        leftovers: 0,
      });
    expect(await names()).toEqual(was);
  });

  it("the archive understands merged files: a full replay from offset 0, cut differently, writes nothing twice", async () => {
    await pipeline.forgetProgress();
    const files = await lakes();
    const run = await pipeline.run(["--until-idle", "--json", "--range-size", "333"]);
    expect(run.code, run.stderr).toBe(0);
    const after = await lakes();
    expect([...after.minio.keys()].sort()).toEqual([...files.minio.keys()].sort());
    expect([...after.hdfs.keys()].sort()).toEqual([...files.hdfs.keys()].sort());
    await pipeline.verify(events);
  });

  it("a bad --date is a usage error naming the flag", async () => {
    const bad = await compact(["--date", "2019-13-45"]).exit;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--date/);
  });
});
