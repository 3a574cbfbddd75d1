/**
 * How each image of docker-compose.yml starts the service's `command`, read from the image's own
 * sources (docs/docker.md, "Image entrypoints", names each file and commit). No Docker engine runs
 * where capline is developed, so `entrypoints.test.ts` runs every service's command through a
 * shell script that passes the arguments the way that image's entrypoint does, with the programs
 * it finally starts replaced by recorders (`stubs/`), and checks what they were given.
 *
 * The entrypoint scripts (`entrypoints/*.sh`) are written from those sources, reduced to what
 * decides the program's arguments: how `$@` is expanded (quoted or not), what is prepended or
 * dropped, what runs first. Everything else the real scripts do (Kerberos, byteman, keystores,
 * chowning) is left out. The recorders are in `stubs/`.
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));

export interface ImageContract {
  /** The image repository, without the tag. */
  image: string;
  /** The image's ENTRYPOINT, as its Dockerfile sets it (empty: none). */
  entrypoint: string[];
  /** The image's CMD, used when a service gives no `command`. */
  cmd: string[];
  /**
   * The reduced entrypoint script (`entrypoints/<name>.sh`), run with the service's command (or the
   * CMD) as its arguments; undefined where the service must give no command at all (the image's
   * CMD is its launcher).
   */
  entry: string | undefined;
  /** Programs the entrypoint (or the command) finally starts, recorded instead of run. */
  programs: string[];
}

/** apache/hadoop (FROM apache/hadoop-runner): `dumb-init -- /opt/starter.sh`, ending in an unquoted `$@`. */
const hadoop: ImageContract = {
  image: "apache/hadoop",
  entrypoint: ["/usr/local/bin/dumb-init", "--", "/opt/starter.sh"],
  cmd: [],
  entry: "hadoop",
  programs: ["hdfs"],
};

/** apache/kafka: no ENTRYPOINT; CMD ["/etc/kafka/docker/run"] (a `command` replaces the launcher). */
const kafka: ImageContract = {
  image: "apache/kafka",
  entrypoint: [],
  cmd: ["/etc/kafka/docker/run"],
  // No entrypoint: a command would replace the launcher. `run` exports each of its own arguments
  // as VAR=value, configures the broker from KAFKA_* (see kafkaProperty), formats the storage with
  // CLUSTER_ID (required in KRaft mode) and execs kafka-server-start.sh.
  entry: undefined,
  programs: [],
};

/** Elasticsearch: `tini -- docker-entrypoint.sh`, CMD ["eswrapper"]. */
const elasticsearch: ImageContract = {
  image: "docker.elastic.co/elasticsearch/elasticsearch",
  entrypoint: ["/bin/tini", "--", "/usr/local/bin/docker-entrypoint.sh"],
  cmd: ["eswrapper"],
  entry: "elasticsearch",
  programs: ["elasticsearch"],
};

/** Kibana: `tini --`, CMD ["/usr/local/bin/kibana-docker"]. */
const kibana: ImageContract = {
  image: "docker.elastic.co/kibana/kibana",
  entrypoint: ["/bin/tini", "--"],
  cmd: ["/usr/local/bin/kibana-docker"],
  entry: "kibana",
  programs: ["kibana"],
};

/** The settings of kibana-docker's list that docker-compose.yml sets (elastic/dockerfiles, kibana/bin/kibana-docker). */
export const KIBANA_DOCKER_SETTINGS = ["elasticsearch.hosts", "server.publicBaseUrl", "telemetry.optIn"];

/** minio/minio: `docker-entrypoint.sh`, CMD ["minio"]. */
const minio: ImageContract = {
  image: "minio/minio",
  entrypoint: ["/usr/bin/docker-entrypoint.sh"],
  cmd: ["minio"],
  entry: "minio",
  programs: ["minio"],
};

/** redis: `docker-entrypoint.sh`, CMD ["redis-server"]. */
const redis: ImageContract = {
  image: "redis",
  entrypoint: ["docker-entrypoint.sh"],
  cmd: ["redis-server"],
  entry: "redis",
  programs: ["redis-server"],
};

/** capline:local, built from the Dockerfile: ENTRYPOINT ["node", "bin/capline.mjs"], exec form. */
const capline: ImageContract = {
  image: "capline:local",
  entrypoint: ["node", "bin/capline.mjs"],
  cmd: ["--help"],
  entry: "capline",
  programs: ["node"],
};

export const IMAGES: readonly ImageContract[] = [hadoop, kafka, elasticsearch, kibana, minio, redis, capline];

/** The contract of a service's image (`repo:tag` or `capline:local`). */
export function contractOf(image: string): ImageContract {
  const repo = image === "capline:local" ? image : image.replace(/:[^/:]+$/, "");
  const contract = IMAGES.find((c) => c.image === repo);
  if (!contract)
    throw new Error(`no entrypoint contract written for image ${image} (test/compose/images.ts)`);
  return contract;
}

/**
 * apache/hadoop-runner's envtoconf.py: a variable `<NAME>.<EXT>_<key>` (or `<NAME>_<EXT>_<key>`)
 * with a known format extension becomes `<key>: value` in `<name>.<ext>` of the configuration
 * folder; anything else is not configuration.
 */
export function envToConf(variable: string): { file: string; key: string } | undefined {
  const parts = variable.split(/[_.]/);
  const [name, extension] = [parts[0]?.toLowerCase(), parts[1]?.toLowerCase()];
  const formats = ["xml", "properties", "yaml", "yml", "env", "sh", "cfg", "conf"];
  if (!name || !extension || !formats.includes(extension)) return undefined;
  return { file: `${name}.${extension}`, key: variable.slice(name.length + extension.length + 2).trim() };
}

/** Variables the Kafka image's launcher does not turn into broker properties (KafkaDockerWrapper). */
export const KAFKA_NOT_PROPERTIES = [
  "KAFKA_VERSION",
  "KAFKA_HEAP_OPTS",
  "KAFKA_LOG4J_OPTS",
  "KAFKA_OPTS",
  "KAFKA_JMX_OPTS",
  "KAFKA_JVM_PERFORMANCE_OPTS",
  "KAFKA_GC_LOG_OPTS",
  "KAFKA_LOG4J_ROOT_LOGLEVEL",
  "KAFKA_LOG4J_LOGGERS",
  "KAFKA_TOOLS_LOG4J_LOGLEVEL",
  "KAFKA_JMX_HOSTNAME",
];

/** The broker property a KAFKA_* variable sets: lower case, `_` → `.`, `__` → `_`, `___` → `-`. */
export function kafkaProperty(variable: string): string | undefined {
  if (!variable.startsWith("KAFKA_") || KAFKA_NOT_PROPERTIES.includes(variable)) return undefined;
  return variable
    .slice("KAFKA_".length)
    .toLowerCase()
    .replaceAll("_", ".")
    .replaceAll("...", "-")
    .replaceAll("..", "_");
}

/** The path of an image's reduced entrypoint script. */
export function entryScript(contract: ImageContract): string {
  if (contract.entry === undefined) throw new Error(`${contract.image} takes no command`);
  return join(HERE, "entrypoints", `${contract.entry}.sh`);
}

/** The recorders: `stubs/<name>` for programs that do more than record, `stubs/record` for the rest. */
export const STUBS_DIR = join(HERE, "stubs");

/** Every program some entrypoint starts, recorded by `stubs/record` unless `stubs/` has its own. */
export const RECORDED = [...new Set(IMAGES.flatMap((c) => c.programs)), "gosu"];

/** The calls recorded in a $CAPLINE_RECORD file. */
export function parseRecord(text: string): string[][] {
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.split("\u001f"));
}
