import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CLI } from "../test/support/cli.ts";

/**
 * bin/capline.mjs switches msgpackr's native string extraction off before anything loads msgpackr
 * (its strings pinned each payload's whole block: BENCHMARKS.md, "msgpackr's string extraction").
 * A preloaded module asks msgpackr, as the process exits, whether it extracts natively: the
 * launcher's `--version` loads nothing of the CLI, so that is msgpackr's first load, after the
 * launcher ran.
 */
const PROBE = [
  `import { createRequire } from "node:module";`,
  `const require = createRequire(${JSON.stringify(CLI)});`,
  `process.on("exit", () => {`,
  `  const { isNativeAccelerationEnabled } = require("msgpackr");`,
  `  process.stdout.write("native=" + isNativeAccelerationEnabled + "\\n");`,
  `});`,
].join("\n");

function nativeExtraction(args: string[], env: NodeJS.ProcessEnv = {}): string {
  const base = { ...process.env };
  delete base.MSGPACKR_NATIVE_ACCELERATION_DISABLED;
  const run = spawnSync(
    process.execPath,
    ["--import", `data:text/javascript,${encodeURIComponent(PROBE)}`, ...args],
    { env: { ...base, ...env }, encoding: "utf8" },
  );
  expect(run.status, run.stderr).toBe(0);
  return /native=(\w+)/.exec(run.stdout)?.[1] ?? `no answer in: ${run.stdout}`;
}

describe("the capline launcher", () => {
  it("runs msgpackr without its native string extraction, unless the user says otherwise", () => {
    // The native extractor is installed (msgpackr-extract): a plain node process uses it.
    expect(nativeExtraction(["-e", ""])).toBe("true");
    expect(nativeExtraction([CLI, "--version"])).toBe("false");
    expect(nativeExtraction([CLI, "--version"], { MSGPACKR_NATIVE_ACCELERATION_DISABLED: "false" })).toBe(
      "true",
    );
  });

  it("gives `capline process` V8's heap settings of its own, in the same process, unless the user set them", () => {
    const probe = [
      `process.on("exit", () => {`,
      `  process.stdout.write("pid=" + process.pid + " flags=" + JSON.stringify(process.execArgv.filter((a) => a.startsWith("--max-"))) + "\\n");`,
      `});`,
    ].join("\n");
    const run = (args: string[], nodeArgs: string[] = [], env: NodeJS.ProcessEnv = {}) => {
      const child = spawnSync(
        process.execPath,
        [...nodeArgs, "--import", `data:text/javascript,${encodeURIComponent(probe)}`, CLI, ...args],
        { env: { ...process.env, NODE_OPTIONS: "", ...env }, encoding: "utf8" },
      );
      expect(child.status, child.stderr).toBe(0);
      const answer = /pid=(\d+) flags=(.*)/.exec(child.stdout);
      // The pid the parent started is the one that ran the command: replaced, not a child.
      expect(Number(answer?.[1]), child.stdout).toBe(child.pid);
      return JSON.parse(answer?.[2] ?? "null") as string[];
    };
    expect(run(["process", "--help"])).toEqual(["--max-old-space-size=1536", "--max-semi-space-size=32"]);
    // Other commands start with V8's defaults.
    expect(run(["--version"])).toEqual([]);
    expect(run(["report", "--help"])).toEqual([]);
    // A user's own setting wins, on the command line or in NODE_OPTIONS; the other is still added.
    expect(run(["process", "--help"], ["--max-old-space-size=3000"])).toEqual([
      "--max-semi-space-size=32",
      "--max-old-space-size=3000",
    ]);
    expect(run(["process", "--help"], [], { NODE_OPTIONS: "--max-semi-space-size=8" })).toEqual([
      "--max-old-space-size=1536",
    ]);
  });
});
