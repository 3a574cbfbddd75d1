import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Builds and runs `compose-validate` (main.go beside this file): compose-go, the library
 * `docker compose` uses to load files, checks Compose files against the Compose Specification's
 * JSON schema and its consistency rules where no Docker engine runs. The binary is cached outside
 * the repository, keyed by a hash of the Go sources and the Go version, so only the first run pays
 * for the build (a minute or two while the Go module proxy is read).
 */

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(HERE, "..", "..");
const SOURCES = ["go.mod", "go.sum", "main.go"];

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function goEnv(): NodeJS.ProcessEnv {
  // -mod=mod lets the build record missing go.sum lines instead of stopping; -buildvcs=false
  // because stamping VCS data fails in checkouts owned by another user and is useless here.
  return { ...process.env, GOFLAGS: "-mod=mod -buildvcs=false", CGO_ENABLED: "0" };
}

function goVersion(): string {
  const result = spawnSync("go", ["env", "GOVERSION"], { encoding: "utf8", env: goEnv() });
  if (result.error || result.status !== 0) {
    throw new Error(
      `the Go toolchain is needed to build the Compose validator (test/compose): \`go env GOVERSION\` failed: ${
        result.error?.message ?? result.stderr.trim()
      }. Install Go (https://go.dev/dl) and put \`go\` on PATH.`,
    );
  }
  return result.stdout.trim();
}

function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env: goEnv(), timeout: timeoutMs });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/** Path of the cached validator binary, building it first if this version of the sources has none. */
export async function validatorBinary(cacheDir: string): Promise<string> {
  const hash = createHash("sha256");
  for (const name of SOURCES) {
    const path = join(HERE, name);
    hash
      .update(name)
      .update("\0")
      .update(existsSync(path) ? readFileSync(path) : "")
      .update("\0");
  }
  hash.update(goVersion()).update(process.platform).update(process.arch);
  const key = hash.digest("hex").slice(0, 16);
  const exe = process.platform === "win32" ? "compose-validate.exe" : "compose-validate";
  const binary = join(cacheDir, "compose-validate", key, exe);
  if (existsSync(binary)) return binary;

  mkdirSync(dirname(binary), { recursive: true });
  // Build under a unique name and rename: two test runs building at once never see half a file.
  const partial = `${binary}.${process.pid}.partial`;
  const result = await run("go", ["build", "-o", partial, "."], HERE, 9 * 60_000);
  if (result.code !== 0) {
    throw new Error(`building the Compose validator failed (go build in test/compose):\n${result.stderr}`);
  }
  renameSync(partial, binary);
  return binary;
}

/** Runs the validator; exit 0 with the normalized model as JSON, 1 with the loader's error. */
export function validate(binary: string, args: string[], cwd = REPO_ROOT): Promise<RunResult> {
  return run(binary, args, cwd, 60_000);
}
