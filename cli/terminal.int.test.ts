import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../core/config/index.ts";
import { ExitCode } from "../core/exit-codes.ts";
import { runSetup, setupTargets } from "../setup/index.ts";
import { randomEnv, removeAll, runCli, servicesFor } from "../setup/test/fixtures.ts";
import { testConfig } from "../test/support/index.ts";
import { screenRows } from "../test/support/terminal.ts";

/**
 * `capline process` on a real pseudo-terminal (util-linux `script`), with info logs on: every row
 * the terminal shows is either a readable log line or the progress bar, never both, and the bar
 * moves before the first commit.
 */
describe("capline process on a terminal", () => {
  const env = { ...randomEnv("tty"), LOG_LEVEL: "info" };
  const config = testConfig(env);
  const services = servicesFor(env);
  const work = mkdtempSync(join(tmpdir(), "capline-tty-"));
  const sample = join(work, "sample.csv");
  let sent = 0;

  beforeAll(async () => {
    expect((await runSetup(services, setupTargets(config))).ok).toBe(true);
    const generated = await runCli(["generate", "--out", sample, "--events", "4000", "--seed", "3"], env);
    expect(generated.code, generated.stderr).toBe(ExitCode.OK);
    const ingested = await runCli(["ingest", sample, "--json"], env);
    expect(ingested.code, ingested.stderr).toBe(ExitCode.OK);
    sent = (JSON.parse(ingested.stdout) as { files: { sent: number }[] }).files[0]?.sent ?? 0;
    expect(sent).toBeGreaterThan(3_000);
  });

  afterAll(async () => {
    await removeAll(services, config);
    await services.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("prints log lines above the bar, in a readable form, and no log text inside it", async () => {
    const command = [
      process.execPath,
      join(PROJECT_ROOT, "bin", "capline.mjs"),
      "process",
      "--until-idle",
      "--range-size",
      "250",
    ]
      .map((a) => `'${a}'`)
      .join(" ");
    const raw = await new Promise<string>((resolve, reject) => {
      const child = spawn("script", ["-qec", command, "/dev/null"], {
        env: { ...process.env, ...env, COLUMNS: "150", LINES: "40" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.on("error", reject);
      child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${out}`))));
    });
    const rows = screenRows(raw).filter((r) => r.trim() !== "");
    const log = /^(TRACE|DEBUG|INFO|WARN|ERROR|FATAL) +\d\d:\d\d:\d\d [a-z-]+: /;
    const bar = /^process \(all\) /;
    // Every row is one or the other.
    for (const row of rows) expect(log.test(row) || bar.test(row), row).toBe(true);
    // No row mixes them: no log text after the bar's start, no bar inside a log line.
    for (const row of rows.filter((r) => bar.test(r)))
      expect(row, row).not.toMatch(/(INFO|WARN|ERROR) +\d\d:|\(node:\d+\)/);
    for (const row of rows.filter((r) => log.test(r))) expect(row, row).not.toContain("process (all) [");
    expect(rows.filter((r) => log.test(r)).length).toBeGreaterThan(0);
    // The last row is the summary, with its counts written for people.
    const n = sent.toLocaleString("en-US");
    const summary = `^process \\(all\\) finished: lag 0, queues empty; in [\\d.]+ s; dispatched ${n} events in \\d+ ranges, [\\d,]+ events/s; archived ${n}, indexed ${n} events$`;
    expect(rows.at(-1)).toMatch(new RegExp(summary));
    // The bar was drawn with a percentage before the end (then cleared for the summary).
    expect(raw).toMatch(/\rprocess \(all\) \[[#-]{20}\] +\d+%/);
  }, 300_000);
});
