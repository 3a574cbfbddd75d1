import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError } from "../errors.ts";
import { CONFIG_FIELDS, describeConfig, loadConfig, parseEnvFile, publicUrl, secretValues } from "./index.ts";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "capline-config-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function problemsOf(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("parseEnvFile", () => {
  it("reads comments, export, quotes, inline comments, BOM and CRLF", () => {
    const text = "\uFEFF# c\r\nA=1\r\nexport B = two words # note\nC=\"x # y\\n\"\nD='$raw'\nE=\n";
    expect(parseEnvFile(text)).toEqual({ A: "1", B: "two words", C: "x # y\n", D: "$raw", E: "" });
  });

  it("names the file and line of a malformed line", () => {
    expect(() => parseEnvFile("A=1\nnot a pair\n", ".env.local")).toThrow(".env.local:2");
  });
});

describe("loadConfig", () => {
  it("uses the built-in defaults when nothing is set", () => {
    const config = loadConfig({ root, env: {} });
    expect(config.kafka.brokers).toEqual(["127.0.0.1:9092"]);
    expect(config.kafka.partitions).toBe(6);
    expect(config.elasticsearch.url).toBe("http://127.0.0.1:9200");
    expect(config.hdfs.root).toBe("/capline");
    expect(config.environment).toBe("local");
    expect(config.elasticsearch.apiKey).toBeUndefined();
  });

  it("layers .env < .env.local < environment < overrides", () => {
    writeFileSync(
      join(root, ".env"),
      "KAFKA_TOPIC=from-env-file\nMINIO_BUCKET=file-bucket\nKAFKA_PARTITIONS=3\nREDIS_URL=redis://a:1\n",
    );
    writeFileSync(
      join(root, ".env.local"),
      "MINIO_BUCKET=local-bucket\nKAFKA_PARTITIONS=4\nREDIS_URL=redis://b:2\n",
    );
    const config = loadConfig({
      root,
      env: { KAFKA_PARTITIONS: "5", REDIS_URL: "redis://c:3" },
      overrides: { REDIS_URL: "redis://d:4" },
    });
    expect(config.kafka.topic).toBe("from-env-file");
    expect(config.minio.bucket).toBe("local-bucket");
    expect(config.kafka.partitions).toBe(5);
    expect(config.redis.url).toBe("redis://d:4");
  });

  it("treats an empty value as unset", () => {
    writeFileSync(join(root, ".env"), "KAFKA_PARTITIONS=\n");
    expect(loadConfig({ root, env: {} }).kafka.partitions).toBe(6);
  });

  it("reports every bad variable at once, naming the value's problem and what is expected", () => {
    const problems = problemsOf(() =>
      loadConfig({
        root,
        env: {
          KAFKA_PARTITIONS: "six",
          KAFKA_BROKERS: "localhost",
          ELASTICSEARCH_URL: "ftp://x",
          MINIO_BUCKET: "Bad_Bucket",
          ARCHIVE_HDFS: "maybe",
          HDFS_ROOT: "relative/path",
          LOG_LEVEL: "loud",
        },
      }),
    );
    const byVar = Object.fromEntries(problems.map((p) => [p.variable, p]));
    expect(Object.keys(byVar).sort()).toEqual(
      [
        "ARCHIVE_HDFS",
        "ELASTICSEARCH_URL",
        "HDFS_ROOT",
        "KAFKA_BROKERS",
        "KAFKA_PARTITIONS",
        "LOG_LEVEL",
        "MINIO_BUCKET",
      ].sort(),
    );
    expect(byVar.KAFKA_PARTITIONS?.problem).toContain('"six" is not a whole number');
    expect(byVar.KAFKA_PARTITIONS?.expected).toContain("integer from 1 to 1000");
    expect(byVar.KAFKA_BROKERS?.expected).toContain("host:port");
    expect(byVar.ELASTICSEARCH_URL?.problem).toContain("ftp:");
    expect(byVar.LOG_LEVEL?.expected).toContain("debug");
  });

  it("rejects out-of-range numbers and credentials inside URLs", () => {
    const problems = problemsOf(() =>
      loadConfig({
        root,
        env: { KAFKA_PARTITIONS: "0", ELASTICSEARCH_URL: "http://elastic:changeme@es:9200" },
      }),
    );
    expect(problems.map((p) => p.variable).sort()).toEqual(["ELASTICSEARCH_URL", "KAFKA_PARTITIONS"]);
    expect(problems.find((p) => p.variable === "ELASTICSEARCH_URL")?.problem).not.toContain("changeme");
  });

  it("takes the write cache's budget in MiB per index, and refuses one of 0", () => {
    expect(loadConfig({ root, env: {} }).elasticsearch.writeCacheMiB).toBe(24);
    expect(
      loadConfig({ root, env: { ELASTICSEARCH_WRITE_CACHE_MIB: "256" } }).elasticsearch.writeCacheMiB,
    ).toBe(256);
    const problems = problemsOf(() => loadConfig({ root, env: { ELASTICSEARCH_WRITE_CACHE_MIB: "0" } }));
    expect(problems.map((p) => p.variable)).toEqual(["ELASTICSEARCH_WRITE_CACHE_MIB"]);
    expect(problems[0]?.expected).toContain("from 1 to 65536");
  });

  it("never repeats a secret's value in its error message", () => {
    const error = (() => {
      try {
        loadConfig({ root, env: { MINIO_SECRET_KEY: "short" } });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error("expected a ConfigError");
    })();
    expect(error.message).toContain("MINIO_SECRET_KEY");
    expect(error.message).not.toContain("short");
  });

  it("requires basic-auth user and password together", () => {
    const problems = problemsOf(() => loadConfig({ root, env: { ELASTICSEARCH_USERNAME: "elastic" } }));
    expect(problems[0]?.variable).toBe("ELASTICSEARCH_PASSWORD");
  });

  it("refuses a CA certificate path that does not exist", () => {
    const problems = problemsOf(() =>
      loadConfig({ root, env: { ELASTICSEARCH_CA_CERT: join(root, "missing.pem") } }),
    );
    expect(problems[0]?.variable).toBe("ELASTICSEARCH_CA_CERT");
  });

  it("masks secrets when the configuration is shown", () => {
    const config = loadConfig({
      root,
      env: { ELASTICSEARCH_API_KEY: "c2VjcmV0LWtleQ==", MINIO_SECRET_KEY: "super-secret-1" },
    });
    const shown = JSON.stringify(describeConfig(config));
    expect(shown).not.toContain("c2VjcmV0LWtleQ==");
    expect(shown).not.toContain("super-secret-1");
    expect(secretValues(config)).toEqual(expect.arrayContaining(["c2VjcmV0LWtleQ==", "super-secret-1"]));
  });

  it("documents every variable it reads", () => {
    for (const [name, spec] of Object.entries(CONFIG_FIELDS)) expect(spec.doc, name).not.toBe("");
  });
});

describe("Codespaces", () => {
  it("is detected from the Codespaces environment and rewrites local URLs to forwarded ports", () => {
    const config = loadConfig({
      root,
      env: {
        CODESPACES: "true",
        CODESPACE_NAME: "fuzzy-space-abc123",
        GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN: "app.github.dev",
      },
    });
    expect(config.environment).toBe("codespaces");
    expect(publicUrl(config, config.kibana.url)).toBe("https://fuzzy-space-abc123-5601.app.github.dev");
    expect(publicUrl(config, "http://localhost:9870/explorer.html")).toBe(
      "https://fuzzy-space-abc123-9870.app.github.dev/explorer.html",
    );
    expect(publicUrl(config, "http://elasticsearch.example.com:9200")).toBe(
      "http://elasticsearch.example.com:9200",
    );
  });

  it("leaves URLs alone locally, and ENVIRONMENT wins over detection", () => {
    const local = loadConfig({ root, env: {} });
    expect(publicUrl(local, "http://127.0.0.1:5601")).toBe("http://127.0.0.1:5601");
    const forced = loadConfig({
      root,
      env: { ENVIRONMENT: "local", CODESPACES: "true", CODESPACE_NAME: "x" },
    });
    expect(forced.environment).toBe("local");
    expect(publicUrl(forced, "http://127.0.0.1:5601")).toBe("http://127.0.0.1:5601");
  });
});

describe("hostile values (issue 12)", () => {
  it("never shows a URL's password: config, malformed URLs and their error messages", () => {
    const config = loadConfig({ root, env: { REDIS_URL: "redis://:S3CRET@127.0.0.1:6379" } });
    expect(JSON.stringify(describeConfig(config))).not.toContain("S3CRET");
    expect(JSON.stringify(describeConfig(config))).toContain("redis://***@127.0.0.1:6379");
    for (const [variable, value] of [
      ["REDIS_URL", "redis//:S3CRET@host:6379"],
      ["REDIS_URL", "http://:S3CRET@host:6379"],
      ["ELASTICSEARCH_URL", "http://elastic:S3CRET@host:notaport"],
      ["ELASTICSEARCH_URL", "ftp://elastic:S3CRET@host"],
      ["KIBANA_URL", "http://elastic:S3CRET@host:5601"],
    ] as const) {
      const problems = problemsOf(() => loadConfig({ root, env: { [variable]: value } }));
      expect(problems.map((p) => p.variable)).toEqual([variable]);
      expect(JSON.stringify(problems)).not.toContain("S3CRET");
    }
  });

  it("validates the ingest bounds with their names and the fix", () => {
    const problems = problemsOf(() =>
      loadConfig({
        root,
        env: {
          INGEST_MAX_PRICE: "1e400",
          INGEST_EVENT_TIME_MIN: "yesterday",
          INGEST_EVENT_TIME_MAX: "now+1y",
          INGEST_MAX_ID_BYTES: "513",
          INGEST_MAX_EVENT_BYTES: "2000000",
          INGEST_MAX_LINE_CHARS: "12",
        },
      }),
    );
    expect(problems.map((p) => p.variable)).toEqual([
      "INGEST_MAX_PRICE",
      "INGEST_EVENT_TIME_MIN",
      "INGEST_EVENT_TIME_MAX",
      "INGEST_MAX_ID_BYTES",
      "INGEST_MAX_EVENT_BYTES",
      "INGEST_MAX_LINE_CHARS",
    ]);
    expect(
      problemsOf(() => loadConfig({ root, env: { INGEST_MAX_PRICE: "100000000000000" } }))[0]?.expected,
    ).toMatch(/from 0 to 90071992547409/);
    const ok = loadConfig({
      root,
      env: {
        INGEST_EVENT_TIME_MIN: "2019-10-01",
        INGEST_EVENT_TIME_MAX: "now-2h",
        INGEST_MAX_PRICE: "500.5",
      },
    }).ingest;
    expect(ok.eventTimeMin).toEqual({ iso: "2019-10-01T00:00:00.000Z" });
    expect(ok.eventTimeMax).toEqual({ nowPlusMs: -7_200_000 });
    expect(ok.maxPrice).toBe(500.5);
    expect(loadConfig({ root, env: {} }).ingest).toMatchObject({ maxIdBytes: 256, maxEventBytes: 102_400 });
  });

  it("refuses a MONITOR_HOST that is not an address or host name", () => {
    for (const bad of ["not an address", "256.1.1.1", "host:9464", "-leading"]) {
      const problems = problemsOf(() => loadConfig({ root, env: { MONITOR_HOST: bad } }));
      expect(problems[0]).toMatchObject({ variable: "MONITOR_HOST" });
      expect(problems[0]?.expected).toContain("127.0.0.1");
    }
    for (const good of ["127.0.0.1", "0.0.0.0", "::1", "::", "monitor.internal", "localhost"])
      expect(loadConfig({ root, env: { MONITOR_HOST: good } }).monitor.host).toBe(good);
  });
});
