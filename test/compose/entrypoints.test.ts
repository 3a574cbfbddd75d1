import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadConfig } from "../../core/config/index.ts";
import {
  contractOf,
  entryScript,
  envToConf,
  type ImageContract,
  KIBANA_DOCKER_SETTINGS,
  kafkaProperty,
  parseRecord,
  RECORDED,
  STUBS_DIR,
} from "./images.ts";
import { envOf, type Model, type Service, serviceOf } from "./model.ts";
import { REPO_ROOT, validate, validatorBinary } from "./validator.ts";

/**
 * Every Compose service's command, run the way its image runs it: through a shell script that
 * passes the arguments as the image's entrypoint does (test/compose/images.ts, from the images'
 * sources; docs/docker.md, "Image entrypoints"), with the programs it starts replaced by recorders.
 * No Docker engine runs here; this is what catches a command the image's entrypoint would break.
 */

const CODESPACE = [
  "-e",
  "CODESPACE_NAME=fuzzy-space-42",
  "-e",
  "GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN=preview.app.github.dev",
];

let work: string;
let stubDir: string;
let base: Model;
let codespaces: Model;

interface Run {
  status: number | null;
  stderr: string;
  /** The recorded calls: [program, ...arguments]. */
  calls: string[][];
}

/** Runs `args` through the image's reduced entrypoint, in a fresh container root unless given one. */
function runEntrypoint(
  contract: ImageContract,
  args: readonly string[],
  env: Record<string, string>,
  root = mkdtempSync(join(work, "root-")),
): Run {
  // A copy, executable whatever the checkout's file modes; run by its shebang (bash or sh).
  const script = join(work, `${contract.entry}-entrypoint.sh`);
  copyFileSync(entryScript(contract), script);
  chmodSync(script, 0o755);
  const record = join(root, ".calls");
  writeFileSync(record, "");
  const result = spawnSync(script, [...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 20_000,
    env: {
      ...env,
      PATH: `${stubDir}:/usr/local/bin:/usr/bin:/bin`,
      CAPLINE_RECORD: record,
      CAPLINE_ROOT: root,
      KIBANA_SETTINGS: KIBANA_DOCKER_SETTINGS.join(" "),
    },
  });
  return { status: result.status, stderr: result.stderr, calls: parseRecord(readFileSync(record, "utf8")) };
}

/** The service's environment, with ENSURE_NAMENODE_DIR moved under the test's container root. */
function containerEnv(service: Service, root: string): Record<string, string> {
  const env = envOf(service);
  if (env.ENSURE_NAMENODE_DIR) env.ENSURE_NAMENODE_DIR = `${root}${env.ENSURE_NAMENODE_DIR}`;
  return env;
}

function start(model: Model, name: string, root = mkdtempSync(join(work, "root-"))): Run {
  const service = serviceOf(model, name);
  const contract = contractOf(service.image ?? "");
  return runEntrypoint(contract, service.command ?? contract.cmd, containerEnv(service, root), root);
}

/** The last program started: what the service runs once the entrypoint is done. */
function program(run: Run): string[] | undefined {
  return run.calls.at(-1);
}

async function load(files: string[], binary: string, extra: string[] = []): Promise<Model> {
  const result = await validate(binary, [...extra, ...files]);
  if (result.code !== 0) throw new Error(`compose-validate refused ${files.join(" + ")}:\n${result.stderr}`);
  return JSON.parse(result.stdout) as Model;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "capline-entrypoints-"));
  stubDir = join(work, "bin");
  mkdirSync(stubDir);
  for (const name of readdirSync(STUBS_DIR)) {
    copyFileSync(join(STUBS_DIR, name), join(stubDir, name));
    chmodSync(join(stubDir, name), 0o755);
  }
  for (const name of RECORDED)
    if (!existsSync(join(stubDir, name))) symlinkSync(join(stubDir, "record"), join(stubDir, name));
  const { CAPLINE_CACHE_DIR, XDG_CACHE_HOME, HOME } = process.env;
  const cacheDir = loadConfig({ env: { CAPLINE_CACHE_DIR, XDG_CACHE_HOME, HOME }, root: work }).stack
    .cacheDir;
  const binary = await validatorBinary(cacheDir);
  base = await load(["docker-compose.yml"], binary);
  codespaces = await load(["docker-compose.yml", "docker-compose.codespaces.yml"], binary, CODESPACE);
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("every service's command, through its image's entrypoint", () => {
  test("every image of both Compose files has a written entrypoint contract", () => {
    for (const model of [base, codespaces])
      for (const [name, service] of Object.entries(model.services)) {
        expect(() => contractOf(service.image ?? ""), name).not.toThrow();
        // No service replaces an entrypoint: the contracts below are what runs.
        expect(service.entrypoint ?? null, name).toBeNull();
      }
  });

  test("each server's program gets exactly the arguments the command means", () => {
    const expected: Record<string, string[]> = {
      namenode: ["hdfs", "namenode"],
      datanode: ["hdfs", "datanode"],
      elasticsearch: ["elasticsearch"],
      minio: ["minio", "server", "/data", "--console-address", ":9001"],
      redis: ["redis-server", "--appendonly", "yes", "--maxmemory-policy", "noeviction"],
      kibana: [
        "kibana",
        '--elasticsearch.hosts=["http://elasticsearch:9200"]',
        "--server.publicBaseUrl=http://localhost:5601",
        "--telemetry.optIn=false",
      ],
    };
    for (const [name, argv] of Object.entries(expected)) {
      const run = start(base, name);
      expect(run.stderr, name).toBe("");
      expect(run.status, name).toBe(0);
      expect(program(run), name).toEqual(argv);
    }
    // Codespaces: Kibana's public URL is one argument too.
    expect(program(start(codespaces, "kibana"))).toContain(
      "--server.publicBaseUrl=https://fuzzy-space-42-5601.preview.app.github.dev",
    );
    // Redis drops root the image's way: gosu re-runs the entrypoint as `redis`.
    expect(start(base, "redis").calls[0]?.slice(0, 2)).toEqual(["gosu", "redis"]);
  });

  test("the NameNode formats its volume on the first start only, with the fixed cluster id", () => {
    const root = mkdtempSync(join(work, "namenode-"));
    const first = start(base, "namenode", root);
    expect(first.status).toBe(0);
    expect(first.calls).toEqual([
      ["hdfs", "namenode", "-format", "-force", "-clusterid", "capline-local"],
      ["hdfs", "namenode"],
    ]);
    // The format wrote the name directory (dfs.namenode.name.dir) inside the hdfs-name volume.
    const volume = serviceOf(base, "namenode").volumes?.find((v) => v.source === "hdfs-name")?.target;
    expect(volume).toBe("/hadoop/dfs");
    expect(existsSync(join(root, "hadoop", "dfs", "name", "current"))).toBe(true);
    // Restarted with the same volume: no second format, which would wipe HDFS.
    const again = start(base, "namenode", root);
    expect(again.calls).toEqual([["hdfs", "namenode"]]);
  });

  test("the DataNode formats nothing", () => {
    const run = start(base, "datanode");
    expect(run.calls).toEqual([["hdfs", "datanode"]]);
    expect(envOf(serviceOf(base, "datanode")).ENSURE_NAMENODE_DIR).toBeUndefined();
  });

  test("the former `bash -c` command falls apart in starter.sh's unquoted $@ (the reported bug)", () => {
    const namenode = serviceOf(base, "namenode");
    const former = [
      "bash",
      "-c",
      "if [ ! -f /hadoop/dfs/name/current/VERSION ]; then hdfs namenode -format -clusterid capline-local -force -nonInteractive; fi; exec hdfs namenode",
    ];
    // As the service was then: no ENSURE_* variables.
    const { ENSURE_NAMENODE_DIR: _dir, ENSURE_NAMENODE_CLUSTERID: _id, ...env } = envOf(namenode);
    const run = runEntrypoint(contractOf(namenode.image ?? ""), former, env);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/syntax error/);
    expect(run.calls).toEqual([]);
  });

  test("capline's services run real capline commands, one argument per item", () => {
    for (const name of ["setup", "ingester", "dispatcher", "worker", "monitor", "kibana-setup"]) {
      const service = serviceOf(base, name);
      const command = service.command ?? [];
      expect(service.init, name).toBe(true);
      const run = start(base, name);
      expect(program(run), name).toEqual(["node", "bin/capline.mjs", ...command]);
      // The compiled CLI knows the command (its --help names it).
      const help = spawnSync(
        process.execPath,
        [join(REPO_ROOT, "bin", "capline.mjs"), ...command, "--help"],
        {
          encoding: "utf8",
          env: { ...process.env, LOG_LEVEL: "silent" },
        },
      );
      expect(help.status, `${name}: ${help.stderr}`).toBe(0);
      expect(help.stdout, name).toMatch(new RegExp(`^Usage: capline ${command[0]} `));
    }
    // Six CLI starts on a loaded machine.
  }, 120_000);
});

describe("the variables each image reads", () => {
  test("Hadoop: every variable is a core-site/hdfs-site property or one starter.sh or Hadoop reads", () => {
    const readByScripts = ["ENSURE_NAMENODE_DIR", "ENSURE_NAMENODE_CLUSTERID", "HADOOP_HEAPSIZE_MAX"];
    for (const model of [base, codespaces])
      for (const name of ["namenode", "datanode"]) {
        const env = envOf(serviceOf(model, name));
        for (const variable of Object.keys(env)) {
          const conf = envToConf(variable);
          if (readByScripts.includes(variable)) {
            expect(conf, variable).toBeUndefined();
            continue;
          }
          expect(conf, `${name}: ${variable} is not written to any Hadoop file`).toBeDefined();
          expect(["core-site.xml", "hdfs-site.xml"], variable).toContain(conf?.file);
          expect(conf?.key, variable).toMatch(/^d?fs\.[A-Za-z0-9.-]+$/);
        }
      }
    const namenode = envOf(serviceOf(base, "namenode"));
    expect(`file://${namenode.ENSURE_NAMENODE_DIR}`).toBe(namenode["HDFS-SITE.XML_dfs.namenode.name.dir"]);
  });

  test("Kafka: no command (the image's CMD is its launcher); KAFKA_* become the broker's properties", () => {
    const kafka = serviceOf(base, "kafka");
    expect(kafka.command ?? null).toBeNull();
    expect(contractOf(kafka.image ?? "").cmd).toEqual(["/etc/kafka/docker/run"]);
    const env = envOf(kafka);
    expect(env.CLUSTER_ID).toMatch(/\S/);
    const properties = Object.keys(env)
      .map(kafkaProperty)
      .filter((p) => p !== undefined)
      .sort();
    expect(properties).toEqual([
      "advertised.listeners",
      "controller.listener.names",
      "controller.quorum.voters",
      "group.initial.rebalance.delay.ms",
      "inter.broker.listener.name",
      "listener.security.protocol.map",
      "listeners",
      "log.dirs",
      "node.id",
      "offsets.topic.replication.factor",
      "process.roles",
      "transaction.state.log.min.isr",
      "transaction.state.log.replication.factor",
    ]);
    // The heap is the launcher's, not a property.
    expect(kafkaProperty("KAFKA_HEAP_OPTS")).toBeUndefined();
  });

  test("Elasticsearch: every variable is a setting (its name has a dot) or ES_JAVA_OPTS", () => {
    for (const model of [base, codespaces]) {
      const es = serviceOf(model, "elasticsearch");
      expect(es.command ?? null).toBeNull();
      for (const variable of Object.keys(envOf(es)))
        expect(variable.includes(".") || variable === "ES_JAVA_OPTS", variable).toBe(true);
    }
  });

  test("Kibana: every variable is one kibana-docker turns into a setting, or NODE_OPTIONS", () => {
    const known = KIBANA_DOCKER_SETTINGS.map((s) => s.toUpperCase().replaceAll(".", "_"));
    for (const model of [base, codespaces])
      for (const variable of Object.keys(envOf(serviceOf(model, "kibana"))))
        expect([...known, "NODE_OPTIONS"], variable).toContain(variable);
  });
});

describe("healthchecks, run by the container's /bin/sh", () => {
  /** Runs a CMD-SHELL healthcheck with a `curl` that prints `body` (or fails as curl -f does). */
  function probe(service: Service, body: string | undefined): number | null {
    const test = service.healthcheck?.test ?? [];
    expect(test[0]).toBe("CMD-SHELL");
    const dir = mkdtempSync(join(work, "curl-"));
    writeFileSync(
      join(dir, "curl"),
      body === undefined ? "#!/bin/sh\nexit 22\n" : `#!/bin/sh\ncat <<'EOF'\n${body}\nEOF\n`,
    );
    chmodSync(join(dir, "curl"), 0o755);
    return spawnSync("/bin/sh", ["-c", test[1] ?? "false"], {
      env: { PATH: `${dir}:/usr/bin:/bin` },
      timeout: 10_000,
    }).status;
  }

  const status = (overall: string, plugins: Record<string, string>) =>
    JSON.stringify({
      name: "kibana",
      version: { number: "8.19.21" },
      status: {
        overall: {
          level: overall,
          summary: `${overall === "available" ? "All" : "Some"} services are ${overall}`,
        },
        core: {
          elasticsearch: { level: "available", summary: "Elasticsearch is available" },
          savedObjects: { level: "available", summary: "SavedObjects service has completed migrations" },
        },
        plugins: Object.fromEntries(
          Object.entries(plugins).map(([id, level]) => [id, { level, summary: `${id} is ${level}` }]),
        ),
      },
      metrics: { collection_interval_in_millis: 5000 },
    });

  test("Kibana is healthy only when the overall level is available", () => {
    const kibana = serviceOf(base, "kibana");
    expect(probe(kibana, status("available", { lens: "available" }))).toBe(0);
    // Degraded answers HTTP 200, and its plugins still say "available": not healthy.
    const degraded = status("degraded", { lens: "available", alerting: "degraded" });
    expect(probe(kibana, degraded)).not.toBe(0);
    // (the former check, a bare grep for "level":"available", passed on that body)
    expect(spawnSync("/bin/sh", ["-c", `grep -q '"level":"available"'`], { input: degraded }).status).toBe(0);
    // Without credentials Kibana may answer the redacted form: only status.overall.level.
    expect(probe(kibana, JSON.stringify({ status: { overall: { level: "available" } } }))).toBe(0);
    expect(probe(kibana, JSON.stringify({ status: { overall: { level: "critical" } } }))).not.toBe(0);
    // 503 (unavailable): curl -f fails.
    expect(probe(kibana, undefined)).not.toBe(0);
  });

  test("the DataNode is healthy once the NameNode counts it live and left safe mode", () => {
    const datanode = serviceOf(base, "datanode");
    const jmx = (live: number, state: string) =>
      JSON.stringify(
        {
          beans: [
            {
              name: "Hadoop:service=NameNode,name=FSNamesystemState",
              NumLiveDataNodes: live,
              FSState: state,
            },
          ],
        },
        null,
        2,
      );
    expect(probe(datanode, jmx(1, "Operational"))).toBe(0);
    expect(probe(datanode, jmx(0, "Operational"))).not.toBe(0);
    expect(probe(datanode, jmx(1, "safeMode"))).not.toBe(0);
  });
});
