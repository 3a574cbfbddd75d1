import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse as parseYaml } from "yaml";
import { type Config, loadConfig, parseEnvFile } from "../../core/config/index.ts";
import { CODESPACES_COMPOSE_FILE } from "../../stack/index.ts";
import { envOf as env, type Model, type Service, serviceOf } from "./model.ts";
import { REPO_ROOT, validate, validatorBinary } from "./validator.ts";

/**
 * docker-compose.yml and docker-compose.codespaces.yml, checked where no Docker engine runs:
 * loaded by compose-go (the loader of `docker compose` itself: Compose Specification JSON schema,
 * interpolation from .env, merging of the override, consistency), then the normalized model is
 * compared with what capline's configuration expects.
 */

const BASE = "docker-compose.yml";
const OVERRIDE = "docker-compose.codespaces.yml";
const CODESPACE = [
  "-e",
  "CODESPACE_NAME=fuzzy-space-42",
  "-e",
  "GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN=preview.app.github.dev",
];

const SERVERS = ["kafka", "elasticsearch", "kibana", "minio", "namenode", "datanode", "redis"];
const APPS = ["setup", "ingester", "dispatcher", "worker", "monitor", "kibana-setup"];

const dotEnv = parseEnvFile(readFileSync(join(REPO_ROOT, ".env"), "utf8"));
let work: string;
let binary: string;
let base: Model;
let codespaces: Model;

/** The configuration an environment gives, with the repo's .env underneath but never a .env.local. */
function configFor(env: Record<string, string | undefined>): Config {
  return loadConfig({ env, root: work });
}

async function load(files: string[], extra: string[] = [], cwd = REPO_ROOT): Promise<Model> {
  const result = await validate(binary, [...extra, ...files], cwd);
  if (result.code !== 0) throw new Error(`compose-validate refused ${files.join(" + ")}:\n${result.stderr}`);
  return JSON.parse(result.stdout) as Model;
}

/** A copy of the base file with one edit, beside a copy of .env, loaded by the validator. */
async function loadBroken(edit: (text: string) => string) {
  const dir = mkdtempSync(join(work, "broken-"));
  copyFileSync(join(REPO_ROOT, ".env"), join(dir, ".env"));
  const original = readFileSync(join(REPO_ROOT, BASE), "utf8");
  const changed = edit(original);
  expect(changed).not.toBe(original);
  writeFileSync(join(dir, BASE), changed);
  return validate(binary, [join(dir, BASE)], dir);
}

/** A Compose variable reference, `${NAME}`, as written in the files. */
const ref = (name: string) => `\${${name}}`;

const heapOf = (opts: string | undefined, flag: string) => {
  const match = new RegExp(`${flag}(\\d+)([mg])`).exec(opts ?? "");
  if (!match) throw new Error(`no ${flag} in ${opts}`);
  return Number(match[1]) * (match[2] === "g" ? 1024 : 1);
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "capline-compose-"));
  copyFileSync(join(REPO_ROOT, ".env"), join(work, ".env"));
  // The stack's artifact cache (outside the repo), honouring the caller's CAPLINE_CACHE_DIR / XDG_CACHE_HOME.
  const { CAPLINE_CACHE_DIR, XDG_CACHE_HOME, HOME } = process.env;
  binary = await validatorBinary(configFor({ CAPLINE_CACHE_DIR, XDG_CACHE_HOME, HOME }).stack.cacheDir);
  base = await load([BASE]);
  codespaces = await load([BASE, OVERRIDE], CODESPACE);
  // The first run builds compose-go from the Go module proxy: give it time.
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the Compose files load and validate", () => {
  test("docker-compose.yml alone, and with the Codespaces override, pass the Compose schema", () => {
    expect(base.name).toBe("capline");
    expect(Object.keys(base.services).sort()).toEqual([...SERVERS, ...APPS].sort());
    expect(Object.keys(codespaces.services).sort()).toEqual([...SERVERS, ...APPS].sort());
  });

  test("the override outside Codespaces stops with a message naming CODESPACE_NAME", async () => {
    const result = await validate(binary, [BASE, OVERRIDE]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/required variable CODESPACE_NAME is missing a value/);
    expect(result.stderr).toMatch(/this override is for GitHub Codespaces/);
  });

  test("a misspelled key is refused by the schema, naming the key", async () => {
    const result = await loadBroken((t) => t.replace(/^ {4}healthcheck:/m, "    healtcheck:"));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("services.kafka.healtcheck");
    expect(result.stdout).toBe("");
  });

  test("a value of the wrong type is refused by the schema", async () => {
    const result = await loadBroken((t) =>
      t.replace(/ports:\n\s+- \$\{CAPLINE_BIND_ADDRESS:-127\.0\.0\.1\}:6379:6379\n/, "ports: 6379\n"),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("services.redis.ports must be a array");
  });

  test("a depends_on naming no service, and an unknown condition, are refused", async () => {
    const unknown = await loadBroken((t) => t.replace(/^ {6}kibana-setup:$/m, "      kibana-setp:"));
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('depends on undefined service "kibana-setp"');
    const condition = await loadBroken((t) =>
      t.replace("condition: service_completed_successfully", "condition: done"),
    );
    expect(condition.code).toBe(1);
    expect(condition.stderr).toMatch(/depends_on\.setup\.condition value must be one of/);
  });

  test("a version variable missing from the environment stops interpolation", async () => {
    const result = await loadBroken((t) =>
      t.replace(`apache/kafka:${ref("KAFKA_VERSION")}`, `apache/kafka:${ref("KAFKA_VERSON:?")}`),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("required variable KAFKA_VERSON is missing a value");
  });
});

describe("what the app's configuration expects is there", () => {
  test("host ports published are the defaults of .env / core/config, each on its server", () => {
    const config = configFor({});
    const portOf = (url: string) => Number(new URL(url).port);
    const expected: Record<string, number[]> = {
      kafka: config.kafka.brokers.map((b) => Number(b.split(":")[1])),
      elasticsearch: [portOf(config.elasticsearch.url)],
      kibana: [portOf(config.kibana.url)],
      minio: [portOf(config.minio.endpoint), portOf(config.minio.consoleUrl)],
      namenode: [Number(config.hdfs.namenode.split(":").at(-1)), portOf(config.hdfs.webhdfsUrl)],
      // HDFS_DATANODE_URL has no default (unset = follow redirects); 9864 is Hadoop's DataNode HTTP
      // port, the value docs/docker.md gives host-side commands. It must also parse as config.
      datanode: [portOf(configFor({ HDFS_DATANODE_URL: "http://127.0.0.1:9864" }).hdfs.datanodeUrl ?? "")],
      redis: [portOf(config.redis.url)],
      monitor: [config.monitor.port],
    };
    const all = Object.values(expected)
      .flat()
      .sort((a, b) => a - b);
    expect(all).toEqual([5601, 6379, 8020, 9000, 9001, 9092, 9200, 9464, 9864, 9870]);

    for (const model of [base, codespaces]) {
      const published: Record<string, number[]> = {};
      for (const [name, service] of Object.entries(model.services)) {
        for (const port of service.ports ?? []) {
          // Same port inside and out: Kafka's host listener and WebHDFS redirects carry it.
          expect(Number(port.published), `${name} publishes ${port.target}`).toBe(port.target);
          expect(port.host_ip).toBe("127.0.0.1");
          published[name] = [...(published[name] ?? []), port.target];
        }
      }
      expect(published).toEqual(expected);
    }
  });

  test("CAPLINE_BIND_ADDRESS opens the ports beyond loopback when asked", async () => {
    const open = await load([BASE], ["-e", "CAPLINE_BIND_ADDRESS=0.0.0.0"]);
    const ips = Object.values(open.services).flatMap((s) => (s.ports ?? []).map((p) => p.host_ip));
    expect(ips.length).toBe(10);
    expect(new Set(ips)).toEqual(new Set(["0.0.0.0"]));
  });

  test("every image tag is a version variable of .env, and follows it", async () => {
    const images: Record<string, [string, string]> = {
      kafka: ["apache/kafka", "KAFKA_VERSION"],
      elasticsearch: ["docker.elastic.co/elasticsearch/elasticsearch", "ELASTIC_VERSION"],
      kibana: ["docker.elastic.co/kibana/kibana", "ELASTIC_VERSION"],
      minio: ["minio/minio", "MINIO_RELEASE"],
      namenode: ["apache/hadoop", "HADOOP_VERSION"],
      datanode: ["apache/hadoop", "HADOOP_VERSION"],
      redis: ["redis", "REDIS_VERSION"],
    };
    // The raw file names the variable; no literal version hides in either file.
    const raw = parseYaml(readFileSync(join(REPO_ROOT, BASE), "utf8")) as {
      services: Record<string, Service>;
    };
    for (const [name, [repo, variable]] of Object.entries(images)) {
      expect(raw.services[name]?.image).toBe(`${repo}:${ref(variable)}`);
      expect(dotEnv[variable], `${variable} in .env`).toMatch(/\S/);
      expect(serviceOf(base, name).image).toBe(`${repo}:${dotEnv[variable]}`);
    }
    for (const file of [BASE, OVERRIDE]) {
      const imageLines = readFileSync(join(REPO_ROOT, file), "utf8").match(/^\s*image:.*$/gm) ?? [];
      for (const line of imageLines) expect(line).not.toMatch(/:\d|RELEASE\.\d/);
    }
    // App services use the image built here.
    for (const name of APPS) {
      expect(serviceOf(base, name).image).toBe("capline:local");
      expect(serviceOf(base, name).build).toBeTruthy();
    }
    // Changing a pin in the environment changes the image: the variables are really used.
    const bumped = await load([BASE], ["-e", "KAFKA_VERSION=9.9.9", "-e", "ELASTIC_VERSION=8.99.0"]);
    expect(serviceOf(bumped, "kafka").image).toBe("apache/kafka:9.9.9");
    expect(serviceOf(bumped, "kibana").image).toBe("docker.elastic.co/kibana/kibana:8.99.0");
    expect(serviceOf(bumped, "elasticsearch").image).toBe(
      "docker.elastic.co/elasticsearch/elasticsearch:8.99.0",
    );
  });

  test("app services' configuration is valid and points at in-network services that exist", () => {
    const kafkaEnv = env(serviceOf(base, "kafka"));
    const internal = /INTERNAL:\/\/([^,]+)/.exec(kafkaEnv.KAFKA_ADVERTISED_LISTENERS ?? "")?.[1];
    expect(internal).toBe("kafka:29092");
    const listensOn = (service: string): number[] => {
      const s = serviceOf(base, service);
      return [...(s.ports ?? []).map((p) => p.target), ...(s.expose ?? []).map(Number)];
    };
    const inNetwork = (url: string) => {
      const parsed = new URL(url);
      const port = Number(parsed.port);
      expect(Object.keys(base.services), url).toContain(parsed.hostname);
      expect(listensOn(parsed.hostname), url).toContain(port);
    };

    for (const model of [base, codespaces]) {
      for (const name of APPS) {
        const vars = env(serviceOf(model, name));
        // The real config loader parses the container's environment over the image's .env.
        const config = configFor(vars);
        expect(config.kafka.brokers, name).toEqual([internal]);
        inNetwork(config.elasticsearch.url);
        inNetwork(config.kibana.url);
        inNetwork(config.minio.endpoint);
        inNetwork(config.minio.consoleUrl);
        inNetwork(config.hdfs.webhdfsUrl);
        inNetwork(config.hdfs.namenode.replace("hdfs:", "http:"));
        inNetwork(config.redis.url.replace("redis:", "http:"));
        // In the network the WebHDFS redirect to the DataNode is followed as given.
        expect(config.hdfs.datanodeUrl, name).toBeUndefined();
        expect(config.minio.accessKey).toBe(dotEnv.MINIO_ACCESS_KEY);
        expect(config.minio.secretKey).toBe(dotEnv.MINIO_SECRET_KEY);
        expect(config.environment).toBe(model === codespaces ? "codespaces" : "local");
      }
      // The MinIO server uses the same keys as the app.
      const minio = env(serviceOf(model, "minio"));
      expect(minio.MINIO_ROOT_USER).toBe(dotEnv.MINIO_ACCESS_KEY);
      expect(minio.MINIO_ROOT_PASSWORD).toBe(dotEnv.MINIO_SECRET_KEY);
    }
    const monitor = configFor(env(serviceOf(base, "monitor")));
    expect(monitor.monitor).toMatchObject({ host: "0.0.0.0", port: 9464, kibana: "required" });
  });

  test("app services run the capline commands other stages provide", () => {
    const commands = Object.fromEntries(APPS.map((name) => [name, serviceOf(base, name).command]));
    expect(commands).toEqual({
      setup: ["setup"],
      ingester: ["ingest", "/data/sample.csv"],
      dispatcher: ["process", "dispatcher"],
      worker: ["process", "worker"],
      monitor: ["monitor", "serve", "--host", "0.0.0.0"],
      "kibana-setup": ["kibana", "import"],
    });
    // The ingester is on demand only (`docker compose run --rm ingester`).
    expect(serviceOf(base, "ingester").profiles).toEqual(["ingest"]);
  });
});

describe("startup order, health and scaling", () => {
  test("every server has a healthcheck", () => {
    for (const model of [base, codespaces]) {
      for (const name of [...SERVERS, "monitor"]) {
        const health = serviceOf(model, name).healthcheck;
        expect(health?.disable ?? false, name).toBe(false);
        expect(health?.test?.length ?? 0, name).toBeGreaterThan(1);
        expect(health?.test?.[0], name).toMatch(/^CMD(-SHELL)?$/);
      }
    }
    // The monitor's probe is its own HTTP endpoint on its port.
    expect(serviceOf(base, "monitor").healthcheck?.test?.join(" ")).toContain("127.0.0.1:9464/healthz");
  });

  test("dependencies wait for health or completion, never merely for a start", () => {
    const oneShots = APPS.filter((name) => serviceOf(base, name).restart === "no");
    expect(oneShots.sort()).toEqual(["ingester", "kibana-setup", "setup"]);
    for (const [name, service] of Object.entries(base.services)) {
      for (const [target, dep] of Object.entries(service.depends_on ?? {})) {
        const on = serviceOf(base, target);
        if (dep.condition === "service_healthy")
          expect(on.healthcheck?.test, `${name} -> ${target}`).toBeTruthy();
        else {
          expect(dep.condition, `${name} -> ${target}`).toBe("service_completed_successfully");
          expect(oneShots, `${name} -> ${target}`).toContain(target);
        }
      }
    }
    const deps = (name: string) => serviceOf(base, name).depends_on ?? {};
    const healthy = (name: string) =>
      Object.entries(deps(name))
        .filter(([, d]) => d.condition === "service_healthy")
        .map(([t]) => t)
        .sort();
    expect(healthy("setup")).toEqual(["datanode", "elasticsearch", "kafka", "minio", "namenode", "redis"]);
    expect(healthy("worker")).toEqual(["datanode", "elasticsearch", "minio", "namenode", "redis"]);
    expect(healthy("dispatcher")).toEqual(["kafka", "redis"]);
    expect(healthy("kibana-setup")).toEqual(["kibana"]);
    for (const name of APPS.filter((n) => n !== "setup")) {
      expect(deps(name).setup?.condition, name).toBe("service_completed_successfully");
    }
  });

  test("every default one-shot service is awaited by a long-running one, so `up --wait` can succeed", () => {
    // docker compose up --wait counts an exited container as a failure unless a running service
    // depends on it with service_completed_successfully (docker/compose#10596).
    for (const [name, service] of Object.entries(base.services)) {
      if (service.restart !== "no" || service.profiles?.length) continue;
      const adopters = Object.entries(base.services).filter(
        ([, s]) => s.restart !== "no" && s.depends_on?.[name]?.condition === "service_completed_successfully",
      );
      expect(adopters.length, `${name} is awaited by a running service`).toBeGreaterThan(0);
    }
  });

  test("workers scale: no container_name and no fixed host port", async () => {
    for (const model of [base, codespaces]) {
      const worker = serviceOf(model, "worker");
      expect(worker.container_name).toBeUndefined();
      expect(worker.ports ?? []).toEqual([]);
    }
    for (const service of Object.values(base.services)) expect(service.container_name).toBeUndefined();
    // A container_name would make `--scale worker=N` impossible; the schema accepts it, this test not.
    const named = await loadBroken((t) =>
      t.replace(
        'command: ["process", "worker"]',
        'command: ["process", "worker"]\n    container_name: worker',
      ),
    );
    expect(named.code).toBe(0);
    expect(serviceOf(JSON.parse(named.stdout) as Model, "worker").container_name).toBe("worker");
  });

  test("every server keeps its data in a named volume", () => {
    const dataDirs: Record<string, string> = {
      kafka: "/var/lib/kafka/data",
      elasticsearch: "/usr/share/elasticsearch/data",
      minio: "/data",
      namenode: "/hadoop/dfs",
      datanode: "/hadoop/dfs",
      redis: "/data",
    };
    const sources = new Set<string>();
    for (const [name, dir] of Object.entries(dataDirs)) {
      const mount = serviceOf(base, name).volumes?.find((v) => v.target === dir);
      expect(mount?.type, name).toBe("volume");
      expect(Object.keys(base.volumes ?? {})).toContain(mount?.source);
      sources.add(mount?.source ?? "");
    }
    expect(sources.size).toBe(6);
  });
});

describe("networking pitfalls", () => {
  test("Kafka advertises kafka:29092 in the network and 127.0.0.1:9092 to the host", () => {
    const kafka = env(serviceOf(base, "kafka"));
    const split = (v: string | undefined) =>
      Object.fromEntries((v ?? "").split(",").map((l) => l.split("://") as [string, string]));
    const listeners = split(kafka.KAFKA_LISTENERS);
    const advertised = split(kafka.KAFKA_ADVERTISED_LISTENERS);
    expect(advertised).toEqual({ INTERNAL: "kafka:29092", HOST: "127.0.0.1:9092" });
    expect(listeners.INTERNAL).toBe("0.0.0.0:29092");
    expect(listeners.HOST).toBe("0.0.0.0:9092");
    expect(kafka.KAFKA_INTER_BROKER_LISTENER_NAME).toBe("INTERNAL");
    const protocols = split((kafka.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP ?? "").replaceAll(":", "://"));
    for (const name of [...Object.keys(listeners)]) expect(protocols[name], name).toBe("PLAINTEXT");
    // The listener advertised to the host is the one published, on the same port.
    expect(serviceOf(base, "kafka").ports).toEqual([
      expect.objectContaining({ target: 9092, published: "9092" }),
    ]);
    // And the host-side default of .env is exactly that address.
    expect(configFor({}).kafka.brokers).toEqual([advertised.HOST]);
    // The KRaft controller quorum is this node itself.
    expect(kafka.KAFKA_PROCESS_ROLES).toBe("broker,controller");
    expect(kafka.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(`${kafka.KAFKA_NODE_ID}@kafka:9093`);
    expect(Buffer.from(kafka.CLUSTER_ID ?? "", "base64url").length).toBe(16);
  });

  test("the DataNode registers as `datanode` and publishes 9864 for host-side WebHDFS redirects", () => {
    const datanode = serviceOf(base, "datanode");
    const vars = env(datanode);
    expect(vars["HDFS-SITE.XML_dfs.datanode.hostname"]).toBe("datanode");
    expect(datanode.hostname).toBe("datanode");
    expect(vars["HDFS-SITE.XML_dfs.datanode.http.address"]).toBe("0.0.0.0:9864");
    expect(datanode.ports).toEqual([expect.objectContaining({ target: 9864, published: "9864" })]);
    // Both HDFS containers agree on the NameNode.
    for (const name of ["namenode", "datanode"]) {
      expect(env(serviceOf(base, name))["CORE-SITE.XML_fs.defaultFS"]).toBe("hdfs://namenode:8020");
    }
  });

  test("Redis keeps BullMQ's jobs: noeviction and appendonly", () => {
    const command = serviceOf(base, "redis").command?.join(" ") ?? "";
    expect(command).toContain("--maxmemory-policy noeviction");
    expect(command).toContain("--appendonly yes");
  });
});

describe("the Codespaces override", () => {
  test("shrinks heaps, marks the environment and gives Kibana and MinIO their public URLs", () => {
    const heap = (model: Model, service: string, variable: string) =>
      heapOf(env(serviceOf(model, service))[variable], "-Xmx");
    expect(heap(codespaces, "elasticsearch", "ES_JAVA_OPTS")).toBeLessThan(
      heap(base, "elasticsearch", "ES_JAVA_OPTS"),
    );
    expect(heap(codespaces, "kafka", "KAFKA_HEAP_OPTS")).toBeLessThan(heap(base, "kafka", "KAFKA_HEAP_OPTS"));
    const hadoopHeap = (model: Model) =>
      parseInt(env(serviceOf(model, "namenode")).HADOOP_HEAPSIZE_MAX ?? "", 10);
    expect(hadoopHeap(codespaces)).toBeLessThan(hadoopHeap(base));

    expect(env(serviceOf(codespaces, "kibana")).SERVER_PUBLICBASEURL).toBe(
      "https://fuzzy-space-42-5601.preview.app.github.dev",
    );
    expect(env(serviceOf(codespaces, "minio")).MINIO_BROWSER_REDIRECT_URL).toBe(
      "https://fuzzy-space-42-9001.preview.app.github.dev",
    );
    for (const name of APPS) {
      const config = configFor(env(serviceOf(codespaces, name)));
      expect(config.codespace, name).toEqual({ name: "fuzzy-space-42", domain: "preview.app.github.dev" });
    }
    // The override merges into the base: the monitor keeps its bind address and port.
    expect(env(serviceOf(codespaces, "monitor")).MONITOR_HOST).toBe("0.0.0.0");
  });
});

describe("the image and the dev container", () => {
  test("Dockerfile: Node 24 slim, compiled in a build stage, production dependencies only, non-root", () => {
    const dockerfile = readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^ARG NODE_MAJOR=24$/m);
    expect(dockerfile).toMatch(/^FROM node:\$\{NODE_MAJOR\}-[a-z]+-slim AS build$/m);
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
    const runtime = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
    expect(runtime).toMatch(/^FROM node:\$\{NODE_MAJOR\}-[a-z]+-slim$/m);
    expect(runtime).toMatch(/^RUN npm ci --omit=dev\b/m);
    expect(runtime).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^ENTRYPOINT \["node", "bin\/capline\.mjs"\]$/m);
    // The runtime needs no TypeScript loader: bin/capline.mjs runs dist/.
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      bin: Record<string, string>;
      engines: { node: string };
    };
    expect(pkg.dependencies.tsx).toBeUndefined();
    expect(pkg.engines.node).toBe(">=22.22");
    expect(pkg.bin.capline).toBe("bin/capline.mjs");
    expect(readFileSync(join(REPO_ROOT, "bin", "capline.mjs"), "utf8")).toContain("../dist/cli/main.js");
    const ignored = readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8").split("\n");
    for (const entry of ["node_modules", ".env.local", ".git", "dist"]) expect(ignored).toContain(entry);
    // .env (no secret, the version pins and defaults) goes into the image on purpose.
    expect(ignored).not.toContain(".env");
  });

  test("in a Codespace the terminal's docker compose and `capline stack up` apply the override", async () => {
    // post-start.sh writes COMPOSE_FILE into the shell's startup file, once, only in a Codespace.
    const home = mkdtempSync(join(work, "home-"));
    const bin = join(home, "bin");
    mkdirSync(bin);
    // A sudo that refuses: the script's vm.max_map_count step must not change this machine.
    writeFileSync(join(bin, "sudo"), "#!/bin/sh\nexit 1\n");
    chmodSync(join(bin, "sudo"), 0o755);
    writeFileSync(join(home, ".bashrc"), "# the user's own\n");
    const start = (extra: Record<string, string>) =>
      spawnSync("bash", [join(REPO_ROOT, ".devcontainer", "post-start.sh")], {
        cwd: REPO_ROOT,
        env: { HOME: home, PATH: `${bin}:/usr/bin:/bin`, ...extra },
        encoding: "utf8",
      });
    start({});
    expect(readFileSync(join(home, ".bashrc"), "utf8")).toBe("# the user's own\n");
    start({ CODESPACES: "true" });
    start({ CODESPACES: "true" });
    const rc = readFileSync(join(home, ".bashrc"), "utf8");
    expect(rc.match(/COMPOSE_FILE=/g)?.length).toBe(1);
    const composeFile = spawnSync(
      "bash",
      ["-c", `source ${join(home, ".bashrc")}; printf %s "$COMPOSE_FILE"`],
      {
        encoding: "utf8",
      },
    ).stdout;
    const files = composeFile.split(":");
    expect(files).toEqual(CODESPACES_COMPOSE_FILE.split(":").map((f) => join(REPO_ROOT, f)));
    // What those files load to is the Codespaces model the rest of this file checks.
    expect(await load(files, CODESPACE)).toEqual(codespaces);
  });

  test("devcontainer.json runs Node 24", () => {
    const dev = JSON.parse(readFileSync(join(REPO_ROOT, ".devcontainer", "devcontainer.json"), "utf8")) as {
      image: string;
    };
    expect(dev.image).toMatch(/javascript-node:1-24-/);
  });

  test("devcontainer.json forwards and labels the ports and installs with npm ci", () => {
    const dev = JSON.parse(readFileSync(join(REPO_ROOT, ".devcontainer", "devcontainer.json"), "utf8")) as {
      features: Record<string, unknown>;
      forwardPorts: number[];
      portsAttributes: Record<string, { label?: string }>;
      postCreateCommand: string;
    };
    expect(dev.forwardPorts.sort((a, b) => a - b)).toEqual([5601, 9000, 9001, 9200, 9464, 9870]);
    for (const port of dev.forwardPorts)
      expect(dev.portsAttributes[String(port)]?.label, `${port}`).toMatch(/\S/);
    expect(dev.postCreateCommand).toBe("npm ci");
    expect(Object.keys(dev.features).some((f) => f.includes("docker-in-docker"))).toBe(true);
    // Every forwarded port is one Compose publishes.
    const published = Object.values(base.services).flatMap((s) => (s.ports ?? []).map((p) => p.target));
    for (const port of dev.forwardPorts) expect(published).toContain(port);
  });
});
