import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../core/config/index.ts";
import type { CaplineEvent } from "../core/schema/events.ts";
import { CsvParser, type CsvRecord, RowValidator, resolveHeader } from "../ingestion/index.ts";
import { Pipeline } from "./test/harness.ts";

/**
 * Issue 13's acceptance, through the real commands: one file ingested, a re-export that overlaps it
 * (all its rows and one more, under another name), the file again with --force, and its first half
 * through stdin; then `capline process`. Every profile, daily and hourly aggregate and both lake
 * stores equal one clean ingest of the re-export (the reference is computed from its rows by the
 * ingest's own validator), the
 * summary counts every repeat as a duplicate, and a kill -9 of the process in the middle of the
 * work changes nothing.
 */

const BIN = join(PROJECT_ROOT, "bin", "capline.mjs");

function cli(
  args: string[],
  env: Record<string, string>,
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env, LOG_LEVEL: "warn" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(input ?? "");
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The file's events as the ingest's validator makes them: the reference of one clean ingest. */
function eventsOf(file: string): CaplineEvent[] {
  const parser = new CsvParser();
  let validator: RowValidator | undefined;
  const events: CaplineEvent[] = [];
  const handle = (record: CsvRecord) => {
    if (!validator) {
      const columns = resolveHeader(record.fields, file);
      parser.setExpectedFields(columns.columns);
      validator = new RowValidator(columns, file);
      return;
    }
    const outcome = validator.process(record);
    if (outcome.kind === "event") events.push(outcome.event);
  };
  for (const record of parser.push(readFileSync(file, "utf8"))) handle(record);
  for (const record of parser.end()) handle(record);
  return events;
}

for (const killed of [false, true])
  describe(`the same events by four paths count once${killed ? ", with a kill -9 mid-run" : ""}`, () => {
    const pipeline = new Pipeline({ hdfs: true });
    const dir = mkdtempSync(join(tmpdir(), "capline-dedup-"));
    const file = join(dir, "export.csv");
    let events: CaplineEvent[] = [];
    let half = 0;
    let fileEvents = 0;

    beforeAll(async () => {
      await pipeline.setup();
      const env = pipeline.env;
      const generated = await cli(
        ["generate", "--out", file, "--events", "3000", "--days", "4", "--seed", killed ? "8" : "7"],
        env,
      );
      expect(generated.code, generated.stderr).toBe(0);
      // The re-export: every row of the file, and one row of another day.
      const extra = join(dir, "extra.csv");
      const one = await cli(
        ["generate", "--out", extra, "--events", "1", "--start-date", "2020-01-01", "--seed", "3"],
        env,
      );
      expect(one.code, one.stderr).toBe(0);
      const reexport = join(dir, "re-export.csv");
      const text = readFileSync(file, "utf8").replace(/\n?$/, "\n");
      writeFileSync(reexport, text + readFileSync(extra, "utf8").split("\n").slice(1).join("\n"));
      events = eventsOf(reexport);
      fileEvents = eventsOf(file).length;
      const lines = text.trimEnd().split("\n");
      const firstHalf = lines.slice(0, 1 + Math.floor((lines.length - 1) / 2));
      half = eventsOf(writeHalf(dir, firstHalf.join("\n"))).length;
      for (const args of [
        ["ingest", file],
        ["ingest", reexport],
        ["ingest", file, "--force"],
      ]) {
        const run = await cli([...args, "--json"], env);
        expect(run.code, run.stderr).toBe(0);
      }
      const stdin = await cli(["ingest", "-", "--json"], env, `${firstHalf.join("\n")}\n`);
      expect(stdin.code, stdin.stderr).toBe(0);
    }, 240_000);
    afterAll(async () => {
      await pipeline.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    it("profiles, aggregates and both lake stores equal one clean ingest; the repeats are duplicates", async () => {
      expect(events.length).toBe(fileEvents + 1);
      expect(fileEvents).toBeGreaterThan(2500);
      expect(half).toBeGreaterThan(1000);
      if (killed) {
        // The first ranges through, then kill -9 at once (on a quiet machine a few seconds are
        // enough for the whole topic): the next run takes over from the commits.
        const child = pipeline.spawn(["--range-size", "300", "--json"]);
        await pipeline.waitForDispatcher(60_000);
        await pipeline.waitForCommits(120_000);
        child.kill("SIGKILL");
        await new Promise((resolve) => child.once("exit", resolve));
      }
      const run = await pipeline.run(["--until-idle", "--json", "--range-size", "500"]);
      expect(run.code, run.stderr).toBe(0);
      const summary = JSON.parse(run.stdout) as { dispatcher: { events: number; duplicates: number } };
      await pipeline.verify(events);
      if (!killed) {
        // A clean run sees every message once: the re-export's events are new, and the file twice
        // more (in the re-export and with --force) and its half are duplicates.
        expect(summary.dispatcher.events).toBe(events.length);
        expect(summary.dispatcher.duplicates).toBe(2 * fileEvents + half);
      } else {
        // After the kill, this run replays what was not committed: its counts cover at least the rest.
        expect(summary.dispatcher.events + summary.dispatcher.duplicates).toBeGreaterThan(0);
      }
    }, 400_000);
  });

function writeHalf(dir: string, text: string): string {
  const path = join(dir, "first-half.csv");
  writeFileSync(path, `${text}\n`);
  return path;
}
