import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { type Config, PROJECT_ROOT } from "../core/config/index.ts";
import { CaplineError } from "../core/errors.ts";
import { run } from "./process.ts";
import type { ServiceName } from "./render.ts";

/**
 * Resolves each server's artifacts once into the cache (outside the repository): Maven Central
 * jars for Kafka and HDFS, Elastic's distribution zip, a MinIO binary built with `go install`.
 * Each step writes a stamp file when complete, so a second install (or `up`) costs nothing.
 */

const JAVA_DIR = join(PROJECT_ROOT, "stack", "java");

export interface Artifacts {
  kafka: { libsDir: string };
  elasticsearch: { home: string };
  minio: { binary: string };
  hdfs: { classpath: string };
  redis: { binary: string };
}

export function artifactPaths(config: Config): Artifacts {
  const cache = config.stack.cacheDir;
  const v = config.versions;
  return {
    kafka: { libsDir: join(cache, "kafka", v.kafka, "libs") },
    elasticsearch: { home: join(cache, "elasticsearch", v.elastic, `elasticsearch-${v.elastic}`) },
    minio: { binary: join(cache, "minio", v.minioGoVersion, "minio") },
    hdfs: { classpath: join(cache, "hdfs", v.hadoop, "classpath.txt") },
    redis: { binary: findOnPath("redis-server") ?? "redis-server" },
  };
}

export function findOnPath(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, program);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** JAVA_HOME if set, else the JDK that `java` on PATH belongs to. */
export function javaHome(): string {
  const fromEnv = process.env.JAVA_HOME;
  if (fromEnv && existsSync(join(fromEnv, "bin", "java"))) return fromEnv;
  const java = findOnPath("java");
  if (!java)
    throw new CaplineError(
      "STACK_FAILED",
      "no Java found: install a JDK 17+ (e.g. apt-get install openjdk-17-jdk-headless) or set JAVA_HOME",
    );
  return dirname(dirname(realpathSync(java)));
}

export function javaBin(): string {
  return join(javaHome(), "bin", "java");
}

function stamp(dir: string): string {
  return join(dir, ".capline-complete");
}

function isDone(dir: string, key = "ok"): boolean {
  const file = stamp(dir);
  return existsSync(file) && readFileSync(file, "utf8").trim() === key;
}

function markDone(dir: string, key = "ok"): void {
  writeFileSync(stamp(dir), `${key}\n`);
}

function mavenArgs(config: Config): string[] {
  return ["-B", "-q", `-Dmaven.repo.local=${join(config.stack.cacheDir, "m2")}`];
}

function requireTool(program: string, hint: string): string {
  const found = findOnPath(program);
  if (!found) throw new CaplineError("STACK_FAILED", `${program} is not installed: ${hint}`);
  return found;
}

function failure(service: ServiceName, error: unknown): CaplineError {
  const message = error instanceof Error ? error.message : String(error);
  return new CaplineError("STACK_FAILED", `installing ${service} failed: ${message}`, { cause: error });
}

type Progress = (line: string) => void;

async function installKafka(config: Config, progress: Progress): Promise<boolean> {
  const dir = join(config.stack.cacheDir, "kafka", config.versions.kafka);
  if (isDone(dir)) return false;
  requireTool("mvn", "apt-get install maven");
  const libs = join(dir, "libs");
  progress(`kafka: resolving kafka_2.13 ${config.versions.kafka} and its dependencies from Maven Central`);
  rmSync(libs, { recursive: true, force: true });
  mkdirSync(libs, { recursive: true });
  await run(
    "mvn",
    [
      ...mavenArgs(config),
      "-f",
      join(JAVA_DIR, "kafka", "pom.xml"),
      `-Dkafka.version=${config.versions.kafka}`,
      "dependency:copy-dependencies",
      "-DincludeScope=runtime",
      `-DoutputDirectory=${libs}`,
    ],
    { timeoutMs: 15 * 60_000 },
  );
  markDone(dir);
  return true;
}

async function installElasticsearch(config: Config, progress: Progress): Promise<boolean> {
  const version = config.versions.elastic;
  const dir = join(config.stack.cacheDir, "elasticsearch", version);
  if (isDone(dir)) return false;
  requireTool("mvn", "apt-get install maven");
  progress(`elasticsearch: downloading the ${version} distribution from Maven Central`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // Elastic publishes its minimal (Apache-2.0 modules only) distribution to Maven Central for
  // integration tests: a real Elasticsearch 8 that the 8.x client accepts. See docs/stack.md.
  await run(
    "mvn",
    [
      ...mavenArgs(config),
      "dependency:unpack",
      `-Dartifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:${version}:zip`,
      `-DoutputDirectory=${dir}`,
    ],
    { cwd: dir, timeoutMs: 15 * 60_000 },
  );
  const home = join(dir, `elasticsearch-${version}`);
  if (!existsSync(join(home, "bin", "elasticsearch")))
    throw new Error(`the distribution did not unpack to ${home}`);
  // The Maven unpacker drops the executable bits.
  for (const file of readdirSync(join(home, "bin"))) chmodSync(join(home, "bin", file), 0o755);
  markDone(dir);
  return true;
}

/** The HDFS launcher's stamp key: it is rebuilt whenever its source or pom changes. */
function hdfsKey(): string {
  return createHash("sha256")
    .update(readFileSync(join(JAVA_DIR, "hdfs", "src", "CaplineMiniHdfs.java")))
    .update(readFileSync(join(JAVA_DIR, "hdfs", "pom.xml")))
    .digest("hex")
    .slice(0, 16);
}

/** Whether a service's artifacts are in the cache already (then `up` needs no Maven or Go for it). */
export function installed(config: Config, service: ServiceName): boolean {
  const cache = config.stack.cacheDir;
  switch (service) {
    case "kafka":
      return isDone(join(cache, "kafka", config.versions.kafka));
    case "elasticsearch":
      return isDone(join(cache, "elasticsearch", config.versions.elastic));
    case "hdfs":
      return isDone(join(cache, "hdfs", config.versions.hadoop), hdfsKey());
    case "minio":
      return existsSync(artifactPaths(config).minio.binary);
    case "redis":
      return findOnPath("redis-server") !== undefined;
  }
}

async function installHdfs(config: Config, progress: Progress): Promise<boolean> {
  const dir = join(config.stack.cacheDir, "hdfs", config.versions.hadoop);
  const source = join(JAVA_DIR, "hdfs", "src", "CaplineMiniHdfs.java");
  const pom = join(JAVA_DIR, "hdfs", "pom.xml");
  const key = hdfsKey();
  if (isDone(dir, key)) return false;
  requireTool("mvn", "apt-get install maven");
  mkdirSync(dir, { recursive: true });
  const classpathFile = join(dir, "classpath.txt");
  progress(
    `hdfs: resolving hadoop-minicluster ${config.versions.hadoop} from Maven Central, compiling the launcher`,
  );
  await run(
    "mvn",
    [
      ...mavenArgs(config),
      "-f",
      pom,
      `-Dhadoop.version=${config.versions.hadoop}`,
      "dependency:build-classpath",
      "-DincludeScope=runtime",
      `-Dmdep.outputFile=${classpathFile}`,
    ],
    { timeoutMs: 20 * 60_000 },
  );
  const classes = join(dir, "classes");
  rmSync(classes, { recursive: true, force: true });
  mkdirSync(classes, { recursive: true });
  const javac = join(javaHome(), "bin", "javac");
  if (!existsSync(javac)) throw new Error(`no javac at ${javac}: install a JDK, not only a JRE`);
  await run(javac, ["-nowarn", "-d", classes, "-cp", readFileSync(classpathFile, "utf8").trim(), source]);
  markDone(dir, key);
  return true;
}

async function installMinio(config: Config, progress: Progress): Promise<boolean> {
  const binary = artifactPaths(config).minio.binary;
  if (existsSync(binary)) return false;
  const go = requireTool("go", "install Go 1.24+ from https://go.dev/dl/");
  const dir = dirname(binary);
  mkdirSync(dir, { recursive: true });
  progress(`minio: building ${config.versions.minioGoVersion} with go install (a few minutes, once)`);
  // Building MinIO takes a few minutes once; the module cache stays under the artifact cache.
  await run(go, ["install", `github.com/minio/minio@${config.versions.minioGoVersion}`], {
    env: {
      GOBIN: dir,
      CGO_ENABLED: "0",
      GOFLAGS: "-trimpath",
      GOMODCACHE: process.env.GOMODCACHE ?? join(config.stack.cacheDir, "go", "mod"),
      GOCACHE: process.env.GOCACHE ?? join(config.stack.cacheDir, "go", "build"),
    },
    timeoutMs: 30 * 60_000,
  });
  if (!existsSync(binary)) throw new Error(`go install finished but ${binary} is missing`);
  return true;
}

async function installRedis(): Promise<boolean> {
  requireTool("redis-server", "apt-get install redis-server");
  return false;
}

export const INSTALLERS: Record<ServiceName, (config: Config, progress: Progress) => Promise<boolean>> = {
  kafka: installKafka,
  elasticsearch: installElasticsearch,
  minio: installMinio,
  hdfs: installHdfs,
  redis: installRedis,
};

export interface InstallResult {
  service: ServiceName;
  installed: boolean;
  ms: number;
}

/**
 * Installs the given services' artifacts. Maven runs one at a time (its local repository is not
 * safe for concurrent writers); the MinIO build runs beside them.
 */
export async function install(
  config: Config,
  services: readonly ServiceName[],
  progress: Progress = () => undefined,
): Promise<InstallResult[]> {
  mkdirSync(config.stack.cacheDir, { recursive: true });
  const one = async (service: ServiceName): Promise<InstallResult> => {
    const started = Date.now();
    try {
      const installed = await INSTALLERS[service](config, progress);
      return { service, installed, ms: Date.now() - started };
    } catch (error) {
      throw error instanceof CaplineError ? error : failure(service, error);
    }
  };
  const maven: ServiceName[] = services.filter((s) => s === "kafka" || s === "elasticsearch" || s === "hdfs");
  const others = services.filter((s) => !maven.includes(s));
  const sequential = (async () => {
    const results: InstallResult[] = [];
    for (const s of maven) results.push(await one(s));
    return results;
  })();
  const [a, b] = await Promise.all([sequential, Promise.all(others.map(one))]);
  const byName = new Map([...a, ...b].map((r) => [r.service, r]));
  return services.map((s) => byName.get(s)).filter((r): r is InstallResult => r !== undefined);
}

/** The classpath the HDFS launcher runs with: its own classes, then the minicluster's jars. */
export function hdfsClasspath(config: Config): string {
  const dir = join(config.stack.cacheDir, "hdfs", config.versions.hadoop);
  return [resolve(dir, "classes"), readFileSync(join(dir, "classpath.txt"), "utf8").trim()].join(delimiter);
}
