import { describe, expect, it } from "vitest";
import { loadConfig } from "../core/config/index.ts";
import { isCaplineError } from "../core/errors.ts";
import {
  elasticsearchLaunch,
  formatDuration,
  HEAPS,
  hdfsLaunch,
  hdfsPorts,
  hostPort,
  kafkaClusterId,
  kafkaLaunch,
  kafkaServerProperties,
  minioLaunch,
  parseServiceName,
  redactUrl,
  redisConf,
  SERVICE_NAMES,
  serviceUrl,
  tail,
} from "./render.ts";

const config = (env: Record<string, string> = {}) => loadConfig({ env, root: "/nonexistent" });

function properties(text: string): Map<string, string> {
  return new Map(
    text
      .trim()
      .split("\n")
      .map((line) => {
        const at = line.indexOf("=");
        return [line.slice(0, at), line.slice(at + 1)] as [string, string];
      }),
  );
}

describe("hostPort", () => {
  it("reads host and port from URLs and host:port pairs", () => {
    expect(hostPort("http://127.0.0.1:9200", 1)).toEqual({ host: "127.0.0.1", port: 9200 });
    expect(hostPort("127.0.0.1:9092", 1)).toEqual({ host: "127.0.0.1", port: 9092 });
    expect(hostPort("redis://:pw@localhost:6380/0", 6379)).toEqual({ host: "localhost", port: 6380 });
    expect(hostPort("hdfs://nn:8020", 1)).toEqual({ host: "nn", port: 8020 });
  });
  it("falls back to the scheme's port, then to the default", () => {
    expect(hostPort("http://es.example", 9200)).toEqual({ host: "es.example", port: 80 });
    expect(hostPort("https://es.example", 9200)).toEqual({ host: "es.example", port: 443 });
    expect(hostPort("redis://cache", 6379)).toEqual({ host: "cache", port: 6379 });
    expect(hostPort("[::1]:9092", 1)).toEqual({ host: "::1", port: 9092 });
  });
});

describe("service names", () => {
  it("accepts the five services and names them when refusing", () => {
    for (const name of SERVICE_NAMES) expect(parseServiceName(name)).toBe(name);
    try {
      parseServiceName("kibana");
      expect.unreachable();
    } catch (error) {
      expect(isCaplineError(error) && error.code).toBe("USAGE");
      expect((error as Error).message).toContain("kafka, elasticsearch, minio, hdfs, redis");
    }
  });
  it("prints the configured address of each service, without a Redis password", () => {
    const c = config({ REDIS_URL: "redis://:s3cret-pass@127.0.0.1:6390", KAFKA_BROKERS: "127.0.0.1:19092" });
    expect(serviceUrl(c, "kafka")).toBe("127.0.0.1:19092");
    expect(serviceUrl(c, "elasticsearch")).toBe("http://127.0.0.1:9200");
    expect(serviceUrl(c, "hdfs")).toBe("http://127.0.0.1:9870");
    expect(serviceUrl(c, "redis")).not.toContain("s3cret");
    expect(redactUrl("redis://u:pw@h:1")).toBe("redis://u:***@h:1");
  });
});

describe("Kafka server.properties", () => {
  it("runs broker and controller in one process on the configured address", () => {
    const p = properties(kafkaServerProperties(config(), { dataDir: "/data/kafka" }));
    expect(p.get("process.roles")).toBe("broker,controller");
    expect(p.get("listeners")).toBe("PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093");
    expect(p.get("advertised.listeners")).toBe("PLAINTEXT://127.0.0.1:9092");
    expect(p.get("controller.quorum.voters")).toBe("1@127.0.0.1:9093");
    expect(p.get("log.dirs")).toBe("/data/kafka");
  });
  it("lets transactions and consumer groups work on a single broker", () => {
    const p = properties(kafkaServerProperties(config(), { dataDir: "/d" }));
    expect(p.get("offsets.topic.replication.factor")).toBe("1");
    expect(p.get("transaction.state.log.replication.factor")).toBe("1");
    expect(p.get("transaction.state.log.min.isr")).toBe("1");
    expect(p.get("auto.create.topics.enable")).toBe("true");
  });
  it("follows KAFKA_BROKERS (controller on the next port)", () => {
    const p = properties(
      kafkaServerProperties(config({ KAFKA_BROKERS: "127.0.0.1:19092" }), { dataDir: "/d" }),
    );
    expect(p.get("listeners")).toBe("PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093");
  });
  it("makes 22-character cluster ids from 16 bytes", () => {
    const id = kafkaClusterId(Buffer.alloc(16, 0xff));
    expect(id).toBe("_____________________w");
    expect(kafkaClusterId()).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(kafkaClusterId()).not.toBe(kafkaClusterId());
  });
  it("formats then runs kafka.Kafka with a fixed heap", () => {
    const l = kafkaLaunch("/jdk/bin/java", "/cache/libs", "/state/config", "/state");
    expect(l.server.args).toContain(`-Xmx${HEAPS.kafka}`);
    expect(l.server.args.slice(-2)).toEqual(["kafka.Kafka", "/state/config/server.properties"]);
    expect(l.server.args).toContain("/cache/libs/*");
    expect(l.format("abc").args.slice(-6)).toEqual([
      "kafka.tools.StorageTool",
      "format",
      "-t",
      "abc",
      "-c",
      "/state/config/server.properties",
    ]);
  });
});

describe("launch lines", () => {
  it("starts Elasticsearch single-node, security off, on the configured port", () => {
    const l = elasticsearchLaunch(config({ ELASTICSEARCH_URL: "http://127.0.0.1:19200" }), "/es", "/jdk", {
      configDir: "/s/config",
      dataDir: "/s/data",
      logsDir: "/s/logs",
    });
    const settings = l.args.filter((_, i) => l.args[i - 1] === "-E");
    expect(settings).toEqual(
      expect.arrayContaining([
        "discovery.type=single-node",
        "xpack.security.enabled=false",
        "network.host=127.0.0.1",
        "http.port=19200",
        "path.data=/s/data",
      ]),
    );
    expect(l.env.ES_JAVA_HOME).toBe("/jdk");
    expect(l.env.ES_PATH_CONF).toBe("/s/config");
    expect(l.env.ES_JAVA_OPTS).toBe(`-Xms${HEAPS.elasticsearch} -Xmx${HEAPS.elasticsearch}`);
  });
  it("gives MinIO its keys through the environment only", () => {
    const c = config({ MINIO_SECRET_KEY: "very-secret-key" });
    const l = minioLaunch(c, "/bin/minio", "/data");
    expect(l.args).toEqual([
      "server",
      "/data",
      "--address",
      "127.0.0.1:9000",
      "--console-address",
      "127.0.0.1:9001",
    ]);
    expect(l.args.join(" ")).not.toContain("very-secret-key");
    expect(l.env.MINIO_ROOT_PASSWORD).toBe("very-secret-key");
    expect(l.env.MINIO_ROOT_USER).toBe("capline");
  });
  it("starts HDFS with fixed NameNode and DataNode ports, the DataNode's following its HTTP port", () => {
    const c = config({ HDFS_DATANODE_URL: "http://127.0.0.1:19864" });
    expect(hdfsPorts(c)).toEqual({
      rpc: 8020,
      http: 9870,
      datanodeHttp: 19864,
      datanodeData: 19866,
      datanodeIpc: 19867,
    });
    const l = hdfsLaunch(c, "/jdk/bin/java", "/cp", "/conf", "/base");
    expect(l.args.slice(-7)).toEqual(["CaplineMiniHdfs", "/base", "8020", "9870", "19864", "19866", "19867"]);
    expect(l.args).toContain(`-Xmx${HEAPS.hdfs}`);
  });
  it("keeps the JVM heaps within about 3 GiB together", () => {
    const mib = (h: string) => Number(h.replace(/m$/, ""));
    expect(mib(HEAPS.kafka) + mib(HEAPS.elasticsearch) + mib(HEAPS.hdfs)).toBeLessThanOrEqual(2048);
  });
});

describe("redis.conf", () => {
  it("binds to the configured address, never evicts, persists with an append-only file", () => {
    const text = redisConf(config({ REDIS_URL: "redis://127.0.0.1:6390" }), "/state/redis");
    const lines = text.trim().split("\n");
    expect(lines).toEqual(
      expect.arrayContaining([
        "bind 127.0.0.1",
        "port 6390",
        'dir "/state/redis"',
        "maxmemory-policy noeviction",
        "appendonly yes",
      ]),
    );
    expect(text).not.toContain("requirepass");
  });
  it("sets the URL's password, quoted", () => {
    const text = redisConf(config({ REDIS_URL: "redis://:pa%22ss@127.0.0.1:6379" }), "/d");
    expect(text).toContain('requirepass "pa\\"ss"');
  });
});

describe("small formatting", () => {
  it("keeps the last lines of a log", () => {
    expect(tail("a\nb\nc\n\n", 2)).toBe("b\nc");
    expect(tail("only", 5)).toBe("only");
  });
  it("prints durations", () => {
    expect(formatDuration(850)).toBe("850ms");
    expect(formatDuration(12_345)).toBe("12.3s");
  });
});
