import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Config } from "../core/config/index.ts";
import { UsageError } from "../core/errors.ts";

/**
 * Pure pieces of the local stack: ports taken from the configured URLs, the files and command
 * lines each server is started with. No I/O here, so all of it is unit-tested.
 */

export const SERVICE_NAMES = ["kafka", "elasticsearch", "minio", "hdfs", "redis"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export function isServiceName(value: string): value is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(value);
}

/** Parses a service argument, naming the accepted values when it is wrong. */
export function parseServiceName(value: string): ServiceName {
  if (isServiceName(value)) return value;
  throw new UsageError(`unknown service "${value}"; expected one of ${SERVICE_NAMES.join(", ")}`);
}

/** Heaps of the JVM services; together with MinIO and Redis they stay near 3 GiB. */
export const HEAPS = { kafka: "512m", elasticsearch: "768m", hdfs: "512m" } as const;

export interface HostPort {
  host: string;
  port: number;
}

/** Host and port of a URL or of `host:port`, with the scheme's default port when none is given. */
export function hostPort(address: string, defaultPort: number): HostPort {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `tcp://${address}`;
  const url = new URL(withScheme);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = url.port
    ? Number(url.port)
    : url.protocol === "https:"
      ? 443
      : url.protocol === "http:"
        ? 80
        : defaultPort;
  return { host, port };
}

/** The address a service is expected at, as printed by `stack status`. */
export function serviceUrl(config: Config, name: ServiceName): string {
  switch (name) {
    case "kafka":
      return config.kafka.brokers[0] ?? "127.0.0.1:9092";
    case "elasticsearch":
      return config.elasticsearch.url;
    case "minio":
      return config.minio.endpoint;
    case "hdfs":
      return config.hdfs.webhdfsUrl;
    case "redis":
      return redactUrl(config.redis.url);
  }
}

/** A URL without its password (Redis URLs may carry one). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return url;
  }
}

/** A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (22 characters). */
export function kafkaClusterId(bytes: Buffer = randomBytes(16)): string {
  return bytes.toString("base64url");
}

export interface KafkaPaths {
  dataDir: string;
}

/** server.properties of the one-node KRaft cluster (broker and controller in one process). */
export function kafkaServerProperties(config: Config, paths: KafkaPaths): string {
  const broker = hostPort(config.kafka.brokers[0] ?? "127.0.0.1:9092", 9092);
  const controllerPort = broker.port + 1;
  const lines: Record<string, string | number | boolean> = {
    "process.roles": "broker,controller",
    "node.id": 1,
    "controller.quorum.voters": `1@${broker.host}:${controllerPort}`,
    listeners: `PLAINTEXT://${broker.host}:${broker.port},CONTROLLER://${broker.host}:${controllerPort}`,
    "advertised.listeners": `PLAINTEXT://${broker.host}:${broker.port}`,
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    "log.dirs": paths.dataDir,
    "num.partitions": 1,
    // One broker: internal topics must accept a replication factor of 1, or consumer groups
    // and transactions never start.
    "offsets.topic.replication.factor": 1,
    "offsets.topic.num.partitions": 10,
    "transaction.state.log.replication.factor": 1,
    "transaction.state.log.min.isr": 1,
    "transaction.state.log.num.partitions": 10,
    "default.replication.factor": 1,
    "min.insync.replicas": 1,
    // Tests create many groups; do not make each one wait 3 s for more members.
    "group.initial.rebalance.delay.ms": 0,
    // capline creates its topics explicitly (`capline setup`); auto-creation stays on as in a
    // stock broker so that tools which expect it (kcat -P on a new topic) behave as usual.
    "auto.create.topics.enable": true,
    "delete.topic.enable": true,
    "log.retention.hours": 168,
    "log.segment.bytes": 134_217_728,
  };
  return `${Object.entries(lines)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n")}\n`;
}

/** log4j 1.x configuration: everything to stdout, which the stack sends to the service's log. */
export function log4jProperties(quiet: readonly string[] = []): string {
  return [
    "log4j.rootLogger=INFO, stdout",
    "log4j.appender.stdout=org.apache.log4j.ConsoleAppender",
    "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout",
    "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n",
    ...quiet.map((logger) => `log4j.logger.${logger}=WARN`),
    "",
  ].join("\n");
}

export interface Launch {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

/** Options every JVM of the stack gets: a fixed heap and no surprise from the machine's defaults. */
export function jvmArgs(heap: string): string[] {
  return [`-Xms${heap}`, `-Xmx${heap}`, "-XX:+UseG1GC", "-Djava.awt.headless=true"];
}

export function kafkaLaunch(
  javaBin: string,
  libsDir: string,
  configDir: string,
  cwd: string,
): { format: (clusterId: string) => Launch; server: Launch } {
  const base = [
    ...jvmArgs(HEAPS.kafka),
    `-Dlog4j.configuration=file:${join(configDir, "log4j.properties")}`,
    "-cp",
    `${join(libsDir, "*")}`,
  ];
  const properties = join(configDir, "server.properties");
  return {
    format: (clusterId) => ({
      command: javaBin,
      args: [...base, "kafka.tools.StorageTool", "format", "-t", clusterId, "-c", properties],
      env: {},
      cwd,
    }),
    server: { command: javaBin, args: [...base, "kafka.Kafka", properties], env: {}, cwd },
  };
}

export function elasticsearchLaunch(
  config: Config,
  home: string,
  javaHome: string,
  paths: { configDir: string; dataDir: string; logsDir: string },
): Launch {
  const http = hostPort(config.elasticsearch.url, 9200);
  return {
    command: "bash",
    args: [
      join(home, "bin", "elasticsearch"),
      "-E",
      "discovery.type=single-node",
      "-E",
      "xpack.security.enabled=false",
      "-E",
      `network.host=${http.host}`,
      "-E",
      `http.port=${http.port}`,
      "-E",
      `path.data=${paths.dataDir}`,
      "-E",
      `path.logs=${paths.logsDir}`,
      "-E",
      "cluster.name=capline-local",
      // CI disks are often more than 90% full; a local store should not turn read-only for that.
      "-E",
      "cluster.routing.allocation.disk.threshold_enabled=false",
    ],
    env: {
      ES_JAVA_HOME: javaHome,
      ES_PATH_CONF: paths.configDir,
      ES_JAVA_OPTS: `-Xms${HEAPS.elasticsearch} -Xmx${HEAPS.elasticsearch}`,
    },
    cwd: home,
  };
}

export function minioLaunch(config: Config, binary: string, dataDir: string): Launch {
  const api = hostPort(config.minio.endpoint, 9000);
  const console = hostPort(config.minio.consoleUrl, 9001);
  return {
    command: binary,
    args: [
      "server",
      dataDir,
      "--address",
      `${api.host}:${api.port}`,
      "--console-address",
      `${console.host}:${console.port}`,
    ],
    // Credentials travel only through the child's environment, never on its command line.
    env: {
      MINIO_ROOT_USER: config.minio.accessKey,
      MINIO_ROOT_PASSWORD: config.minio.secretKey,
      MINIO_UPDATE: "off",
      MINIO_REGION: config.minio.region,
    },
    cwd: dataDir,
  };
}

/** redis.conf of the local Redis (a file, so a password in REDIS_URL never shows in `ps`). */
export function redisConf(config: Config, dataDir: string): string {
  const { host, port } = hostPort(config.redis.url, 6379);
  const password = decodeURIComponent(new URL(config.redis.url).password);
  const lines = [
    `bind ${host}`,
    `port ${port}`,
    `dir "${dataDir}"`,
    "daemonize no",
    'logfile ""',
    // BullMQ needs Redis to refuse writes rather than evict its keys.
    "maxmemory-policy noeviction",
    // Queues survive a restart of the stack.
    "appendonly yes",
    "appendfsync everysec",
  ];
  if (password) lines.push(`requirepass "${password.replace(/["\\]/g, "\\$&")}"`);
  return `${lines.join("\n")}\n`;
}

export function redisLaunch(binary: string, confFile: string, dataDir: string): Launch {
  return { command: binary, args: [confFile], env: {}, cwd: dataDir };
}

export function hdfsPorts(config: Config): {
  rpc: number;
  http: number;
  datanodeHttp: number;
  datanodeData: number;
  datanodeIpc: number;
} {
  const rpc = hostPort(config.hdfs.namenode, 8020).port;
  const http = hostPort(config.hdfs.webhdfsUrl, 9870).port;
  const datanodeHttp = config.hdfs.datanodeUrl ? hostPort(config.hdfs.datanodeUrl, 9864).port : 9864;
  // The DataNode's data and IPC ports follow its HTTP port (9864 → 9866, 9867, Hadoop's defaults),
  // so a second stack on other ports (CI in a clone, say) does not collide.
  return { rpc, http, datanodeHttp, datanodeData: datanodeHttp + 2, datanodeIpc: datanodeHttp + 3 };
}

export function hdfsLaunch(
  config: Config,
  javaBin: string,
  classpath: string,
  configDir: string,
  baseDir: string,
): Launch {
  const ports = hdfsPorts(config);
  return {
    command: javaBin,
    args: [
      ...jvmArgs(HEAPS.hdfs),
      // Hadoop 3.4 still reaches into JDK internals on Java 17.
      "--add-opens=java.base/java.lang=ALL-UNNAMED",
      "--add-opens=java.base/java.util=ALL-UNNAMED",
      "--add-opens=java.base/java.io=ALL-UNNAMED",
      "--add-opens=java.base/java.net=ALL-UNNAMED",
      "--add-opens=java.base/java.nio=ALL-UNNAMED",
      "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
      `-Dlog4j.configuration=file:${join(configDir, "log4j.properties")}`,
      "-cp",
      classpath,
      "CaplineMiniHdfs",
      baseDir,
      String(ports.rpc),
      String(ports.http),
      String(ports.datanodeHttp),
      String(ports.datanodeData),
      String(ports.datanodeIpc),
    ],
    env: { HADOOP_USER_NAME: config.hdfs.user },
    cwd: baseDir,
  };
}

/** The last `lines` lines of a log, for error messages. */
export function tail(text: string, lines = 20): string {
  const all = text.replace(/\s+$/, "").split("\n");
  return all.slice(-lines).join("\n");
}

/** "12.3s" or "850ms". */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}
