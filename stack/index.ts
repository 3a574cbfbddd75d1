import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { type Config, PROJECT_ROOT, publicUrl } from "../core/config/index.ts";
import { CaplineError } from "../core/errors.ts";
import { install } from "./install.ts";
import { missingPrerequisites, prerequisitesJson, realHost, renderPrerequisites } from "./prerequisites.ts";
import { probe } from "./probes.ts";
import { isAlive, type PidRecord, readPidFile, startDetached, stopProcess } from "./process.ts";
import { SERVICE_NAMES, type ServiceName, serviceUrl, tail } from "./render.ts";
import { PREPARERS, READY_TIMEOUT_MS, stackPaths } from "./services.ts";

/**
 * The local service stack: Kafka, Elasticsearch, MinIO, HDFS and Redis as real servers on
 * loopback (or whatever already answers at the configured URLs, or Docker Compose where a
 * Docker engine runs). See docs/stack.md.
 */

export { install as installStack } from "./install.ts";
export {
  aptInstall,
  aptUpdate,
  type Host,
  missingPrerequisites,
  type Prerequisite,
  packageInstaller,
  prerequisitesJson,
  realHost,
  renderPrerequisites,
} from "./prerequisites.ts";
export { parseServiceName, SERVICE_NAMES, type ServiceName } from "./render.ts";
export { stackPaths } from "./services.ts";

export type ServiceStateName =
  /** Started by the stack and answering. */
  | "up"
  /** Answering, but not started by the stack (Compose, a system service, another machine). */
  | "external"
  /** The stack's process runs but does not answer (yet). */
  | "unhealthy"
  /** Nothing answers. */
  | "down";

export interface ServiceState {
  name: ServiceName;
  state: ServiceStateName;
  url: string;
  /** The URL as a person opens it (Codespaces forwarded form). */
  publicUrl: string;
  pid: number | undefined;
  /** The probe's answer ("cluster green") or why it failed. */
  detail: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function ownProcess(config: Config, name: ServiceName): PidRecord | undefined {
  const record = readPidFile(stackPaths(config).pid(name));
  return isAlive(record) ? record : undefined;
}

async function stateOf(config: Config, name: ServiceName): Promise<ServiceState> {
  const url = serviceUrl(config, name);
  const [own, answer] = await Promise.all([Promise.resolve(ownProcess(config, name)), probe(config, name)]);
  const state: ServiceStateName = answer.ok ? (own ? "up" : "external") : own ? "unhealthy" : "down";
  return {
    name,
    state,
    url,
    publicUrl: publicUrl(config, url),
    pid: own?.pid,
    detail: answer.ok ? answer.detail : answer.reason,
  };
}

/** The state of every service (or of the ones named), probed now. */
export async function serviceStatus(
  config: Config,
  services: readonly ServiceName[] = SERVICE_NAMES,
): Promise<ServiceState[]> {
  return Promise.all(services.map((name) => stateOf(config, name)));
}

export interface StartedService extends ServiceState {
  /** How this run got the service: already answering, started now, or through Compose. */
  how: "already up" | "external" | "started" | "compose";
  /** Milliseconds from the start of `up` until the service answered. */
  readyMs: number;
}

export interface StackEvents {
  /** A line of progress for a person (installing, starting...). */
  progress?: (message: string) => void;
}

/** Whether a Docker engine answers here (then Compose provides the services). */
export async function dockerAvailable(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn("docker", ["info"], { stdio: "ignore" });
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000).unref();
    child.once("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}

/**
 * The Compose services that provide some of the stack's services: the servers only, never
 * capline's own processes (dispatcher, workers, monitor), so that commands run from this shell
 * (the demo's `process`) are the only consumers of the pipeline's group. Kibana comes with
 * Elasticsearch. The whole deployment is `docker compose up -d --build --wait` (docs/docker.md).
 */
export function composeServices(missing: readonly ServiceName[]): string[] {
  const of: Record<ServiceName, string[]> = {
    kafka: ["kafka"],
    elasticsearch: ["elasticsearch", "kibana"],
    minio: ["minio"],
    hdfs: ["namenode", "datanode"],
    redis: ["redis"],
  };
  return SERVICE_NAMES.filter((s) => missing.includes(s)).flatMap((s) => of[s]);
}

/** The Compose files in force: in a Codespace, the Codespaces override on top (unless COMPOSE_FILE says otherwise). */
export const CODESPACES_COMPOSE_FILE = "docker-compose.yml:docker-compose.codespaces.yml";

/** The environment `docker compose` runs with. */
export function composeEnvironment(config: Config, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (config.environment !== "codespaces" || env.COMPOSE_FILE) return env;
  return { ...env, COMPOSE_FILE: CODESPACES_COMPOSE_FILE };
}

function composeUp(config: Config, missing: readonly ServiceName[], events: StackEvents): Promise<void> {
  const services = composeServices(missing);
  const env = composeEnvironment(config);
  const files = env.COMPOSE_FILE ? ` (COMPOSE_FILE=${env.COMPOSE_FILE})` : "";
  const args = ["compose", "up", "-d", "--wait", ...services];
  events.progress?.(`Docker engine found: docker ${args.join(" ")}${files}`);
  return new Promise((resolve, reject) => {
    const child = spawn("docker", args, { cwd: PROJECT_ROOT, env, stdio: ["ignore", "inherit", "inherit"] });
    child.once("error", (error) =>
      reject(new CaplineError("STACK_FAILED", "docker compose could not be run", { cause: error })),
    );
    child.once("exit", (code) =>
      code === 0
        ? resolve()
        : reject(
            new CaplineError(
              "STACK_FAILED",
              `docker ${args.join(" ")} failed (exit code ${code}); see docker compose logs`,
            ),
          ),
    );
  });
}

/** Stops before anything starts when a program some service needs is missing, listing them all. */
function requirePrerequisites(config: Config, services: readonly ServiceName[]): void {
  const missing = missingPrerequisites(services, realHost(config));
  if (missing.length === 0) return;
  throw new CaplineError(
    "PREREQUISITE_MISSING",
    `cannot start ${services.join(", ")} as local processes: ${missing.length === 1 ? "a prerequisite is" : "prerequisites are"} missing (no Docker engine answers either)\n${renderPrerequisites(missing)}`,
    { details: { missing: prerequisitesJson(missing) } },
  );
}

/** Serializes starts across processes (two test runs at once must not start Kafka twice). */
async function withStartLock<T>(config: Config, fn: () => Promise<T>): Promise<T> {
  const paths = stackPaths(config);
  mkdirSync(paths.run, { recursive: true });
  const lock = `${paths.run}/start.lock`;
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      const fd = openSync(lock, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(readFileSync(lock, "utf8").trim());
      let alive = false;
      try {
        if (holder > 0) process.kill(holder, 0);
        alive = holder > 0;
      } catch {
        alive = false;
      }
      if (!alive) rmSync(lock, { force: true });
      else if (Date.now() > deadline)
        throw new CaplineError("STACK_FAILED", `another capline process (pid ${holder}) holds ${lock}`);
      else await sleep(1000);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

function logTail(config: Config, name: ServiceName, lines = 25): string {
  const file = stackPaths(config).log(name);
  return existsSync(file) ? tail(readFileSync(file, "utf8"), lines) : "(no log)";
}

class ServiceStartError extends CaplineError {
  constructor(config: Config, name: ServiceName, reason: string) {
    const file = stackPaths(config).log(name);
    super(
      "STACK_FAILED",
      `${name} did not come up at ${serviceUrl(config, name)}: ${reason}\n--- last lines of ${file} ---\n${logTail(config, name)}`,
      { details: { service: name, url: serviceUrl(config, name), log: file, reason } },
    );
    this.name = "ServiceStartError";
  }
}

/** Starts one service as a detached process and waits until it answers its probe. */
async function launchAndWait(config: Config, name: ServiceName, events: StackEvents): Promise<number> {
  const paths = stackPaths(config);
  const started = Date.now();
  const prepared = await PREPARERS[name](config, paths);
  const header = `\n===== capline stack: starting ${name} at ${new Date().toISOString()} =====\n`;
  mkdirSync(paths.logs, { recursive: true });
  const fd = openSync(paths.log(name), "a");
  writeSync(fd, header);
  closeSync(fd);
  const proc = startDetached(prepared.launch, paths.log(name), paths.pid(name), prepared.ids ?? {});
  if (proc.record.pid < 0)
    throw new ServiceStartError(config, name, `could not run ${prepared.launch.command}`);
  events.progress?.(`${name}: started (pid ${proc.record.pid}), waiting for it to answer`);
  let exited: string | undefined;
  void proc.exited.then((how) => {
    exited = how;
  });
  const deadline = started + READY_TIMEOUT_MS[name];
  let last = "no answer yet";
  while (Date.now() < deadline) {
    const answer = await probe(config, name);
    if (answer.ok) return Date.now() - started;
    last = answer.reason;
    if (exited !== undefined) {
      rmSync(paths.pid(name), { force: true });
      throw new ServiceStartError(config, name, `the process ended (${exited}); last probe: ${last}`);
    }
    await sleep(name === "redis" || name === "minio" ? 200 : 1000);
  }
  throw new ServiceStartError(
    config,
    name,
    `no good answer within ${READY_TIMEOUT_MS[name] / 1000}s (last probe: ${last}); it is left running, see the log`,
  );
}

/** Starts one service of the local stack (installing it first if needed); a no-op when it answers. */
export async function startService(
  config: Config,
  name: ServiceName,
  events: StackEvents = {},
): Promise<StartedService> {
  const t0 = Date.now();
  const current = await stateOf(config, name);
  if (current.state === "up" || current.state === "external") {
    return { ...current, how: current.state === "up" ? "already up" : "external", readyMs: Date.now() - t0 };
  }
  return withStartLock(config, async () => {
    const again = await stateOf(config, name);
    if (again.state === "up" || again.state === "external")
      return { ...again, how: again.state === "up" ? "already up" : "external", readyMs: Date.now() - t0 };
    if (again.state === "unhealthy") {
      // Our process runs but does not answer (stuck, or a port taken by another program): restart it.
      events.progress?.(`${name}: process ${again.pid} does not answer (${again.detail}); restarting it`);
      await stopService(config, name);
    }
    requirePrerequisites(config, [name]);
    await install(config, [name], events.progress);
    const readyMs = await launchAndWait(config, name, events);
    const state = await stateOf(config, name);
    return { ...state, how: "started", readyMs: Math.max(readyMs, Date.now() - t0) };
  });
}

export interface EnsureOptions extends StackEvents {
  /** Only these services. @defaultValue all five */
  services?: readonly ServiceName[];
  /** Use Docker Compose when a Docker engine answers. @defaultValue true */
  docker?: boolean;
}

/**
 * Makes every service answer: services that already answer are used as they are; with a Docker
 * engine, Compose starts the rest; otherwise the missing ones start as local processes, in
 * parallel. Throws a STACK_FAILED error naming each service that failed, with its log's tail.
 */
export async function ensureStackUp(config: Config, options: EnsureOptions = {}): Promise<StartedService[]> {
  const t0 = Date.now();
  const services = options.services ?? SERVICE_NAMES;
  const before = await serviceStatus(config, services);
  const missing = before.filter((s) => s.state !== "up" && s.state !== "external").map((s) => s.name);
  const result = new Map<ServiceName, StartedService>();
  for (const s of before)
    if (!missing.includes(s.name))
      result.set(s.name, {
        ...s,
        how: s.state === "up" ? "already up" : "external",
        readyMs: Date.now() - t0,
      });
  if (missing.length > 0 && (options.docker ?? true) && (await dockerAvailable())) {
    await composeUp(config, missing, options);
    for (const s of await serviceStatus(config, missing)) {
      result.set(s.name, { ...s, how: "compose", readyMs: Date.now() - t0 });
    }
  } else if (missing.length > 0) {
    await withStartLock(config, async () => {
      // Another process may have started some while we waited for the lock.
      const now = await serviceStatus(config, missing);
      const toStart: ServiceName[] = [];
      for (const s of now) {
        if (s.state === "up" || s.state === "external")
          result.set(s.name, {
            ...s,
            how: s.state === "up" ? "already up" : "external",
            readyMs: Date.now() - t0,
          });
        else if (s.state === "unhealthy") {
          options.progress?.(`${s.name}: process ${s.pid} does not answer (${s.detail}); restarting it`);
          await stopService(config, s.name);
          toStart.push(s.name);
        } else toStart.push(s.name);
      }
      if (toStart.length === 0) return;
      requirePrerequisites(config, toStart);
      const installing = Date.now();
      const installed = await install(config, toStart, options.progress);
      if (installed.some((r) => r.installed))
        options.progress?.(
          `installed ${installed
            .filter((r) => r.installed)
            .map((r) => r.service)
            .join(", ")} in ${((Date.now() - installing) / 1000).toFixed(1)}s`,
        );
      // Each service's time to ready is measured from the start of `up` to its own first good answer.
      const outcomes = await Promise.allSettled(
        toStart.map((name) => launchAndWait(config, name, options).then(() => Date.now() - t0)),
      );
      const failures: CaplineError[] = [];
      for (const [i, outcome] of outcomes.entries()) {
        const name = toStart[i] as ServiceName;
        if (outcome.status === "fulfilled") {
          const [state] = await serviceStatus(config, [name]);
          if (state) result.set(name, { ...state, how: "started", readyMs: outcome.value });
        } else {
          failures.push(
            outcome.reason instanceof CaplineError
              ? outcome.reason
              : new ServiceStartError(config, name, String(outcome.reason)),
          );
        }
      }
      if (failures.length > 0) {
        const names = failures.map((f) => String(f.details.service ?? "?"));
        throw new CaplineError(
          "STACK_FAILED",
          `${failures.length === 1 ? "a service" : "services"} failed to start: ${names.join(", ")}\n\n${failures.map((f) => f.message).join("\n\n")}`,
          { details: { failed: names } },
        );
      }
    });
  }
  const final = services.map((name) => result.get(name)).filter((s): s is StartedService => s !== undefined);
  const notUp = final.filter((s) => s.state !== "up" && s.state !== "external");
  if (notUp.length > 0) {
    throw new CaplineError(
      "STACK_FAILED",
      `not answering after up: ${notUp.map((s) => `${s.name} at ${s.url} (${s.detail})`).join("; ")}`,
      { details: { failed: notUp.map((s) => s.name) } },
    );
  }
  return final;
}

export type StopOutcome = "stopped" | "killed" | "not running" | "external";

/** Stops one service the stack started (SIGTERM, then SIGKILL). External services are never touched. */
export async function stopService(config: Config, name: ServiceName, graceMs = 30_000): Promise<StopOutcome> {
  const pidFile = stackPaths(config).pid(name);
  const record = readPidFile(pidFile);
  if (!record || !isAlive(record)) {
    rmSync(pidFile, { force: true });
    const answer = await probe(config, name);
    return answer.ok ? "external" : "not running";
  }
  return stopProcess(record, pidFile, graceMs);
}

/** Stops every service the stack started, in parallel. */
export async function stopStack(
  config: Config,
  services: readonly ServiceName[] = SERVICE_NAMES,
): Promise<{ name: ServiceName; outcome: StopOutcome }[]> {
  return Promise.all(services.map(async (name) => ({ name, outcome: await stopService(config, name) })));
}
