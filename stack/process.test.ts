import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isAlive, processStartTime, readPidFile, run, startDetached, stopProcess } from "./process.ts";

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "capline-process-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("detached processes", () => {
  it("starts a process with a pid file and a log, and stops its whole group with SIGTERM", async () => {
    const dir = tempDir();
    const log = join(dir, "logs", "svc.log");
    const pidFile = join(dir, "run", "svc.json");
    // A shell that starts a grandchild, as the Elasticsearch wrapper script does.
    const started = startDetached(
      { command: "sh", args: ["-c", "echo started; sleep 300 & wait"], env: {}, cwd: dir },
      log,
      pidFile,
    );
    const record = readPidFile(pidFile);
    expect(record?.pid).toBe(started.record.pid);
    expect(isAlive(record)).toBe(true);
    for (let i = 0; i < 50 && !readFileSync(log, "utf8").includes("started"); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(readFileSync(log, "utf8")).toContain("started");
    const outcome = await stopProcess(started.record, pidFile, 5_000);
    expect(outcome).toBe("stopped");
    expect(isAlive(started.record)).toBe(false);
    expect(readPidFile(pidFile)).toBeUndefined();
    expect(() => process.kill(-started.record.pid, 0)).toThrow();
  });

  it("kills a process that ignores SIGTERM after the grace period", async () => {
    const dir = tempDir();
    const pidFile = join(dir, "svc.json");
    const started = startDetached(
      { command: "sh", args: ["-c", "trap '' TERM; while true; do sleep 0.1; done"], env: {}, cwd: dir },
      join(dir, "svc.log"),
      pidFile,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(await stopProcess(started.record, pidFile, 500)).toBe("killed");
    expect(isAlive(started.record)).toBe(false);
  });

  it("does not mistake a reused pid for the service", () => {
    const self = {
      pid: process.pid,
      startedAt: "",
      command: "node",
      procStart: processStartTime(process.pid),
    };
    expect(isAlive(self)).toBe(true);
    expect(isAlive({ ...self, procStart: "1" })).toBe(false);
    expect(isAlive(undefined)).toBe(false);
  });
});

describe("run", () => {
  it("returns the output, or rejects with its tail and exit code", async () => {
    expect(await run("sh", ["-c", "echo out; echo err >&2"])).toContain("out");
    await expect(run("sh", ["-c", "echo broken >&2; exit 3"])).rejects.toThrow(/exit code 3[\s\S]*broken/);
  });
});
