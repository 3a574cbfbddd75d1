import { describe, expect, it } from "vitest";
import { configOrigins, loadConfig } from "../core/config/index.ts";
import { renderDoctor } from "./doctor.ts";
import {
  checkDisk,
  checkDocker,
  checkMaxMapCount,
  checkNode,
  servicePorts,
  summarize,
} from "./doctor-checks.ts";

describe("capline doctor's checks", () => {
  it("Node: 22.22 and later pass; older fails with the fix", () => {
    expect(checkNode("24.11.0").status).toBe("ok");
    expect(checkNode("22.22.0").status).toBe("ok");
    const old = checkNode("20.20.0");
    expect(old).toMatchObject({ status: "fail", detail: expect.stringContaining("older than 22.22") });
    expect(old.fix).toContain("Node 24 LTS");
  });

  it("Docker: optional; an engine that does not answer matters only while a service is down", () => {
    expect(checkDocker({ cli: false, engine: undefined, compose: undefined }, false)).toMatchObject([
      { status: "ok", detail: expect.stringContaining("local processes") },
    ]);
    const stopped = { cli: true, engine: undefined, compose: undefined };
    expect(checkDocker(stopped, true)[0]?.status).toBe("ok");
    expect(checkDocker(stopped, false)[0]).toMatchObject({
      status: "warn",
      fix: expect.stringContaining("start Docker"),
    });
    const noCompose = checkDocker({ cli: true, engine: "28.2.2", compose: undefined }, true);
    expect(noCompose.map((c) => [c.name, c.status])).toEqual([
      ["docker", "ok"],
      ["docker compose", "warn"],
    ]);
    expect(noCompose[1]?.fix).toContain("docker-compose-plugin");
  });

  it("vm.max_map_count: below 262144 warns where Docker runs Elasticsearch, with the fix", () => {
    expect(checkMaxMapCount(262_144, true).status).toBe("ok");
    expect(checkMaxMapCount(65_530, true)).toMatchObject({
      status: "warn",
      fix: expect.stringContaining("sudo sysctl -w vm.max_map_count=262144"),
    });
    expect(checkMaxMapCount(65_530, false)).toMatchObject({
      status: "ok",
      detail: expect.stringContaining("262144"),
    });
    expect(checkMaxMapCount(undefined, true).status).toBe("ok");
  });

  it("disk: one line per file system, warning below 5 GB and failing below 1 GB", () => {
    const config = loadConfig({ env: { CAPLINE_STACK_DIR: "/tmp/a/b", CAPLINE_CACHE_DIR: "/tmp/c" } });
    const at = (gb: number) => checkDisk(config, () => gb * 1024 ** 3);
    expect(at(70)).toHaveLength(1);
    expect(at(70)[0]?.detail).toBe("70.0 GB free (data /tmp/a/b, artifacts /tmp/c)");
    expect(at(3)[0]?.status).toBe("warn");
    expect(at(0.5)[0]).toMatchObject({ status: "fail", fix: expect.stringContaining("CAPLINE_STACK_DIR") });
  });

  it("the ports of each service come from its configured URLs, loopback only", () => {
    const config = loadConfig({
      env: { KAFKA_BROKERS: "127.0.0.1:9092,broker.example:9092", REDIS_URL: "redis://:pw@127.0.0.1:6380" },
    });
    const ports = servicePorts(config).map((p) => `${p.service}:${p.port}`);
    expect(ports).toContain("kafka:9092");
    expect(ports.filter((p) => p.startsWith("kafka"))).toEqual(["kafka:9092"]);
    expect(ports).toContain("redis:6380");
    expect(ports).toEqual(
      expect.arrayContaining(["minio:9000", "minio:9001", "hdfs:8020", "hdfs:9870", "hdfs:9864"]),
    );
  });

  it("the report: healthy / warnings / broken, each problem followed by its fix", () => {
    expect(summarize([{ name: "a", status: "ok", detail: "fine" }]).status).toBe("healthy");
    const report = summarize([
      { name: "node", status: "ok", detail: "Node 24" },
      { name: "topics", status: "warn", detail: "missing: x", fix: "run `capline setup`" },
      { name: "redis", status: "fail", detail: "not reachable", fix: "start it:\nline two" },
    ]);
    expect(report.status).toBe("broken");
    const text = renderDoctor(report).split("\n");
    expect(text[0]).toBe("capline doctor: broken (1 problem, 1 warning)");
    expect(text).toContain("  FAIL  redis   not reachable");
    expect(text).toContain("                fix: start it:");
    expect(text).toContain("                line two");
  });
});

describe("capline config --show-origin", () => {
  it("names the source of every value, by the loader's precedence, and masks secrets", () => {
    const origins = configOrigins({
      env: {
        KAFKA_BROKERS: "env:9092",
        MINIO_SECRET_KEY: "from-the-environment",
        REDIS_URL: "redis://user:hunter22@127.0.0.1:6379",
        KAFKA_TOPIC: "",
      },
      overrides: { QUEUE_PREFIX: "flag" },
    });
    const of = (v: string) => origins.find((o) => o.variable === v);
    expect(of("KAFKA_BROKERS")).toMatchObject({ value: "env:9092", origin: "environment" });
    expect(of("QUEUE_PREFIX")).toMatchObject({ value: "flag", origin: "override" });
    // From the repository's .env.
    expect(of("KAFKA_DLQ_TOPIC")).toMatchObject({ value: "customer-events.dlq", origin: ".env" });
    // An empty value in the environment hides .env and leaves the built-in default in force.
    expect(of("KAFKA_TOPIC")).toMatchObject({
      value: "customer-events",
      origin: "default",
      emptiedBy: "environment",
    });
    expect(of("KAFKA_CLIENT_ID")).toMatchObject({ value: "capline", origin: "default" });
    expect(of("ELASTICSEARCH_PASSWORD")).toMatchObject({ value: "", origin: "unset" });
    expect(of("MINIO_SECRET_KEY")).toMatchObject({ value: "(set)", origin: "environment" });
    expect(of("REDIS_URL")?.value).toBe("redis://user:***@127.0.0.1:6379");
    expect(JSON.stringify(origins)).not.toContain("hunter22");
    expect(JSON.stringify(origins)).not.toContain("from-the-environment");
  });
});
