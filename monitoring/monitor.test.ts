import { describe, expect, it } from "vitest";
import { loadConfig } from "../core/config/index.ts";
import { UsageError } from "../core/errors.ts";
import { shownUrl } from "./checks/context.ts";
import { computeLag } from "./checks/pipeline.ts";
import { parseInfo } from "./checks/redis.ts";
import { MonitorMetrics } from "./metrics.ts";
import { monitorOptions, parseCheckList } from "./options.ts";
import { renderChanges, renderTable } from "./render.ts";
import { type CheckDefinition, runChecks } from "./run.ts";
import { exitCodeOf, readiness, statusChanges, worstStatus } from "./status.ts";
import { parsePrometheusText, sampleValue } from "./test/prometheus.ts";
import { report, row } from "./test/report.ts";
import { CHECK_NAMES } from "./types.ts";

const config = (env: Record<string, string> = {}) => loadConfig({ env, root: "/nonexistent" });

describe("status aggregation", () => {
  it("takes the worst status, SKIP counting as OK", () => {
    expect(worstStatus([])).toBe("OK");
    expect(worstStatus(["OK", "SKIP"])).toBe("OK");
    expect(worstStatus(["SKIP", "WARN", "OK"])).toBe("WARN");
    expect(worstStatus(["WARN", "DOWN", "OK"])).toBe("DOWN");
    expect(worstStatus(["DOWN", "WARN"])).toBe("DOWN");
  });

  it("maps OK/WARN/DOWN to exit 0/1/2", () => {
    expect([exitCodeOf("OK"), exitCodeOf("WARN"), exitCodeOf("DOWN")]).toEqual([0, 1, 2]);
    expect(report([row("kafka", "OK"), row("kibana", "SKIP")]).exitCode).toBe(0);
    expect(report([row("kafka", "OK"), row("redis", "WARN")]).exitCode).toBe(1);
    expect(report([row("kafka", "DOWN"), row("redis", "WARN")]).exitCode).toBe(2);
  });

  it("is ready unless a critical check is DOWN or blocking", () => {
    expect(readiness(report([row("kafka", "OK"), row("elasticsearch", "WARN")])).ready).toBe(true);
    // Lag or Kibana down: not a dependency of the pipeline's readiness.
    expect(
      readiness(report([row("kafka", "OK"), row("pipeline.lag", "DOWN", { critical: false })])).ready,
    ).toBe(true);
    const down = readiness(report([row("kafka", "DOWN"), row("redis", "OK")]));
    expect(down).toEqual({
      ready: false,
      failing: [{ name: "kafka", status: "DOWN", reason: "kafka is DOWN" }],
    });
    const blocking = readiness(report([row("minio", "WARN", { blocking: true })]));
    expect(blocking.ready).toBe(false);
    expect(blocking.failing.map((f) => f.name)).toEqual(["minio"]);
  });

  it("lists status changes between rounds", () => {
    const a = report([row("kafka", "OK"), row("redis", "OK")]);
    const b = report([row("kafka", "DOWN"), row("redis", "OK", { reason: "other text, same status" })]);
    expect(statusChanges(undefined, a).map((c) => [c.check.name, c.from])).toEqual([
      ["kafka", undefined],
      ["redis", undefined],
    ]);
    expect(statusChanges(a, b).map((c) => [c.check.name, c.from, c.check.status])).toEqual([
      ["kafka", "OK", "DOWN"],
    ]);
    expect(statusChanges(b, b)).toEqual([]);
  });
});

describe("options", () => {
  it("parses check lists and names the source of an unknown check", () => {
    expect(parseCheckList("kibana, hdfs,", "--skip")).toEqual(["kibana", "hdfs"]);
    expect(() => parseCheckList("kibana,hfds", "--skip")).toThrow(UsageError);
    expect(() => parseCheckList("hfds", "MONITOR_SKIP")).toThrow(/MONITOR_SKIP: unknown check "hfds"/);
  });

  it("reads MONITOR_* and lets flags win", () => {
    const c = config({ MONITOR_TIMEOUT_MS: "2500", MONITOR_LAG_WARN: "7", MONITOR_SKIP: "kibana" });
    const fromEnv = monitorOptions(c);
    expect(fromEnv.timeoutMs).toBe(2500);
    expect(fromEnv.thresholds.lagWarn).toBe(7);
    expect(fromEnv.skip.get("kibana")).toBe("left out by MONITOR_SKIP");
    const flags = monitorOptions(c, { timeout: 900, lagWarn: 0, stallSeconds: 12, skip: "hdfs" });
    expect(flags.timeoutMs).toBe(900);
    expect(flags.thresholds.lagWarn).toBe(0);
    expect(flags.thresholds.stallSeconds).toBe(12);
    expect([...flags.skip.keys()].sort()).toEqual(["hdfs", "kibana"]);
  });

  it("--only skips every other check; Kibana off and unused archive stores are skipped with a reason", () => {
    const only = monitorOptions(config(), { only: "redis,bullmq" });
    expect(CHECK_NAMES.filter((n) => !only.skip.has(n))).toEqual(["redis", "bullmq"]);
    const off = monitorOptions(config({ MONITOR_KIBANA: "off", ARCHIVE_HDFS: "false" }));
    expect(off.skip.get("kibana")).toBe("left out by MONITOR_KIBANA=off");
    expect(off.skip.get("hdfs")).toBe("not used (ARCHIVE_HDFS=false)");
    expect(off.skip.has("minio")).toBe(false);
    expect(() => monitorOptions(config(), { kibana: "maybe" })).toThrow(/--kibana/);
    expect(() => config({ MONITOR_KIBANA: "maybe" })).toThrow(/MONITOR_KIBANA/);
  });
});

describe("lag and Redis INFO", () => {
  it("computes lag per partition from committed offsets, counting from the start where none", () => {
    const ends = [
      { partition: 0, low: 0, high: 10 },
      { partition: 1, low: 5, high: 9 },
      { partition: 2, low: 3, high: 3 },
    ];
    expect(computeLag(ends, new Map([[0, 4]]))).toEqual([
      { partition: 0, high: 10, committed: 4, lag: 6 },
      { partition: 1, high: 9, committed: null, lag: 4 },
      { partition: 2, high: 3, committed: null, lag: 0 },
    ]);
    // -1 is Kafka's "no committed offset".
    expect(computeLag(ends, new Map([[1, -1]]))[1]?.lag).toBe(4);
    expect(computeLag(ends, new Map([[0, 10]]))[0]?.lag).toBe(0);
  });

  it("parses INFO lines, skipping section headers", () => {
    const info = parseInfo(
      "# Memory\r\nused_memory:1024\r\nmaxmemory_policy:noeviction\r\n\r\n# Server\r\nredis_version:7.0.15\r\n",
    );
    expect(info.get("used_memory")).toBe("1024");
    expect(info.get("maxmemory_policy")).toBe("noeviction");
    expect(info.get("redis_version")).toBe("7.0.15");
    expect(info.has("# Memory")).toBe(false);
  });
});

describe("URLs shown", () => {
  it("uses the Codespaces form for http(s) on loopback, never shows credentials", () => {
    const codespace = config({ CODESPACES: "true", CODESPACE_NAME: "fuzzy-goat" });
    expect(shownUrl(codespace, "http://127.0.0.1:9200")).toBe("https://fuzzy-goat-9200.app.github.dev");
    expect(shownUrl(codespace, "http://kibana:5601")).toBe("http://kibana:5601");
    expect(shownUrl(codespace, "127.0.0.1:9092,127.0.0.1:9093")).toBe("127.0.0.1:9092,127.0.0.1:9093");
    expect(shownUrl(codespace, "redis://:s3cret@127.0.0.1:6379")).toBe("redis://127.0.0.1:6379");
    expect(shownUrl(config(), "http://127.0.0.1:9200")).toBe("http://127.0.0.1:9200");
  });
});

describe("rendering", () => {
  const r = report([
    row("kafka", "OK", { url: "127.0.0.1:9092", reason: "1 broker" }),
    row("elasticsearch", "DOWN", { reason: "connection refused", hint: "raise vm.max_map_count" }),
    row("kibana", "SKIP", { reason: "not deployed" }),
  ]);

  it("aligns the table and ends with the verdict and hints", () => {
    const lines = renderTable(r).split("\n");
    // Column widths: the longest name (elasticsearch, 13), status (6), URL (30), two spaces between.
    expect(lines[0]).toBe(`${"CHECK".padEnd(13)}  STATUS  ${"URL".padEnd(30)}  REASON`);
    expect(lines[1]).toBe(`${"kafka".padEnd(13)}  OK      ${"127.0.0.1:9092".padEnd(30)}  1 broker`);
    expect(lines[2]).toBe("elasticsearch  DOWN    http://127.0.0.1/elasticsearch  connection refused");
    expect(lines.at(-2)).toBe("DOWN: 2 checks (1 skipped) in 42 ms at 2026-01-02T03:04:05.000Z; exit 2");
    expect(lines.at(-1)).toBe("hint (elasticsearch): raise vm.max_map_count");
    // Every status column starts at the same place.
    const col = lines[0]?.indexOf("STATUS");
    for (const l of lines.slice(1, 4)) expect(l.slice(col).match(/^(OK|DOWN|SKIP) /)).not.toBeNull();
  });

  it("colors only when asked", () => {
    expect(renderTable(r)).not.toContain("\x1b[");
    expect(renderTable(r, { color: true })).toContain("\x1b[31mDOWN");
  });

  it("prints one line per change", () => {
    const next = report([
      row("kafka", "OK", { url: "127.0.0.1:9092", reason: "1 broker" }),
      row("elasticsearch", "OK", { reason: "green" }),
      row("kibana", "SKIP", { reason: "not deployed" }),
    ]);
    expect(renderChanges(r, next)).toEqual([
      "2026-01-02T03:04:05.000Z elasticsearch DOWN -> OK: green (http://127.0.0.1/elasticsearch)",
    ]);
    expect(renderChanges(undefined, r)).toHaveLength(3);
  });
});

describe("metrics", () => {
  it("exposes the samples of the report as valid Prometheus text, skipped checks absent", async () => {
    const metrics = new MonitorMetrics();
    metrics.update(
      report([
        row("pipeline.lag", "WARN", {
          samples: [
            { metric: "consumer_lag", labels: { group: "g", topic: "t", partition: "0" }, value: 5 },
            { metric: "consumer_lag", labels: { group: "g", topic: "t", partition: "1" }, value: 0 },
          ],
        }),
        row("bullmq", "OK", {
          samples: [{ metric: "queue_jobs", labels: { queue: "index", state: "waiting" }, value: 3 }],
        }),
        row("redis", "DOWN", { durationMs: 1500 }),
        row("kibana", "SKIP"),
        row("pipeline.dlq", "OK", { samples: [{ metric: "dlq_messages", value: 7 }] }),
      ]),
    );
    const text = await metrics.text();
    const families = parsePrometheusText(text);
    expect(families.get("capline_consumer_lag")?.type).toBe("gauge");
    expect(sampleValue(families, "capline_consumer_lag", { group: "g", topic: "t", partition: "0" })).toBe(5);
    expect(sampleValue(families, "capline_queue_jobs", { queue: "index", state: "waiting" })).toBe(3);
    expect(sampleValue(families, "capline_dlq_messages")).toBe(7);
    expect(sampleValue(families, "capline_check_status", { check: "pipeline.lag" })).toBe(1);
    expect(sampleValue(families, "capline_check_status", { check: "redis" })).toBe(2);
    expect(sampleValue(families, "capline_check_up", { check: "redis" })).toBe(0);
    expect(sampleValue(families, "capline_check_duration_seconds", { check: "redis" })).toBe(1.5);
    expect(sampleValue(families, "capline_check_status", { check: "kibana" })).toBeUndefined();

    // A series the next round does not report disappears instead of going stale.
    metrics.update(report([row("pipeline.lag", "OK")]));
    const after = parsePrometheusText(await metrics.text());
    expect(
      sampleValue(after, "capline_consumer_lag", { group: "g", topic: "t", partition: "0" }),
    ).toBeUndefined();
    expect(sampleValue(after, "capline_check_status", { check: "pipeline.lag" })).toBe(0);
  });

  it("the test parser refuses what Prometheus would refuse", () => {
    expect(() => parsePrometheusText("x 1\n")).toThrow(/without a TYPE/);
    expect(() => parsePrometheusText("# TYPE x gauge\nx{a=1} 1\n")).toThrow(/not quoted/);
    expect(() => parsePrometheusText("# TYPE x gauge\nx one\n")).toThrow(/bad value/);
    expect(() => parsePrometheusText("# TYPE x gauge\nx 1")).toThrow(/newline/);
    expect(() => parsePrometheusText('# TYPE x gauge\nx{a="1",a="2"} 1\n')).toThrow(/twice/);
    expect(() => parsePrometheusText("# TYPE 1x gauge\n")).toThrow(/bad TYPE/);
    const ok = parsePrometheusText('# HELP x h\n# TYPE x gauge\nx{a="q\\"\\n"} +Inf\n');
    expect(ok.get("x")?.samples[0]).toEqual({
      name: "x",
      labels: { a: 'q"\n' },
      value: Number.POSITIVE_INFINITY,
    });
  });
});

describe("time limits", () => {
  const base = { url: () => "http://127.0.0.1:1", critical: () => true } as const;

  it("a check that never answers is DOWN at its deadline, and its abort signal fires", async () => {
    let aborted = false;
    const hung: CheckDefinition = {
      ...base,
      name: "kafka",
      onError: () => "DOWN",
      hint: "look",
      run: () => new Promise(() => undefined),
    };
    const polite: CheckDefinition = {
      ...base,
      name: "redis",
      onError: () => "DOWN",
      run: (ctx) =>
        new Promise((_, reject) =>
          ctx.signal.addEventListener("abort", () => {
            aborted = true;
            reject(ctx.signal.reason);
          }),
        ),
    };
    const measuring: CheckDefinition = {
      ...base,
      name: "pipeline.lag",
      onError: () => "WARN",
      run: () => new Promise(() => undefined),
    };
    const fine: CheckDefinition = {
      ...base,
      name: "bullmq",
      onError: () => "WARN",
      run: async () => ({ status: "OK", reason: "fine" }),
    };
    const c = config();
    const t0 = performance.now();
    const r = await runChecks(c, { ...monitorOptions(c), timeoutMs: 300 }, {}, [
      hung,
      polite,
      measuring,
      fine,
    ]);
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1_500);
    expect(aborted).toBe(true);
    expect(r.checks.map((x) => [x.name, x.status, x.reason])).toEqual([
      ["kafka", "DOWN", "no answer within 300 ms"],
      ["redis", "DOWN", "no answer within 300 ms"],
      ["pipeline.lag", "WARN", "cannot measure: no answer within 300 ms"],
      ["bullmq", "OK", "fine"],
    ]);
    expect(r.checks[0]?.hint).toBe("look");
    expect(r.exitCode).toBe(2);
  });

  it("a check that throws reports the reason; a skipped check does not run", async () => {
    let ran = false;
    const failing: CheckDefinition = {
      ...base,
      name: "minio",
      onError: () => "DOWN",
      run: async () => {
        throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
      },
    };
    const skipped: CheckDefinition = {
      ...base,
      name: "kibana",
      onError: () => "WARN",
      run: async () => {
        ran = true;
        return { status: "OK", reason: "" };
      },
    };
    const c = config();
    const r = await runChecks(c, monitorOptions(c, { skip: "kibana" }), {}, [failing, skipped]);
    expect(r.checks.map((x) => [x.name, x.status, x.reason, x.critical])).toEqual([
      ["minio", "DOWN", "connection refused", true],
      ["kibana", "SKIP", "left out by --skip", false],
    ]);
    expect(ran).toBe(false);
  });
});
