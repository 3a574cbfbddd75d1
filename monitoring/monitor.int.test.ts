import { rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigVariable } from "../core/config/index.ts";
import type { SnakeKeys } from "../core/json/index.ts";
import { GroupConsumer, IdempotentProducer, kafkaOptions } from "../core/kafka/index.ts";
import { aliasName, dispatcherGroupOf, QUEUES } from "../core/names.ts";
import { runSetup, setupTargets } from "../setup/index.ts";
import { randomEnv, removeAll, runCli, servicesFor } from "../setup/test/fixtures.ts";
import { startService, stopService } from "../stack/index.ts";
import { testConfig } from "../test/support/index.ts";
import type { MonitorState } from "./checks/context.ts";
import { monitorOptions } from "./options.ts";
import { runChecks } from "./run.ts";
import { MonitorServer } from "./server.ts";
import { parsePrometheusText, sampleValue } from "./test/prometheus.ts";
import type { MonitorReport } from "./types.ts";
import { watch } from "./watch.ts";

/**
 * Against the real stack. Every test works in its own namespace (topic, group, index prefix,
 * bucket, HDFS root, queue prefix from randomEnv) that setup creates and afterAll removes.
 * One test stops MinIO for a few seconds through the stack API and always restarts it.
 */

const env = randomEnv("monitor");
const config = testConfig(env);
const services = servicesFor(env);

const byName = (r: MonitorReport) => Object.fromEntries(r.checks.map((c) => [c.name, c]));
/** The checks that are not OK, with their reasons (so a failure says why). */
const notOk = (r: { checks: ReadonlyArray<{ name: string; status: string; reason: string }> }) =>
  r.checks
    .filter((c) => c.status !== "OK")
    .map((c) => (c.status === "SKIP" ? [c.name, c.status] : [c.name, c.status, c.reason]));
/** The one check a round with `--only` ran. */
const only = (r: MonitorReport) => r.checks.find((c) => c.status !== "SKIP");

beforeAll(async () => {
  const setup = await runSetup(services, setupTargets(config));
  expect(setup.ok).toBe(true);
}, 120_000);

afterAll(async () => {
  await removeAll(services, config);
  await services.close();
}, 120_000);

/** A TCP server that accepts connections and never answers: a hung service. */
async function hungServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("capline monitor on the running stack", () => {
  it("reports every check OK on a healthy, set-up stack (Kibana not deployed here: SKIP), exit 0", async () => {
    const report = await runChecks(config, monitorOptions(config));
    const checks = byName(report);
    expect(notOk(report)).toEqual([["kibana", "SKIP"]]);
    // Nothing listens at the Kibana URL on the local stack: not deployed, which is not a failure.
    expect(checks.kibana?.status).toBe("SKIP");
    expect(checks.kibana?.reason).toMatch(/^not deployed: connection refused/);
    expect(report.exitCode).toBe(0);
    // Measured, not assumed: the numbers come from the services.
    const meta = await (await services.admin()).describeTopics([config.kafka.topic, config.kafka.dlqTopic]);
    expect(checks.kafka?.details.partitions).toEqual(
      Object.fromEntries([...meta.values()].map((t) => [t.topic, t.partitions.length])),
    );
    expect(checks.kafka?.details.partitions).toMatchObject({ [config.kafka.topic]: 3 });
    expect(checks.elasticsearch?.details.documents).toEqual({
      [aliasName(config.elasticsearch.indexPrefix, "profiles")]: 0,
      [aliasName(config.elasticsearch.indexPrefix, "sales-daily")]: 0,
      [aliasName(config.elasticsearch.indexPrefix, "sales-hourly")]: 0,
      [aliasName(config.elasticsearch.indexPrefix, "ops")]: 0,
    });
    expect(checks.hdfs?.details.liveDataNodes).toBeGreaterThanOrEqual(1);
    expect(checks.redis?.details.maxMemoryPolicy).toBe("noeviction");
    // With Kibana required, the same stack is DOWN for it, naming the URL.
    const required = await runChecks(config, monitorOptions(config, { kibana: "required", only: "kibana" }));
    expect(required.checks.find((c) => c.name === "kibana")).toMatchObject({
      status: "DOWN",
      reason: "connection refused",
      url: config.kibana.url,
    });
    expect(required.exitCode).toBe(2);
  }, 60_000);

  it("`capline monitor --json` exits 0 with every service OK; a missing setup is a WARN (exit 1)", async () => {
    const run = await runCli(["monitor", "--json"], env);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as SnakeKeys<MonitorReport>;
    expect(report.status).toBe("OK");
    expect(report.checks.filter((c) => c.status !== "OK").map((c) => c.name)).toEqual(["kibana"]);

    const bare = { ...randomEnv("monitor-bare") };
    const notSetUp = await runCli(["monitor", "--only", "kafka,elasticsearch,minio,hdfs"], bare);
    expect(notSetUp.code).toBe(1);
    expect(notSetUp.stdout).toMatch(/^kafka +WARN .*missing: run `capline setup`$/m);
    expect(notSetUp.stdout).toMatch(/^minio +WARN .*bucket .* missing/m);
  }, 60_000);

  it("a service that accepts connections and never answers is DOWN at the time limit, without hanging", async () => {
    const hung = await hungServer();
    try {
      const url = `http://127.0.0.1:${hung.port}`;
      const overrides: Partial<Record<ConfigVariable, string>> = {
        ...env,
        KAFKA_BROKERS: `127.0.0.1:${hung.port}`,
        ELASTICSEARCH_URL: url,
        MINIO_ENDPOINT: url,
        WEBHDFS_URL: url,
        REDIS_URL: `redis://127.0.0.1:${hung.port}`,
        KIBANA_URL: url,
        MONITOR_KIBANA: "required",
        MONITOR_TIMEOUT_MS: "1500",
      };
      const hungConfig = testConfig(overrides);
      const t0 = performance.now();
      const report = await runChecks(hungConfig, monitorOptions(hungConfig));
      const took = performance.now() - t0;
      expect(took).toBeLessThan(1500 + 1500);
      const checks = byName(report);
      for (const name of ["kafka", "elasticsearch", "minio", "hdfs", "redis", "kibana"] as const) {
        expect([name, checks[name]?.status, checks[name]?.reason]).toEqual([
          name,
          "DOWN",
          "no answer within 1500 ms",
        ]);
      }
      // What only measures through those services cannot: WARN, saying why.
      for (const name of ["bullmq", "pipeline.lag", "pipeline.dlq", "pipeline.freshness"] as const)
        expect([name, checks[name]?.status, checks[name]?.reason]).toEqual([
          name,
          "WARN",
          "cannot measure: no answer within 1500 ms",
        ]);
      expect(checks.elasticsearch?.hint).toMatch(/vm\.max_map_count >= 262144/);
      expect(report.exitCode).toBe(2);

      // The command itself ends too (no connection left behind keeps the process alive).
      const started = performance.now();
      const run = await runCli(["monitor"], overrides);
      expect(run.code).toBe(2);
      expect(performance.now() - started).toBeLessThan(20_000);
      expect(run.stdout).toMatch(
        new RegExp(`^elasticsearch +DOWN +${url.replace(/\./g, "\\.")} +no answer within 1500 ms$`, "m"),
      );
      expect(run.stdout).toMatch(/^hint \(elasticsearch\): .*vm\.max_map_count/m);
    } finally {
      await hung.close();
    }
  }, 60_000);

  it("shows lag when the group's committed offsets are behind, and clears it when a consumer catches up", async () => {
    const group = dispatcherGroupOf(config.kafka.clientId);
    const kafka = kafkaOptions(config);
    const producer = new IdempotentProducer(kafka);
    const admin = await services.admin();
    let consumed = 0;
    // A member of the group that commits after each batch (started further down).
    const consumer: GroupConsumer = new GroupConsumer(
      kafka,
      { groupId: group, topic: config.kafka.topic, maxWaitMs: 100 },
      {
        onAssignment: () => undefined,
        onBatch: async (batch) => {
          consumed += batch.messages.length;
          await consumer.commit([{ partition: batch.partition, offset: batch.nextOffset }]);
        },
        onError: () => undefined,
      },
    );
    try {
      for (const partition of [0, 1, 2])
        await producer.send(
          [0, 1, 2].map((i) => ({
            topic: config.kafka.topic,
            partition,
            key: `u${i}`,
            value: JSON.stringify({ i }),
          })),
        );
      // Committed offsets behind the end, and no member: as if the dispatcher stopped.
      await admin.setGroupOffsets(group, config.kafka.topic, [
        { partition: 0, offset: 1 },
        { partition: 1, offset: 3 },
        { partition: 2, offset: 0 },
      ]);
      const state: MonitorState = {};
      const lagOnly = monitorOptions(config, { only: "pipeline.lag" });
      const behind = only(await runChecks(config, lagOnly, state));
      expect(behind?.status).toBe("WARN");
      expect(behind?.details.total).toBe(2 + 0 + 3);
      expect(((behind?.details.partitions ?? []) as { lag: number }[]).map((p) => p.lag)).toEqual([2, 0, 3]);
      expect(behind?.reason).toMatch(/^lag 5 \(most on partition 2: 3\), no dispatcher connected/);
      expect(
        behind?.samples.filter((s) => s.metric === "consumer_lag").map((s) => [s.labels?.partition, s.value]),
      ).toEqual([
        ["0", 2],
        ["1", 0],
        ["2", 3],
      ]);
      // Above the lag threshold the reason names it; unchanged offsets for the stall time read "stalled".
      const strict = await runChecks(config, monitorOptions(config, { only: "pipeline.lag", lagWarn: 4 }));
      expect(only(strict)?.reason).toMatch(/above MONITOR_LAG_WARN=4$/);
      await new Promise((r) => setTimeout(r, 1_200));
      const stalled = await runChecks(
        config,
        monitorOptions(config, { only: "pipeline.lag", stallSeconds: 1 }),
        state,
      );
      expect(only(stalled)?.reason).toMatch(/stalled, no progress for \d+ s \(MONITOR_STALL_SECONDS=1\)$/);

      // A member of the group consumes the rest and commits: the lag clears.
      await consumer.start();
      const deadline = Date.now() + 45_000;
      let caughtUp = false;
      while (!caughtUp && Date.now() < deadline) {
        const offsets = await admin.committedOffsets(group, config.kafka.topic);
        caughtUp = offsets.size === 3 && [...offsets.values()].every((offset) => offset === 3);
        if (!caughtUp) await new Promise((r) => setTimeout(r, 500));
      }
      expect(caughtUp).toBe(true);
      expect(consumed).toBe(5);
      const clear = only(await runChecks(config, lagOnly, state));
      expect(clear?.status).toBe("OK");
      expect(clear?.details.total).toBe(0);
      expect(clear?.details.members).toBe(1);
      expect(clear?.reason).toMatch(/^lag 0, 1 dispatcher, last progress \d+ s ago$/);
    } finally {
      await consumer.stop().catch(() => undefined);
      await producer.close();
    }
  }, 90_000);

  it("with a real ingest and no dispatcher, lag appears; `capline process` catches up and clears it", async () => {
    // Its own namespace: the dispatcher group here must start from nothing.
    const env = randomEnv("monitor-e2e");
    const config = testConfig(env);
    const services = servicesFor(env);
    expect((await runSetup(services, setupTargets(config))).ok).toBe(true);
    const file = join(tmpdir(), `${config.kafka.topic}.csv`);
    try {
      const gen = await runCli(
        ["generate", "--out", file, "--events", "1500", "--days", "2", "--seed", "7"],
        env,
      );
      expect(gen.code).toBe(0);
      const ingest = await runCli(["ingest", file, "--json"], env);
      expect(ingest.code).toBe(0);
      const admin = await services.admin();
      const ends = await admin.offsets(config.kafka.topic);
      const expectedLag = ends.reduce((s, p) => s + p.high - p.low, 0);
      // The ops record of the ingest becomes searchable at the next refresh (the monitor never forces one).
      await services.es.indices.refresh({ index: aliasName(config.elasticsearch.indexPrefix, "ops") });
      const state: MonitorState = {};
      const opts = monitorOptions(config, { only: "pipeline.lag,pipeline.freshness,pipeline.dlq,minio" });
      const before = byName(await runChecks(config, opts, state));
      expect(before["pipeline.lag"]?.status).toBe("WARN");
      expect(before["pipeline.lag"]?.details.total).toBe(expectedLag);
      expect(before["pipeline.lag"]?.reason).toMatch(
        /messages waiting and group .* never committed: start `capline process`$/,
      );
      expect(before["pipeline.freshness"]?.details.processed).toEqual({});
      const ingested = before["pipeline.freshness"]?.details.ingested as number;
      expect(ingested).toBeGreaterThan(1_000);

      const processed = await runCli(["process", "--until-idle"], env);
      expect(processed.code).toBe(0);
      await services.es.indices.refresh({ index: `${config.elasticsearch.indexPrefix}-*` });
      const after = byName(await runChecks(config, opts, state));
      expect(after["pipeline.lag"]?.status).toBe("OK");
      expect(after["pipeline.lag"]?.details.total).toBe(0);
      expect(after["pipeline.freshness"]).toMatchObject({
        status: "OK",
        details: { ingested, processed: { archive: ingested, index: ingested } },
      });
      // The newest processed event is the newest event time in the profiles, read independently.
      const newest = await services.es.search({
        index: aliasName(config.elasticsearch.indexPrefix, "profiles"),
        size: 1,
        sort: [{ last_seen: "desc" }],
        _source: ["last_seen"],
      });
      const lastSeen =
        (newest.hits.hits[0]?._source as { last_seen?: string } | undefined)?.last_seen ?? "none";
      expect(after["pipeline.freshness"]?.details.newestProcessedEvent).toBe(
        new Date(lastSeen).toISOString(),
      );
      expect(after.minio?.reason).toMatch(/newest object written \d+ s ago \(events\/dt=\d{4}-\d{2}-\d{2}\//);
      expect(after["pipeline.dlq"]?.details.growth).toBe(0);
    } finally {
      rmSync(file, { force: true });
      await removeAll(services, config);
      await services.close();
    }
  }, 180_000);

  it("serves /healthz, /readyz, /status and /metrics (valid Prometheus text), with a cache", async () => {
    const server = new MonitorServer(config, monitorOptions(config), {
      port: 0,
      host: "127.0.0.1",
      cacheMs: 60_000,
    });
    const base = await server.start();
    try {
      expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: "alive" });

      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ ready: true, failing: [] });

      const status = (await (await fetch(`${base}/status`)).json()) as SnakeKeys<MonitorReport>;
      expect(notOk(status)).toEqual([["kibana", "SKIP"]]);
      expect(status.exit_code).toBe(0);
      expect(status.checks.map((c) => c.name)).toContain("pipeline.lag");
      // Cached: a second read within MONITOR_CACHE_MS is the same round.
      const again = (await (await fetch(`${base}/status`)).json()) as SnakeKeys<MonitorReport>;
      expect(again.checked_at).toBe(status.checked_at);

      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      const families = parsePrometheusText(await metrics.text());
      expect(sampleValue(families, "capline_check_status", { check: "kafka" })).toBe(0);
      expect(sampleValue(families, "capline_check_up", { check: "elasticsearch" })).toBe(1);
      expect(sampleValue(families, "capline_check_status", { check: "kibana" })).toBeUndefined();
      const group = dispatcherGroupOf(config.kafka.clientId);
      for (const partition of ["0", "1", "2"])
        expect(
          sampleValue(families, "capline_consumer_lag", { group, topic: config.kafka.topic, partition }),
        ).toBe(0);
      expect(sampleValue(families, "capline_queue_jobs", { queue: QUEUES.index, state: "waiting" })).toBe(0);
      expect(sampleValue(families, "capline_queue_workers", { queue: QUEUES.archive })).toBe(0);
      const ends = await (await services.admin()).offsets(config.kafka.topic);
      expect(sampleValue(families, "capline_topic_messages", { topic: config.kafka.topic })).toBe(
        ends.reduce((sum, p) => sum + p.high - p.low, 0),
      );
      expect(sampleValue(families, "capline_dlq_messages")).toBe(0);
      expect(sampleValue(families, "capline_hdfs_live_datanodes")).toBeGreaterThanOrEqual(1);
      expect(
        sampleValue(families, "capline_elasticsearch_docs", {
          index: aliasName(config.elasticsearch.indexPrefix, "profiles"),
        }),
      ).toBe(0);

      expect((await fetch(`${base}/nope`)).status).toBe(404);
      const post = await fetch(`${base}/readyz`, { method: "POST" });
      expect(post.status).toBe(405);
      expect(post.headers.get("allow")).toBe("GET, HEAD");
    } finally {
      await server.close();
    }
  }, 60_000);

  it("reports a really stopped MinIO DOWN (exit 2, /readyz 503) and OK again once it is back", async () => {
    const server = new MonitorServer(config, monitorOptions(config), {
      port: 0,
      host: "127.0.0.1",
      cacheMs: 0,
    });
    const base = await server.start();
    const timeoutMs = config.monitor.timeoutMs;
    let stopped = false;
    try {
      const outcome = await stopService(config, "minio", 10_000);
      expect(["stopped", "killed"]).toContain(outcome);
      stopped = true;
      const t0 = performance.now();
      // The command too, at the same time (the down time stays a few seconds).
      const [report, cli] = await Promise.all([
        runChecks(config, monitorOptions(config)).then((r) => {
          expect(performance.now() - t0).toBeLessThan(timeoutMs + 1_000);
          return r;
        }),
        runCli(["monitor", "--json"], env),
      ]);
      expect(cli.code).toBe(2);
      expect(notOk(JSON.parse(cli.stdout) as SnakeKeys<MonitorReport>)).toEqual([
        ["minio", "DOWN", "connection refused"],
        ["kibana", "SKIP"],
      ]);
      const minio = byName(report).minio;
      expect(minio).toMatchObject({
        status: "DOWN",
        reason: "connection refused",
        critical: true,
        url: config.minio.endpoint,
      });
      expect(report.exitCode).toBe(2);
      expect(notOk(report)).toEqual([
        ["minio", "DOWN", "connection refused"],
        ["kibana", "SKIP"],
      ]);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({
        ready: false,
        failing: [{ name: "minio", status: "DOWN" }],
      });
    } finally {
      if (stopped) await startService(config, "minio");
    }
    try {
      // A restarted MinIO answers /minio/health/live at once but reports write quorum on
      // /minio/health/cluster a moment later: "OK again" is awaited, within a bound.
      const deadline = Date.now() + 30_000;
      let back = await runChecks(config, monitorOptions(config));
      while (back.exitCode !== 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1_000));
        back = await runChecks(config, monitorOptions(config));
      }
      expect(notOk(back)).toEqual([["kibana", "SKIP"]]);
      expect(back.exitCode).toBe(0);
      let readyz = await fetch(`${base}/readyz`);
      while (readyz.status !== 200 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1_000));
        readyz = await fetch(`${base}/readyz`);
      }
      expect(readyz.status).toBe(200);
    } finally {
      await server.close();
    }
  }, 120_000);
});

describe("capline monitor commands", () => {
  it("monitor serve answers /healthz and stops cleanly on SIGINT (exit 0)", async () => {
    const { spawn } = await import("node:child_process");
    const { join } = await import("node:path");
    const { PROJECT_ROOT } = await import("../core/config/index.ts");
    const child = spawn(
      process.execPath,
      [join(PROJECT_ROOT, "bin", "capline.mjs"), "monitor", "serve", "--port", "0"],
      {
        env: { ...process.env, ...env, LOG_LEVEL: "warn" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL announced: ${stderr}`)), 30_000);
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        const m = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    const code = await new Promise<number | null>((resolve) => {
      child.on("close", (c) => resolve(c));
      child.kill("SIGINT");
    });
    expect(code).toBe(0);
  }, 60_000);

  it("--watch on a terminal redraws the whole table in place each round", async () => {
    const writes: string[] = [];
    const controller = new AbortController();
    const rounds = await watch(config, monitorOptions(config, { only: "redis" }), {
      intervalSeconds: 1,
      json: false,
      tty: true,
      color: true,
      signal: controller.signal,
      write: (text) => {
        writes.push(text);
        if (writes.length === 2) controller.abort();
      },
    });
    expect(rounds).toBe(2);
    for (const w of writes) {
      expect(w.startsWith("\x1b[H\x1b[2J")).toBe(true);
      expect(w.split("\n").some((l) => /^redis +/.test(l) && l.includes("\x1b[32mOK"))).toBe(true);
      expect(w).toMatch(/every 1 s; Ctrl-C to quit\n$/);
    }
  }, 30_000);

  it("monitor --watch off a terminal prints one line per change and exits 0 on Ctrl-C", async () => {
    const { spawn } = await import("node:child_process");
    const { join } = await import("node:path");
    const { PROJECT_ROOT } = await import("../core/config/index.ts");
    const child = spawn(
      process.execPath,
      [join(PROJECT_ROOT, "bin", "capline.mjs"), "monitor", "--watch", "1", "--only", "redis,kafka"],
      { env: { ...process.env, ...env, LOG_LEVEL: "warn" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    // First round: every check once (a change from nothing). Then unchanged rounds print nothing.
    const deadline = Date.now() + 30_000;
    while (stdout.split("\n").filter(Boolean).length < 10 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      if (/ redis OK: /.test(stdout) && / kafka OK: /.test(stdout)) break;
    }
    await new Promise((r) => setTimeout(r, 2_500));
    const code = await new Promise<number | null>((resolve) => {
      child.on("close", (c) => resolve(c));
      child.kill("SIGINT");
    });
    expect(code).toBe(0);
    const lines = stdout.split("\n").filter(Boolean);
    expect(stdout).not.toContain("\x1b[");
    expect(lines.filter((l) => / redis OK: PONG/.test(l))).toHaveLength(1);
    expect(lines.filter((l) => / kafka OK: /.test(l))).toHaveLength(1);
    expect(lines.filter((l) => / SKIP: /.test(l))).toHaveLength(8);
  }, 60_000);
});
