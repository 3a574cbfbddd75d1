import { spawn } from "node:child_process";
import { join } from "node:path";
import { PROJECT_ROOT } from "../../core/config/index.ts";

/** The compiled CLI, as a user runs it (`npm test` builds dist/ first). */
export const CLI = join(PROJECT_ROOT, "bin", "capline.mjs");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time of the run, ms. */
  ms: number;
}

/**
 * Runs `capline ...args` to its end with `env` over the test's environment; killed (and the
 * result's code null) after `timeoutMs`, so a command that hangs fails its test instead of the run.
 */
export function runCapline(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 120_000,
): Promise<CliResult> {
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (b: Buffer) => {
    stdout += b.toString();
  });
  child.stderr.on("data", (b: Buffer) => {
    stderr += b.toString();
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    }),
  );
}
