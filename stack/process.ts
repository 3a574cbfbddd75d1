import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Launch } from "./render.ts";

/**
 * Detached child processes with pid files. A service started by the stack outlives the command
 * that started it (its own process group, output to a log file), and any later command finds it
 * again through its pid file.
 */

export interface PidRecord {
  pid: number;
  startedAt: string;
  command: string;
  /** The process's start time in clock ticks since boot (Linux /proc), to tell a reused pid apart. */
  procStart?: string;
}

/** Field 22 of /proc/<pid>/stat, or undefined where there is no /proc (or no such process). */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19];
  } catch {
    return undefined;
  }
}

export function readPidFile(file: string): PidRecord | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const record = JSON.parse(readFileSync(file, "utf8")) as PidRecord;
    return typeof record.pid === "number" && record.pid > 0 ? record : undefined;
  } catch {
    // A torn or foreign pid file is as good as none: the process is probed anyway.
    return undefined;
  }
}

/** Whether the process of a pid record still runs (and is the same program, not a reused pid). */
export function isAlive(record: PidRecord | undefined): boolean {
  if (!record) return false;
  try {
    process.kill(record.pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to another user (Elasticsearch runs as the service user).
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  if (!existsSync("/proc/self/stat")) return true;
  const stat = `/proc/${record.pid}/stat`;
  if (!existsSync(stat)) return false;
  // A zombie (state Z) has ended for our purposes; a different start time means a reused pid.
  let text: string;
  try {
    text = readFileSync(stat, "utf8");
  } catch {
    return false;
  }
  if (text.slice(text.lastIndexOf(")") + 2, text.lastIndexOf(")") + 3) === "Z") return false;
  return record.procStart === undefined || processStartTime(record.pid) === record.procStart;
}

export interface StartedProcess {
  child: ChildProcess;
  record: PidRecord;
  /** Resolves with the exit code or signal name when the process ends. */
  exited: Promise<string>;
}

/** Starts a detached process with stdout and stderr appended to `logFile`, and writes its pid file. */
export function startDetached(
  launch: Launch,
  logFile: string,
  pidFile: string,
  ids: { uid?: number; gid?: number } = {},
): StartedProcess {
  mkdirSync(dirname(logFile), { recursive: true });
  mkdirSync(dirname(pidFile), { recursive: true });
  const out = openSync(logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(launch.command, launch.args, {
      cwd: launch.cwd,
      env: { ...process.env, ...launch.env },
      detached: true,
      stdio: ["ignore", out, out],
      ...ids,
    });
  } finally {
    closeSync(out);
  }
  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code, signal) => resolve(signal ?? `exit code ${code}`));
    child.once("error", (error) => resolve(error.message));
  });
  child.unref();
  if (child.pid === undefined) {
    return {
      child,
      record: { pid: -1, startedAt: new Date().toISOString(), command: launch.command },
      exited,
    };
  }
  const record: PidRecord = {
    pid: child.pid,
    startedAt: new Date().toISOString(),
    command: launch.command,
    procStart: processStartTime(child.pid),
  };
  writeFileSync(pidFile, `${JSON.stringify(record)}\n`);
  return { child, record, exited };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // The child leads its own process group: this reaches the JVMs that wrapper scripts start.
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Stops a process group: SIGTERM, then SIGKILL after `graceMs`. Returns how it ended.
 * Removes the pid file once the group is gone.
 */
export async function stopProcess(
  record: PidRecord,
  pidFile: string,
  graceMs = 30_000,
): Promise<"stopped" | "killed" | "not running"> {
  if (!isAlive(record) && !groupAlive(record.pid)) {
    rmSync(pidFile, { force: true });
    return "not running";
  }
  signalGroup(record.pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!groupAlive(record.pid)) {
      rmSync(pidFile, { force: true });
      return "stopped";
    }
    await sleep(200);
  }
  signalGroup(record.pid, "SIGKILL");
  for (let i = 0; i < 50 && groupAlive(record.pid); i++) await sleep(100);
  rmSync(pidFile, { force: true });
  return "killed";
}

/** Runs a command to completion, capturing its output; rejects with the output's tail on failure. */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill("SIGKILL"), options.timeoutMs).unref();
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else {
        const why = signal ? `killed by ${signal}` : `exit code ${code}`;
        reject(
          new Error(`${command} ${args.slice(0, 3).join(" ")}… failed (${why}):\n${output.slice(-3000)}`),
        );
      }
    });
  });
}
