import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, type ConfigProblem } from "../errors.ts";
import { maskUrlCredentials } from "../redact.ts";
import { readEnvFile } from "./env-file.ts";
import {
  bindHost,
  boolean,
  bucketName,
  decimal,
  type FieldParser,
  hdfsPath,
  hostPortList,
  httpUrl,
  indexPrefix,
  integer,
  oneOf,
  redisUrl,
  type TimeBound,
  text,
  timeBound,
  topicName,
} from "./fields.ts";

export { parseEnvFile } from "./env-file.ts";
export type { TimeBound } from "./fields.ts";

/**
 * The repository (or image) root: where package.json and .env live. Found by walking up from this
 * module, which runs from its source (tests, `core/config/`) or compiled (`dist/core/config/`).
 */
export const PROJECT_ROOT = findProjectRoot(dirname(fileURLToPath(import.meta.url)));

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, ".env"))) return dir;
    if (dirname(dir) === dir) return resolve(from, "..", "..");
  }
}

export type Environment = "local" | "codespaces";

export interface Versions {
  kafka: string;
  elastic: string;
  hadoop: string;
  minioRelease: string;
  minioGoVersion: string;
  redis: string;
}

export interface Config {
  environment: Environment;
  /** Set inside GitHub Codespaces: used to print forwarded-port URLs. */
  codespace: { name: string; domain: string } | undefined;
  kafka: {
    brokers: string[];
    clientId: string;
    topic: string;
    dlqTopic: string;
    partitions: number;
    replicationFactor: number;
    /** How long a command keeps retrying an unreachable broker before giving up. */
    connectTimeoutMs: number;
  };
  elasticsearch: {
    url: string;
    username: string | undefined;
    password: string | undefined;
    apiKey: string | undefined;
    caCertPath: string | undefined;
    indexPrefix: string;
    shards: number;
    replicas: number;
    /** Index refresh interval ("5s"): how soon a write becomes searchable. */
    refreshInterval: string;
    /** MiB of recently written documents a `capline process` keeps per index (its first-round guess). */
    writeCacheMiB: number;
  };
  kibana: { url: string; username: string | undefined; password: string | undefined };
  minio: {
    endpoint: string;
    consoleUrl: string;
    accessKey: string;
    secretKey: string;
    bucket: string;
    region: string;
  };
  hdfs: {
    namenode: string;
    webhdfsUrl: string;
    /**
     * Where host-side commands reach the DataNode that WebHDFS redirects to. Unset: follow the
     * redirect as given (works on the local stack and inside the Compose network).
     */
    datanodeUrl: string | undefined;
    user: string;
    root: string;
  };
  redis: { url: string; queuePrefix: string };
  /** `capline forget` (docs/forget.md): the least time a tombstone is kept, in days (-1: forever). */
  forget: { tombstoneDays: number };
  /** Exact deduplication by event_id (docs/processing.md, "Duplicates"). */
  dedup: {
    /** Days of the seen-set kept per partition, back from its newest event day; 0 keeps every day. */
    horizonDays: number;
  };
  /** The ingester's bounds on a row (docs/ingestion.md, "Row rules"). */
  ingest: IngestBounds;
  archive: { minio: boolean; hdfs: boolean };
  stack: {
    /** Downloaded artifacts (Maven repository, MinIO binary, Elasticsearch); outside the repo. */
    cacheDir: string;
    /** Data, logs and pid files of the local stack. */
    stateDir: string;
    /** OS user that runs Elasticsearch when capline runs as root (Elasticsearch refuses root). */
    serviceUser: string;
  };
  /** `capline report`: the currency amounts are shown in (undefined: plain numbers). */
  report: { currency: string | undefined };
  monitor: {
    port: number;
    host: string;
    timeoutMs: number;
    cacheMs: number;
    kibana: "optional" | "required" | "off";
    /** Check names left out (MONITOR_SKIP). */
    skip: string[];
    thresholds: MonitorThresholds;
  };
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  versions: Versions;
}

/** What a row may hold before the ingester refuses it (INGEST_* variables). */
export interface IngestBounds {
  /** Largest price accepted (bad_price above); its cents are a safe integer. */
  maxPrice: number;
  /** Earliest event time accepted (bad_timestamp before). */
  eventTimeMin: TimeBound;
  /** Latest event time accepted (bad_timestamp after); relative bounds count from the run's start. */
  eventTimeMax: TimeBound;
  /** Longest user_id, product_id, category_id or user_session in UTF-8 bytes (id_too_long). */
  maxIdBytes: number;
  /** Largest encoded event in bytes (event_too_large); below the broker's message limit. */
  maxEventBytes: number;
  /** Longest physical line in characters (malformed_row), after the header too. */
  maxLineChars: number;
}

/** Where `capline monitor` turns OK into WARN (docs/monitoring.md). */
export interface MonitorThresholds {
  lagWarn: number;
  stallSeconds: number;
  dlqWarnPercent: number;
  dlqGrowthWarn: number;
  failedJobsWarn: number;
  hdfsUsedWarnPercent: number;
  redisMemoryWarnPercent: number;
}

type Source = Record<string, string | undefined>;

interface FieldSpec<T> {
  parse: FieldParser<T>;
  /** Used when the variable is unset or empty. `undefined` makes the value optional. */
  fallback?: string;
  /** Never printed or logged. */
  secret?: boolean;
  /** Shown in `capline config` and the README table. */
  doc: string;
}

/**
 * Every variable capline reads, in one table. The defaults written here apply when neither the
 * environment, `.env.local` nor `.env` sets the variable (so a bare `docker run` still works).
 */
export const CONFIG_FIELDS = {
  ENVIRONMENT: {
    parse: oneOf(["local", "codespaces"] as const),
    doc: "local or codespaces; detected when unset",
  },
  KAFKA_BROKERS: {
    parse: hostPortList("127.0.0.1:9092"),
    fallback: "127.0.0.1:9092",
    doc: "Kafka bootstrap servers",
  },
  KAFKA_CLIENT_ID: {
    parse: text({ pattern: /^[A-Za-z0-9._-]+$/, expected: "letters, digits, '.', '_' or '-'" }),
    fallback: "capline",
    doc: "Kafka client id",
  },
  KAFKA_TOPIC: { parse: topicName, fallback: "customer-events", doc: "topic of accepted events" },
  KAFKA_DLQ_TOPIC: {
    parse: topicName,
    fallback: "customer-events.dlq",
    doc: "topic of refused rows and unwritable records",
  },
  KAFKA_PARTITIONS: {
    parse: integer(1, 1000, 6),
    fallback: "6",
    doc: "partitions of the events topic (setup)",
  },
  KAFKA_REPLICATION_FACTOR: {
    parse: integer(1, 10, 1),
    fallback: "1",
    doc: "replication factor of capline's topics",
  },
  KAFKA_CONNECT_TIMEOUT_MS: {
    parse: integer(0, 3_600_000, 30_000),
    fallback: "30000",
    doc: "how long to retry an unreachable broker",
  },
  ELASTICSEARCH_URL: {
    parse: httpUrl("http://127.0.0.1:9200"),
    fallback: "http://127.0.0.1:9200",
    doc: "Elasticsearch URL",
  },
  ELASTICSEARCH_USERNAME: { parse: text(), doc: "basic-auth user (optional)" },
  ELASTICSEARCH_PASSWORD: { parse: text(), secret: true, doc: "basic-auth password (optional, secret)" },
  ELASTICSEARCH_API_KEY: { parse: text(), secret: true, doc: "API key, base64 id:key (optional, secret)" },
  ELASTICSEARCH_CA_CERT: { parse: text(), doc: "path to a PEM CA certificate for https (optional)" },
  ELASTICSEARCH_INDEX_PREFIX: {
    parse: indexPrefix,
    fallback: "capline",
    doc: "prefix of every index and alias",
  },
  ELASTICSEARCH_SHARDS: { parse: integer(1, 64, 1), fallback: "1", doc: "primary shards per index" },
  ELASTICSEARCH_REPLICAS: {
    parse: integer(0, 5, 0),
    fallback: "0",
    doc: "replicas per index (0 on one node)",
  },
  ELASTICSEARCH_REFRESH_INTERVAL: {
    parse: text({
      pattern: /^(?:[1-9]\d{0,5}(?:ms|s|m)|-1)$/,
      expected: "an Elasticsearch time value such as 1s, 5s or 500ms (-1: only on demand)",
    }),
    fallback: "5s",
    doc: "how soon an indexed write becomes searchable (longer = less Elasticsearch CPU)",
  },
  ELASTICSEARCH_WRITE_CACHE_MIB: {
    parse: integer(1, 65_536, 24),
    fallback: "24",
    doc: "MiB of recently written documents each `capline process` keeps per index: larger = fewer realtime gets and refused writes for Elasticsearch, more memory in the process",
  },
  KIBANA_URL: {
    parse: httpUrl("http://127.0.0.1:5601"),
    fallback: "http://127.0.0.1:5601",
    doc: "Kibana URL",
  },
  KIBANA_USERNAME: { parse: text(), doc: "Kibana user (optional; defaults to the Elasticsearch user)" },
  KIBANA_PASSWORD: { parse: text(), secret: true, doc: "Kibana password (optional, secret)" },
  MINIO_ENDPOINT: {
    parse: httpUrl("http://127.0.0.1:9000"),
    fallback: "http://127.0.0.1:9000",
    doc: "MinIO S3 API URL",
  },
  MINIO_CONSOLE_URL: {
    parse: httpUrl("http://127.0.0.1:9001"),
    fallback: "http://127.0.0.1:9001",
    doc: "MinIO console URL",
  },
  MINIO_ACCESS_KEY: { parse: text(), fallback: "capline", doc: "MinIO access key" },
  MINIO_SECRET_KEY: {
    parse: text({ pattern: /^.{8,}$/, expected: "at least 8 characters" }),
    fallback: "capline-local-secret",
    secret: true,
    doc: "MinIO secret key (secret)",
  },
  MINIO_BUCKET: { parse: bucketName, fallback: "capline-lake", doc: "lake bucket" },
  MINIO_REGION: { parse: text(), fallback: "us-east-1", doc: "S3 region" },
  HDFS_NAMENODE: {
    parse: text({
      pattern: /^hdfs:\/\/[^/\s]+:\d+$/,
      expected: "hdfs://host:port such as hdfs://127.0.0.1:8020",
    }),
    fallback: "hdfs://127.0.0.1:8020",
    doc: "NameNode RPC address",
  },
  WEBHDFS_URL: {
    parse: httpUrl("http://127.0.0.1:9870"),
    fallback: "http://127.0.0.1:9870",
    doc: "NameNode HTTP (WebHDFS) URL",
  },
  HDFS_DATANODE_URL: {
    parse: httpUrl("http://127.0.0.1:9864"),
    doc: "DataNode HTTP URL reachable from here, replacing the host of WebHDFS redirects (optional)",
  },
  HDFS_USER: {
    parse: text({ pattern: /^[A-Za-z_][A-Za-z0-9_.-]*$/, expected: "a user name" }),
    fallback: "capline",
    doc: "HDFS user (user.name)",
  },
  HDFS_ROOT: { parse: hdfsPath, fallback: "/capline", doc: "root folder of the lake in HDFS" },
  REDIS_URL: { parse: redisUrl, fallback: "redis://127.0.0.1:6379", doc: "Redis URL (BullMQ)" },
  QUEUE_PREFIX: {
    parse: text({ pattern: /^[A-Za-z0-9:_-]+$/, expected: "letters, digits, ':', '_' or '-'" }),
    fallback: "capline",
    doc: "BullMQ key prefix",
  },
  DEDUP_HORIZON_DAYS: {
    parse: integer(0, 36_500, 0),
    fallback: "0",
    doc: "days of event_ids kept for deduplication, back from the newest event day (0 = all; bounds Redis memory)",
  },
  FORGET_TOMBSTONE_DAYS: {
    parse: integer(-1, 36_500, 7),
    fallback: "7",
    doc: "least days a forgotten customer stays on the forget list (-1 = forever); the events topic's own retention.ms is used when longer (7 = Kafka's default retention)",
  },
  INGEST_MAX_PRICE: {
    // At most 12 integer digits: every amount in cents stays far below 2^53.
    parse: decimal(0, Math.floor(Number.MAX_SAFE_INTEGER / 100), "999999999999.99"),
    fallback: "999999999999.99",
    doc: "largest price a row may have (bad_price above); at most 90071992547409 so that cents stay exact",
  },
  INGEST_EVENT_TIME_MIN: {
    parse: timeBound("1990-01-01"),
    fallback: "1990-01-01",
    doc: "earliest event time accepted (bad_timestamp before it)",
  },
  INGEST_EVENT_TIME_MAX: {
    parse: timeBound("now+1d"),
    fallback: "now+1d",
    doc: "latest event time accepted (bad_timestamp after it); now+1d = one day after the ingest started",
  },
  INGEST_MAX_ID_BYTES: {
    // Elasticsearch refuses an _id (a profile's is the user_id) above 512 bytes.
    parse: integer(1, 512, 256),
    fallback: "256",
    doc: "longest user_id, product_id, category_id or user_session in UTF-8 bytes (id_too_long above)",
  },
  INGEST_MAX_EVENT_BYTES: {
    // Below the 960 KiB record batches the ingester cuts, themselves below the broker's 1 MB.
    parse: integer(1024, 900 * 1024, 102_400),
    fallback: "102400",
    doc: "largest encoded event in bytes (event_too_large above); at most 921600, below Kafka's message limit",
  },
  INGEST_MAX_LINE_CHARS: {
    parse: integer(1024, 64 * 1024 * 1024, 1_048_576),
    fallback: "1048576",
    doc: "longest line (or quoted record) in characters; a longer one is malformed_row and reading goes on at the next line",
  },
  ARCHIVE_MINIO: { parse: boolean, fallback: "true", doc: "archive Parquet to MinIO" },
  ARCHIVE_HDFS: { parse: boolean, fallback: "true", doc: "archive Parquet to HDFS" },
  CAPLINE_CACHE_DIR: {
    parse: text(),
    doc: "artifact cache of the local stack (default ~/.cache/capline; /var/cache/capline as root)",
  },
  CAPLINE_STACK_DIR: {
    parse: text(),
    doc: "data and logs of the local stack (default ~/.local/state/capline; /var/lib/capline as root)",
  },
  CAPLINE_SERVICE_USER: {
    parse: text({ pattern: /^[a-z_][a-z0-9_-]*$/, expected: "a Unix user name" }),
    fallback: "capline",
    doc: "user that runs Elasticsearch when started as root",
  },
  MONITOR_PORT: { parse: integer(1, 65535, 9464), fallback: "9464", doc: "port of `capline monitor serve`" },
  MONITOR_HOST: { parse: bindHost, fallback: "127.0.0.1", doc: "address `capline monitor serve` binds to" },
  MONITOR_TIMEOUT_MS: {
    parse: integer(100, 600_000, 5_000),
    fallback: "5000",
    doc: "time limit of each `capline monitor` check; a service that does not answer in time is DOWN",
  },
  MONITOR_CACHE_MS: {
    parse: integer(0, 3_600_000, 10_000),
    fallback: "10000",
    doc: "how long `monitor serve` reuses one round of checks for /readyz, /status and /metrics",
  },
  MONITOR_KIBANA: {
    parse: oneOf(["optional", "required", "off"] as const),
    fallback: "optional",
    doc: "Kibana check: optional (nothing listening = not deployed, SKIP), required (unreachable = DOWN) or off",
  },
  REPORT_CURRENCY: {
    parse: text({
      pattern: /^[A-Z]{3}$/,
      expected: "an ISO 4217 currency code in capitals, e.g. EUR or USD",
    }),
    doc: "currency of the prices, shown by `capline report` (optional; unset: plain numbers)",
  },
  MONITOR_SKIP: {
    parse: text({
      pattern: /^[a-z.]+(,[a-z.]+)*$/,
      expected: "check names separated by commas, e.g. kibana,hdfs",
    }),
    doc: "checks `capline monitor` leaves out, comma-separated (optional)",
  },
  MONITOR_LAG_WARN: {
    parse: integer(0, Number.MAX_SAFE_INTEGER, 10_000),
    fallback: "10000",
    doc: "consumer lag (messages) of the dispatcher group above which the monitor warns",
  },
  MONITOR_STALL_SECONDS: {
    parse: integer(1, 604_800, 300),
    fallback: "300",
    doc: "lag that has made no progress for this many seconds makes the monitor warn",
  },
  MONITOR_DLQ_WARN_PERCENT: {
    parse: integer(0, 100, 5),
    fallback: "5",
    doc: "DLQ messages as a percentage of the events topic above which the monitor warns",
  },
  MONITOR_DLQ_GROWTH_WARN: {
    parse: integer(0, Number.MAX_SAFE_INTEGER, 1_000),
    fallback: "1000",
    doc: "DLQ growth between two rounds (watch, serve) above which the monitor warns; 0 = never",
  },
  MONITOR_FAILED_JOBS_WARN: {
    parse: integer(0, Number.MAX_SAFE_INTEGER, 0),
    fallback: "0",
    doc: "failed BullMQ jobs per queue above which the monitor warns",
  },
  MONITOR_HDFS_USED_WARN_PERCENT: {
    parse: integer(1, 100, 85),
    fallback: "85",
    doc: "HDFS capacity used (percent) above which the monitor warns",
  },
  MONITOR_REDIS_MEMORY_WARN_PERCENT: {
    parse: integer(1, 100, 90),
    fallback: "90",
    doc: "Redis memory used as a percentage of maxmemory above which the monitor warns",
  },
  LOG_LEVEL: {
    parse: oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const),
    fallback: "info",
    doc: "log level",
  },
  KAFKA_VERSION: {
    parse: text({ pattern: /^\d+\.\d+\.\d+$/, expected: "x.y.z" }),
    fallback: "3.9.1",
    doc: "Kafka version (Compose image and local jars)",
  },
  ELASTIC_VERSION: {
    parse: text({ pattern: /^8\.\d+\.\d+$/, expected: "8.x.y (the client major is 8)" }),
    fallback: "8.19.21",
    doc: "Elasticsearch and Kibana version",
  },
  HADOOP_VERSION: {
    parse: text({ pattern: /^3\.4\.\d+$/, expected: "3.4.x" }),
    fallback: "3.4.1",
    doc: "Hadoop version (image and minicluster)",
  },
  MINIO_RELEASE: {
    parse: text({ pattern: /^RELEASE\.[0-9TZ-]+$/, expected: "RELEASE.YYYY-MM-DDTHH-MM-SSZ" }),
    fallback: "RELEASE.2025-09-07T16-13-09Z",
    doc: "MinIO release (Compose image tag)",
  },
  MINIO_GO_VERSION: {
    parse: text({ pattern: /^v\d+\.\d+\.\d+(-[0-9a-z.-]+)?$/, expected: "a Go module version" }),
    fallback: "v0.0.0-20250907161309-07c3a429bfed",
    doc: "the same MinIO release as a Go module version (local build)",
  },
  REDIS_VERSION: {
    parse: text({ pattern: /^\d+(\.\d+)*$/, expected: "a version such as 7.0" }),
    fallback: "7.0",
    doc: "Redis image version",
  },
} satisfies Record<string, FieldSpec<unknown>>;

export type ConfigVariable = keyof typeof CONFIG_FIELDS;
type FieldValue<K extends ConfigVariable> = (typeof CONFIG_FIELDS)[K] extends FieldSpec<infer T> ? T : never;

export interface LoadOptions {
  /** The process environment; tests pass their own. @defaultValue process.env */
  env?: Source;
  /** Folder holding `.env` and `.env.local`. @defaultValue PROJECT_ROOT */
  root?: string;
  /** Values that win over everything (from command-line flags). */
  overrides?: Partial<Record<ConfigVariable, string>>;
}

/**
 * The merged variables: `.env` < `.env.local` < environment < overrides. Empty values count as
 * unset, so `FOO=` in `.env` leaves the built-in default in force.
 */
export function mergedVariables(options: LoadOptions = {}): Source {
  const root = options.root ?? PROJECT_ROOT;
  const env = options.env ?? process.env;
  return {
    ...readEnvFile(join(root, ".env")),
    ...readEnvFile(join(root, ".env.local")),
    ...env,
    ...options.overrides,
  };
}

export function detectEnvironment(source: Source): Environment {
  return source.CODESPACES === "true" || source.CODESPACE_NAME ? "codespaces" : "local";
}

/** Parses and validates every variable; throws one ConfigError listing every problem found. */
export function loadConfig(options: LoadOptions = {}): Config {
  const source = mergedVariables(options);
  const problems: ConfigProblem[] = [];

  const read = <K extends ConfigVariable>(name: K): FieldValue<K> => {
    const spec = CONFIG_FIELDS[name] as FieldSpec<FieldValue<K>>;
    const given = source[name];
    const raw = given === undefined || given === "" ? spec.fallback : given;
    if (raw === undefined) return undefined as FieldValue<K>;
    const parsed = spec.parse(raw);
    if (parsed.ok) return parsed.value;
    // A secret's value never appears in the message, nor the password of a URL.
    const problem = spec.secret ? "the value given is not accepted" : maskUrlCredentials(parsed.problem);
    problems.push({ variable: name, problem, expected: parsed.expected });
    return undefined as FieldValue<K>;
  };
  const optional = (name: ConfigVariable): string | undefined => {
    const value = read(name);
    return typeof value === "string" && value !== "" ? value : undefined;
  };

  const environment = (read("ENVIRONMENT") as Environment | undefined) ?? detectEnvironment(source);
  const codespaceName = source.CODESPACE_NAME;
  const codespace =
    environment === "codespaces" && codespaceName
      ? { name: codespaceName, domain: source.GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN || "app.github.dev" }
      : undefined;

  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const home = source.HOME || homedir();
  const cacheDir =
    optional("CAPLINE_CACHE_DIR") ??
    (isRoot ? "/var/cache/capline" : join(source.XDG_CACHE_HOME || join(home, ".cache"), "capline"));
  const stateDir =
    optional("CAPLINE_STACK_DIR") ??
    (isRoot ? "/var/lib/capline" : join(source.XDG_STATE_HOME || join(home, ".local", "state"), "capline"));

  const username = optional("ELASTICSEARCH_USERNAME");
  const password = optional("ELASTICSEARCH_PASSWORD");
  if ((username === undefined) !== (password === undefined)) {
    problems.push({
      variable: username === undefined ? "ELASTICSEARCH_USERNAME" : "ELASTICSEARCH_PASSWORD",
      problem: "is unset while its partner is set",
      expected: "both ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD, or neither",
    });
  }
  const caCertPath = optional("ELASTICSEARCH_CA_CERT");
  if (caCertPath !== undefined && !existsSync(caCertPath)) {
    problems.push({
      variable: "ELASTICSEARCH_CA_CERT",
      problem: `no file at ${caCertPath}`,
      expected: "the path of a PEM file",
    });
  }

  const config: Config = {
    environment,
    codespace,
    kafka: {
      brokers: read("KAFKA_BROKERS"),
      clientId: read("KAFKA_CLIENT_ID"),
      topic: read("KAFKA_TOPIC"),
      dlqTopic: read("KAFKA_DLQ_TOPIC"),
      partitions: read("KAFKA_PARTITIONS"),
      replicationFactor: read("KAFKA_REPLICATION_FACTOR"),
      connectTimeoutMs: read("KAFKA_CONNECT_TIMEOUT_MS"),
    },
    elasticsearch: {
      url: read("ELASTICSEARCH_URL"),
      username,
      password,
      apiKey: optional("ELASTICSEARCH_API_KEY"),
      caCertPath,
      indexPrefix: read("ELASTICSEARCH_INDEX_PREFIX"),
      shards: read("ELASTICSEARCH_SHARDS"),
      replicas: read("ELASTICSEARCH_REPLICAS"),
      refreshInterval: read("ELASTICSEARCH_REFRESH_INTERVAL"),
      writeCacheMiB: read("ELASTICSEARCH_WRITE_CACHE_MIB"),
    },
    kibana: {
      url: read("KIBANA_URL"),
      username: optional("KIBANA_USERNAME") ?? username,
      password: optional("KIBANA_PASSWORD") ?? password,
    },
    minio: {
      endpoint: read("MINIO_ENDPOINT"),
      consoleUrl: read("MINIO_CONSOLE_URL"),
      accessKey: read("MINIO_ACCESS_KEY"),
      secretKey: read("MINIO_SECRET_KEY"),
      bucket: read("MINIO_BUCKET"),
      region: read("MINIO_REGION"),
    },
    hdfs: {
      namenode: read("HDFS_NAMENODE"),
      webhdfsUrl: read("WEBHDFS_URL"),
      datanodeUrl: optional("HDFS_DATANODE_URL"),
      user: read("HDFS_USER"),
      root: read("HDFS_ROOT"),
    },
    redis: { url: read("REDIS_URL"), queuePrefix: read("QUEUE_PREFIX") },
    dedup: { horizonDays: read("DEDUP_HORIZON_DAYS") },
    forget: { tombstoneDays: read("FORGET_TOMBSTONE_DAYS") },
    ingest: {
      maxPrice: read("INGEST_MAX_PRICE"),
      eventTimeMin: read("INGEST_EVENT_TIME_MIN"),
      eventTimeMax: read("INGEST_EVENT_TIME_MAX"),
      maxIdBytes: read("INGEST_MAX_ID_BYTES"),
      maxEventBytes: read("INGEST_MAX_EVENT_BYTES"),
      maxLineChars: read("INGEST_MAX_LINE_CHARS"),
    },
    archive: { minio: read("ARCHIVE_MINIO"), hdfs: read("ARCHIVE_HDFS") },
    stack: { cacheDir, stateDir, serviceUser: read("CAPLINE_SERVICE_USER") },
    report: { currency: optional("REPORT_CURRENCY") },
    monitor: {
      port: read("MONITOR_PORT"),
      host: read("MONITOR_HOST"),
      timeoutMs: read("MONITOR_TIMEOUT_MS"),
      cacheMs: read("MONITOR_CACHE_MS"),
      kibana: read("MONITOR_KIBANA"),
      skip: (optional("MONITOR_SKIP") ?? "").split(",").filter((s) => s !== ""),
      thresholds: {
        lagWarn: read("MONITOR_LAG_WARN"),
        stallSeconds: read("MONITOR_STALL_SECONDS"),
        dlqWarnPercent: read("MONITOR_DLQ_WARN_PERCENT"),
        dlqGrowthWarn: read("MONITOR_DLQ_GROWTH_WARN"),
        failedJobsWarn: read("MONITOR_FAILED_JOBS_WARN"),
        hdfsUsedWarnPercent: read("MONITOR_HDFS_USED_WARN_PERCENT"),
        redisMemoryWarnPercent: read("MONITOR_REDIS_MEMORY_WARN_PERCENT"),
      },
    },
    logLevel: read("LOG_LEVEL"),
    versions: {
      kafka: read("KAFKA_VERSION"),
      elastic: read("ELASTIC_VERSION"),
      hadoop: read("HADOOP_VERSION"),
      minioRelease: read("MINIO_RELEASE"),
      minioGoVersion: read("MINIO_GO_VERSION"),
      redis: read("REDIS_VERSION"),
    },
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * The URL a person should open for a service: on Codespaces, the forwarded-port form
 * `https://<codespace>-<port>.<domain>`; elsewhere the configured URL as it is.
 */
export function publicUrl(config: Config, url: string): string {
  if (!config.codespace) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  const local = ["127.0.0.1", "localhost", "0.0.0.0", "::1", "[::1]"].includes(parsed.hostname);
  if (!local) return url;
  const port = parsed.port || (parsed.protocol === "https:" ? "443" : "80");
  const path = parsed.pathname === "/" ? "" : parsed.pathname;
  return `https://${config.codespace.name}-${port}.${config.codespace.domain}${path}${parsed.search}`;
}

/** Configuration as it may be shown: secrets masked, present/absent only, URL passwords masked. */
export function describeConfig(config: Config): Record<string, unknown> {
  const mask = (v: string | undefined) => (v === undefined ? "(unset)" : "(set)");
  const shown = {
    ...config,
    elasticsearch: {
      ...config.elasticsearch,
      password: mask(config.elasticsearch.password),
      apiKey: mask(config.elasticsearch.apiKey),
    },
    kibana: { ...config.kibana, password: mask(config.kibana.password) },
    minio: { ...config.minio, secretKey: mask(config.minio.secretKey) },
  };
  return maskUrls(shown) as Record<string, unknown>;
}

/** Every string of a value with URL userinfo masked (REDIS_URL may carry a password). */
function maskUrls(value: unknown): unknown {
  if (typeof value === "string") return maskUrlCredentials(value);
  if (Array.isArray(value)) return value.map(maskUrls);
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskUrls(v)]));
  return value;
}

/** The password of a URL (`redis://:S3CRET@host`), decoded, if it has one. */
function urlPassword(raw: string): string | undefined {
  try {
    const url = new URL(raw);
    return url.password === "" ? undefined : decodeURIComponent(url.password);
  } catch {
    return undefined;
  }
}

/** Secret values of the configuration, for log and output redaction. */
export function secretValues(config: Config): string[] {
  return [
    config.elasticsearch.password,
    config.elasticsearch.apiKey,
    config.kibana.password,
    config.minio.secretKey,
    urlPassword(config.redis.url),
  ].filter((v): v is string => typeof v === "string" && v.length > 0);
}

// ---- Where each value comes from (`capline config --show-origin`, `capline doctor`) ----------

export type ConfigOrigin = "override" | "environment" | ".env.local" | ".env" | "default" | "unset";

export interface ConfigValueOrigin {
  variable: ConfigVariable;
  /** The value in force as written (secrets: "(set)"; passwords inside URLs masked). */
  value: string;
  origin: ConfigOrigin;
  /** Set where a later source gave the variable an empty value, which counts as unset. */
  emptiedBy?: Exclude<ConfigOrigin, "default" | "unset">;
  doc: string;
}

/** Every variable of CONFIG_FIELDS with the source its value comes from, by the precedence of mergedVariables. */
export function configOrigins(options: LoadOptions = {}): ConfigValueOrigin[] {
  const root = options.root ?? PROJECT_ROOT;
  const layers: [Exclude<ConfigOrigin, "default" | "unset">, Source][] = [
    ["override", options.overrides ?? {}],
    ["environment", options.env ?? process.env],
    [".env.local", readEnvFile(join(root, ".env.local"))],
    [".env", readEnvFile(join(root, ".env"))],
  ];
  return (Object.keys(CONFIG_FIELDS) as ConfigVariable[]).map((variable) => {
    const spec = CONFIG_FIELDS[variable] as FieldSpec<unknown>;
    // The first layer that defines the variable wins, even with an empty value (then: the default).
    const layer = layers.find(([, source]) => source[variable] !== undefined);
    const given = layer?.[1][variable];
    const fromLayer = given !== undefined && given !== "";
    const raw = fromLayer ? given : spec.fallback;
    const origin: ConfigOrigin = fromLayer && layer ? layer[0] : raw === undefined ? "unset" : "default";
    const shown =
      raw === undefined ? "" : spec.secret ? "(set)" : raw.replace(/(\/\/[^:@/\s]*):[^@/\s]+@/, "$1:***@");
    return {
      variable,
      value: shown,
      origin,
      ...(layer && !fromLayer ? { emptiedBy: layer[0] } : {}),
      doc: spec.doc,
    };
  });
}
