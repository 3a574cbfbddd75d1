import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { Config } from "../core/config/index.ts";
import { CaplineError } from "../core/errors.ts";
import { artifactPaths, hdfsClasspath, javaBin, javaHome } from "./install.ts";
import { run } from "./process.ts";
import {
  elasticsearchLaunch,
  hdfsLaunch,
  kafkaClusterId,
  kafkaLaunch,
  kafkaServerProperties,
  type Launch,
  log4jProperties,
  minioLaunch,
  redisConf,
  redisLaunch,
  type ServiceName,
} from "./render.ts";

/**
 * How each local server is prepared (folders, config files, one-time formatting) and launched.
 * Everything a service writes lives under `stateDir/<service>`; its output goes to
 * `stateDir/logs/<service>.log`.
 */

export interface StackPaths {
  logs: string;
  run: string;
  service: (name: ServiceName) => string;
  log: (name: ServiceName) => string;
  pid: (name: ServiceName) => string;
}

export function stackPaths(config: Config): StackPaths {
  const state = config.stack.stateDir;
  return {
    logs: join(state, "logs"),
    run: join(state, "run"),
    service: (name) => join(state, name),
    log: (name) => join(state, "logs", `${name}.log`),
    pid: (name) => join(state, "run", `${name}.json`),
  };
}

/** How long a service may take from launch to its first good answer. */
export const READY_TIMEOUT_MS: Record<ServiceName, number> = {
  kafka: 120_000,
  elasticsearch: 240_000,
  minio: 60_000,
  hdfs: 180_000,
  redis: 30_000,
};

export interface Prepared {
  launch: Launch;
  /** Set when the process must not run as the current user (Elasticsearch refuses root). */
  ids?: { uid: number; gid: number };
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

/** Creates the system user that runs Elasticsearch when capline runs as root. */
function serviceUserIds(user: string): { uid: number; gid: number } {
  const id = (flag: string) =>
    Number(execFileSync("id", [flag, user], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim());
  try {
    return { uid: id("-u"), gid: id("-g") };
  } catch {
    try {
      execFileSync(
        "useradd",
        ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
        {
          stdio: "pipe",
        },
      );
    } catch (error) {
      throw new CaplineError(
        "STACK_FAILED",
        `Elasticsearch refuses to run as root and the user "${user}" (CAPLINE_SERVICE_USER) could not be created`,
        { cause: error },
      );
    }
    return { uid: id("-u"), gid: id("-g") };
  }
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (!statSync(path).isDirectory()) return;
  for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

async function prepareKafka(config: Config, paths: StackPaths): Promise<Prepared> {
  const dir = paths.service("kafka");
  const configDir = join(dir, "config");
  const dataDir = join(dir, "data");
  mkdirSync(configDir, { recursive: true });
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(configDir, "server.properties"), kafkaServerProperties(config, { dataDir }));
  writeFileSync(
    join(configDir, "log4j.properties"),
    log4jProperties([
      "kafka.request.logger",
      "state.change.logger",
      "org.apache.kafka.clients",
      "kafka.log.LogCleaner",
    ]),
  );
  const launches = kafkaLaunch(javaBin(), artifactPaths(config).kafka.libsDir, configDir, dir);
  // KRaft storage is formatted once; its cluster id then lives in meta.properties.
  if (!existsSync(join(dataDir, "meta.properties"))) {
    const format = launches.format(kafkaClusterId());
    await run(format.command, format.args, { cwd: format.cwd, timeoutMs: 120_000 });
  }
  return { launch: launches.server };
}

async function prepareElasticsearch(config: Config, paths: StackPaths): Promise<Prepared> {
  const dir = paths.service("elasticsearch");
  const home = artifactPaths(config).elasticsearch.home;
  const configDir = join(dir, "config");
  const dataDir = join(dir, "data");
  const logsDir = join(dir, "logs");
  // Elasticsearch writes its keystore into the config folder: it gets its own copy.
  if (!existsSync(join(configDir, "elasticsearch.yml")))
    cpSync(join(home, "config"), configDir, { recursive: true });
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(logsDir, { recursive: true });
  const launch = elasticsearchLaunch(config, home, javaHome(), { configDir, dataDir, logsDir });
  if (!isRoot()) return { launch };
  const ids = serviceUserIds(config.stack.serviceUser);
  // Once: afterwards everything in it is written by the service user itself.
  if (statSync(dir).uid !== ids.uid || statSync(configDir).uid !== ids.uid) chownTree(dir, ids.uid, ids.gid);
  // The service user needs to reach its folders through the state directory.
  chmodSync(config.stack.stateDir, 0o755);
  return { launch: { ...launch, env: { ...launch.env, HOME: dir } }, ids };
}

async function prepareMinio(config: Config, paths: StackPaths): Promise<Prepared> {
  const dataDir = join(paths.service("minio"), "data");
  mkdirSync(dataDir, { recursive: true });
  return { launch: minioLaunch(config, artifactPaths(config).minio.binary, dataDir) };
}

async function prepareHdfs(config: Config, paths: StackPaths): Promise<Prepared> {
  const dir = paths.service("hdfs");
  const configDir = join(dir, "config");
  const baseDir = join(dir, "cluster");
  mkdirSync(configDir, { recursive: true });
  mkdirSync(baseDir, { recursive: true });
  writeFileSync(
    join(configDir, "log4j.properties"),
    log4jProperties([
      "org.apache.hadoop.hdfs.StateChange",
      "org.apache.hadoop.hdfs.server.datanode.DataNode.clienttrace",
      "org.apache.hadoop.hdfs.server.namenode.FSNamesystem.audit",
      "org.apache.hadoop.metrics2",
      "org.eclipse.jetty",
    ]),
  );
  return { launch: hdfsLaunch(config, javaBin(), hdfsClasspath(config), configDir, baseDir) };
}

async function prepareRedis(config: Config, paths: StackPaths): Promise<Prepared> {
  const dir = paths.service("redis");
  const dataDir = join(dir, "data");
  mkdirSync(dataDir, { recursive: true });
  const confFile = join(dir, "redis.conf");
  writeFileSync(confFile, redisConf(config, dataDir), { mode: 0o600 });
  return { launch: redisLaunch(artifactPaths(config).redis.binary, confFile, dataDir) };
}

export const PREPARERS: Record<ServiceName, (config: Config, paths: StackPaths) => Promise<Prepared>> = {
  kafka: prepareKafka,
  elasticsearch: prepareElasticsearch,
  minio: prepareMinio,
  hdfs: prepareHdfs,
  redis: prepareRedis,
};
