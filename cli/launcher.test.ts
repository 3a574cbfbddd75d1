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
});
