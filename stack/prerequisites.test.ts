import { describe, expect, it } from "vitest";
import { loadConfig } from "../core/config/index.ts";
import { CODESPACES_COMPOSE_FILE, composeEnvironment, composeServices } from "./index.ts";
import {
  debianVersion,
  type Host,
  missingPrerequisites,
  prerequisitesJson,
  renderPrerequisites,
} from "./prerequisites.ts";
import { SERVICE_NAMES, type ServiceName } from "./render.ts";

/** A machine with everything (Debian bookworm, Java 17, Go 1.26, Node 24), with some parts changed. */
function host(changes: Partial<Host> & { without?: string[]; cached?: ServiceName[] } = {}): Host {
  const { without = [], cached = [], ...rest } = changes;
  const apt: Record<string, string> = {
    "openjdk-17-jdk-headless": "17.0.21.1+2-1~deb12u1",
    maven: "3.8.7-1",
    "redis-server": "5:7.0.15-1~deb12u6",
    "golang-go": "2:1.19~1",
  };
  return {
    which: (p) => (without.includes(p) ? undefined : `/usr/bin/${p}`),
    javaMajor: () => 17,
    goVersion: () => [1, 26],
    nodeVersion: [24, 11],
    installed: (s) => cached.includes(s),
    aptCandidate: (pkg) => apt[pkg],
    ...rest,
  };
}

const programs = (services: readonly ServiceName[], h: Host) =>
  missingPrerequisites(services, h).map((p) => p.program);

describe("missing prerequisites of the local stack", () => {
  it("none on a complete machine", () => {
    expect(missingPrerequisites(SERVICE_NAMES, host())).toEqual([]);
  });

  it("lists every missing program at once, each with its Debian package and install command", () => {
    const bare = host({ without: ["java", "javac", "mvn", "go", "redis-server"] });
    const missing = missingPrerequisites(SERVICE_NAMES, bare);
    expect(missing.map((p) => [p.program, p.debianPackage])).toEqual([
      ["java", "openjdk-17-jdk-headless"],
      ["mvn", "maven"],
      // Debian 12's Go (1.19) is too old to build MinIO: no package, a pointer instead.
      ["go", undefined],
      ["redis-server", "redis-server"],
    ]);
    expect(missing.find((p) => p.program === "java")?.neededFor).toEqual(["kafka", "elasticsearch", "hdfs"]);
    expect(missing.find((p) => p.program === "go")?.install).toBe("install Go 1.24+ from https://go.dev/dl/");
    expect(missing.find((p) => p.program === "redis-server")?.install).toBe("apt-get install redis-server");
    const text = renderPrerequisites(missing);
    expect(text).toContain("redis-server  not installed; needed for redis");
    expect(text).toContain("→ apt-get install maven");
    expect(prerequisitesJson(missing)[1]).toEqual({
      program: "mvn",
      needed_for: ["kafka", "elasticsearch", "hdfs"],
      problem: "not installed (resolves the servers' jars from Maven Central, once)",
      debian_package: "maven",
      install: "apt-get install maven",
    });
  });

  it("asks only for what the services to start need", () => {
    const bare = host({ without: ["java", "javac", "mvn", "go", "redis-server"] });
    expect(programs(["redis"], bare)).toEqual(["redis-server"]);
    expect(programs(["minio"], bare)).toEqual(["go"]);
    expect(programs(["kafka"], bare)).toEqual(["java", "mvn"]);
    expect(programs([], bare)).toEqual([]);
  });

  it("needs no Maven or Go for what is cached already, but Java to run it", () => {
    const bare = host({
      without: ["java", "mvn", "go"],
      cached: ["kafka", "elasticsearch", "hdfs", "minio"],
    });
    expect(programs(SERVICE_NAMES, bare)).toEqual(["java"]);
  });

  it("refuses a Java older than 17 and a JRE while the HDFS launcher is not compiled", () => {
    expect(missingPrerequisites(["kafka"], host({ javaMajor: () => 11 }))[0]?.problem).toBe(
      "Java 11 is older than 17",
    );
    expect(programs(["hdfs"], host({ without: ["javac"] }))).toEqual(["javac"]);
    expect(programs(["hdfs"], host({ without: ["javac"], cached: ["hdfs"] }))).toEqual([]);
  });

  it("picks the JDK package the distribution has: 17, else 21, else its default", () => {
    const apt = (have: Record<string, string>) => host({ without: ["java"], aptCandidate: (p) => have[p] });
    const jdk = (h: Host) => missingPrerequisites(["kafka"], h)[0]?.debianPackage;
    expect(jdk(apt({ "openjdk-21-jdk-headless": "21.0.8+9-1" }))).toBe("openjdk-21-jdk-headless");
    expect(jdk(apt({ "default-jdk-headless": "2:1.25-76" }))).toBe("default-jdk-headless");
    // No package lists yet (a fresh container before apt-get update): no package to offer.
    expect(jdk(apt({}))).toBeUndefined();
  });

  it("takes Go from apt only where it is new enough (Debian 13: 1.24)", () => {
    const trixie = host({
      without: ["go"],
      aptCandidate: (p) => (p === "golang-go" ? "2:1.24~2" : undefined),
    });
    expect(missingPrerequisites(["minio"], trixie)[0]).toMatchObject({
      debianPackage: "golang-go",
      install: "apt-get install golang-go",
    });
    expect(missingPrerequisites(["minio"], host({ goVersion: () => [1, 22] }))[0]?.problem).toBe(
      "Go 1.22 is older than 1.24",
    );
  });

  it("names a Node older than 22.22", () => {
    expect(missingPrerequisites([], host({ nodeVersion: [20, 20] }))[0]).toMatchObject({
      program: "node",
      problem: "Node 20.20 is older than 22.22",
    });
    expect(missingPrerequisites([], host({ nodeVersion: [22, 22] }))).toEqual([]);
  });

  it("reads Debian version strings", () => {
    expect(debianVersion("2:1.24~2")).toEqual([1, 24]);
    expect(debianVersion("17.0.21.1+2-1~deb12u1")).toEqual([17, 0]);
    expect(debianVersion("(none)")).toBeUndefined();
  });
});

describe("the stack through Docker Compose", () => {
  it("starts the servers the stack lacks, never capline's own processes", () => {
    expect(composeServices(SERVICE_NAMES)).toEqual([
      "kafka",
      "elasticsearch",
      "kibana",
      "minio",
      "namenode",
      "datanode",
      "redis",
    ]);
    expect(composeServices(["redis", "hdfs"])).toEqual(["namenode", "datanode", "redis"]);
    expect(composeServices([])).toEqual([]);
  });

  it("applies the Codespaces override in a Codespace, unless COMPOSE_FILE says otherwise", () => {
    const codespace = loadConfig({ env: { CODESPACES: "true", CODESPACE_NAME: "fuzzy-space-42" } });
    const laptop = loadConfig({ env: {} });
    expect(composeEnvironment(codespace, { PATH: "/bin" })).toEqual({
      PATH: "/bin",
      COMPOSE_FILE: CODESPACES_COMPOSE_FILE,
    });
    expect(composeEnvironment(codespace, { COMPOSE_FILE: "mine.yml" }).COMPOSE_FILE).toBe("mine.yml");
    expect(composeEnvironment(laptop, { PATH: "/bin" })).toEqual({ PATH: "/bin" });
  });
});
