/**
 * `npm run bench:pipeline`: the REES46 electronics size (885,129 generated rows, seed 42) through
 * `capline ingest` and then `capline process --until-idle` with every sink on (MinIO, HDFS,
 * Elasticsearch), against the local stack, in a fresh topic, consumer group, queue prefix, index
 * prefix, bucket and HDFS root (random names, removed afterwards unless --keep). Prints end-to-end
 * events/s (events ÷ ingest + process wall time), processing-only events/s, per-sink throughput
 * (from the ops records the workers write per range and sink) and the peak RSS and CPU time of
 * each process (GNU time, else VmHWM polled from /proc). Writes benchmarks/out/pipeline-latest.json.
 *
 * With `--scale` (npm run bench:scale: 5,000,000 events, 500,000 customers from `capline generate
 * --users`) it also reports Redis memory, Elasticsearch's heap and documents, and the lake's files
 * and bytes before and after `capline compact`.
 *
 *   npm run bench:pipeline [-- --events N] [--users N] [--keep] [--concurrency N] [--range-size N] [--max-in-flight N] [--cpu-prof DIR]
 *     [--process-node-args "--max-old-space-size=512 ..."]
 *   npm run bench:scale [-- --events N --users N]
 */
import { spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { createElasticsearch } from "../core/clients/elasticsearch.ts";
import { createMinio } from "../core/clients/minio.ts";
import { createRedis } from "../core/clients/redis.ts";
import { createWebHdfs } from "../core/clients/webhdfs.ts";
import { loadConfig, PROJECT_ROOT } from "../core/config/index.ts";
import { KafkaAdmin, kafkaOptions } from "../core/kafka/index.ts";
import { aliasName, checkpointTopicOf, dispatcherGroupOf } from "../core/names.ts";
import { INDEX_NAMES } from "../core/schema/indices.ts";
import { generate } from "../ingestion/index.ts";
import { configuredIndexSettings, ensureIndices } from "../setup/elasticsearch.ts";
import { deleteQueueKeys } from "../setup/redis.ts";
import { SERVICE_NAMES } from "../stack/render.ts";
import { stackPaths } from "../stack/services.ts";
import { isolatedNames } from "../test/support/index.ts";

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const events = Number(flag("--events") ?? (args.includes("--scale") ? 5_000_000 : 885_129));
const keep = args.includes("--keep");
const concurrency = flag("--concurrency");
const rangeSize = flag("--range-size");
const maxInFlight = flag("--max-in-flight");
const cpuProf = flag("--cpu-prof");
const users = flag("--users");
/** Node flags for the process step only, e.g. "--max-old-space-size=512" (space separated). */
const processNodeArgs = (flag("--process-node-args") ?? "").split(" ").filter(Boolean);
/** `--scale` (npm run bench:scale): lake, Redis and Elasticsearch figures, before and after `capline compact`. */
const scaleMode = args.includes("--scale");

const name = `bench-pipe-${randomUUID().slice(0, 8)}`;
const env: Record<string, string> = {
  ...isolatedNames(name),
  ARCHIVE_MINIO: "true",
  ARCHIVE_HDFS: "true",
  LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
};
const childEnv = { ...process.env, ...env };
const config = loadConfig({ env: childEnv });
const outDir = join(PROJECT_ROOT, "benchmarks", "out");
mkdirSync(outDir, { recursive: true });
const file = join(outDir, users ? `bench-${events}-${users}u.csv` : `bench-${events}.csv`);
const BIN = join(PROJECT_ROOT, "bin", "capline.mjs");
const fmt = new Intl.NumberFormat("en-US");
/** End-to-end events/s this 2-core machine should reach with every sink on (issue 13). */
const TARGET = 25_000;

const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  return {
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    ramGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
}

/**
 * CPU seconds used so far by each service of the local stack (`capline stack up`): the process
 * in its pid file and every descendant, from /proc. Empty for services not started that way
 * (Docker, external), which then show as "n/a".
 */
function serviceCpuSeconds(): Record<string, number> {
  const ticks = 100; // USER_HZ on Linux
  const stats = new Map<number, { ppid: number; cpu: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the command name, which is in parentheses and may hold spaces.
      const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
      stats.set(Number(entry), { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / ticks });
    } catch {
      // gone meanwhile
    }
  }
  const children = new Map<number, number[]>();
  for (const [pid, st] of stats) children.set(st.ppid, [...(children.get(st.ppid) ?? []), pid]);
  const out: Record<string, number> = {};
  for (const service of SERVICE_NAMES) {
    let pid: number | undefined;
    try {
      pid = (JSON.parse(readFileSync(stackPaths(config).pid(service), "utf8")) as { pid?: number }).pid;
    } catch {
      continue;
    }
    if (pid === undefined || !stats.has(pid)) continue;
    let total = 0;
    for (const todo = [pid]; todo.length > 0; ) {
      const next = todo.pop() as number;
      total += stats.get(next)?.cpu ?? 0;
      todo.push(...(children.get(next) ?? []));
    }
    out[service] = total;
  }
  return out;
}

function cpuBetween(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const service of SERVICE_NAMES) {
    const a = before[service];
    const b = after[service];
    if (a !== undefined && b !== undefined) out[service] = Number((b - a).toFixed(1));
  }
  return out;
}

interface ChildRun {
  code: number | null;
  seconds: number;
  stdout: string;
  peakRssMiB: number | undefined;
  cpuSeconds: number | undefined;
  loadAverage: string;
}

const timeFile = join(outDir, `${name}.time`);
const gnuTime = spawnSync("/usr/bin/time", ["-v", "true"]).status === 0;

/** Runs `capline ...args`; peak RSS and CPU from GNU time (or VmHWM polled from /proc). */
async function runCapline(args: string[], nodeArgs: string[] = []): Promise<ChildRun> {
  const command = [process.execPath, ...nodeArgs, BIN, ...args];
  const child = gnuTime
    ? spawn("/usr/bin/time", ["-v", "-o", timeFile, ...command], {
        env: childEnv,
        stdio: ["ignore", "pipe", "pipe"],
      })
    : spawn(command[0] ?? process.execPath, command.slice(1), {
        env: childEnv,
        stdio: ["ignore", "pipe", "pipe"],
      });
  let stdout = "";
  child.stdout.on("data", (d) => {
    stdout += String(d);
  });
  child.stderr.on("data", (d) => process.stderr.write(d));
  let hwmKiB = 0;
  const poll = gnuTime
    ? undefined
    : setInterval(() => {
        try {
          const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
          hwmKiB = Math.max(hwmKiB, Number(/VmHWM:\s*(\d+)/.exec(status)?.[1] ?? 0));
        } catch {
          // the child has exited
        }
      }, 200);
  const started = performance.now();
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  const seconds = (performance.now() - started) / 1000;
  if (poll) clearInterval(poll);
  const times = gnuTime ? readFileSync(timeFile, "utf8") : "";
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(times)?.[1];
  const user = /User time \(seconds\): ([\d.]+)/.exec(times)?.[1];
  const sys = /System time \(seconds\): ([\d.]+)/.exec(times)?.[1];
  return {
    code,
    seconds,
    stdout,
    peakRssMiB: rss ? Math.round(Number(rss) / 1024) : hwmKiB > 0 ? Math.round(hwmKiB / 1024) : undefined,
    cpuSeconds: user && sys ? Number((Number(user) + Number(sys)).toFixed(1)) : undefined,
    loadAverage: loadAverage(),
  };
}

/**
 * A command that failed, with what it said: with `--json` a capline command reports its error on
 * stdout (the JSON error object), which the benchmark otherwise only parses on success.
 */
function failed(what: string, run: ChildRun): Error {
  const said = run.stdout.trim();
  const tail = said.length > 2000 ? `…${said.slice(-2000)}` : said;
  return new Error(
    `${what} exited with ${run.code}${tail ? `; it printed:\n${tail}` : " and printed nothing"}`,
  );
}

/** The JSON summary a command printed (one object, possibly pretty-printed). */
function lastJson(text: string): Record<string, unknown> {
  const start = text.indexOf("{");
  return start >= 0 ? (JSON.parse(text.slice(start)) as Record<string, unknown>) : {};
}

if (!existsSync(file)) {
  const t0 = Date.now();
  await generate({ out: file, events, seed: 42, ...(users ? { users: Number(users) } : {}) });
  process.stderr.write(`generated ${events} rows in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}
const fileMB = Number((statSync(file).size / 1e6).toFixed(1));

const es = createElasticsearch(config);
const minio = createMinio(config);
const hdfs = createWebHdfs(config);
const kafka = kafkaOptions(config);

async function cleanup(): Promise<void> {
  const indices = await es.cat.indices({ index: `${name}*`, format: "json" }).catch(() => []);
  for (const i of indices) if (i.index) await es.indices.delete({ index: i.index }).catch(() => undefined);
  const templates = await es.indices.getIndexTemplate({ name: `${name}*` }).catch(() => undefined);
  for (const t of templates?.index_templates ?? [])
    await es.indices.deleteIndexTemplate({ name: t.name }).catch(() => undefined);
  const keys: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const stream = minio.listObjectsV2(name, "", true);
    stream.on("data", (o) => {
      if (o.name) keys.push(o.name);
    });
    stream.on("error", reject);
    stream.on("end", () => resolve());
  }).catch(() => undefined);
  for (let i = 0; i < keys.length; i += 1000)
    await minio.removeObjects(name, keys.slice(i, i + 1000)).catch(() => undefined);
  await minio.removeBucket(name).catch(() => undefined);
  await hdfs.delete(`/${name}`, { recursive: true }).catch(() => undefined);
  const redis = createRedis(config);
  await deleteQueueKeys(redis, name).catch(() => undefined);
  redis.disconnect();
  const admin = new KafkaAdmin(kafka);
  await admin.deleteGroups([dispatcherGroupOf(name)]).catch(() => undefined);
  const existing = new Set(await admin.listTopics());
  const topics = [name, `${name}.dlq`, checkpointTopicOf(name)].filter((t) => existing.has(t));
  await admin.deleteTopics(topics).catch(() => undefined);
  await admin.close();
}

interface SinkFigures {
  ranges: number;
  events: number;
  /** Sum of job durations (busy time, jobs overlap). */
  jobSeconds: number;
  /** Process start to the sink's last range done. */
  spanSeconds: number;
  eventsPerSecond: number;
}

/** Per-sink throughput from the ops records (one per range and sink). */
async function sinkFigures(processStartedMs: number): Promise<Record<string, SinkFigures>> {
  const index = aliasName(name, "ops");
  await es.indices.refresh({ index });
  const response = await es.search<{ sink: string; events: number; seconds: number; "@timestamp": string }>({
    index,
    size: 10_000,
    query: { term: { kind: "process" } },
  });
  const out: Record<string, SinkFigures> = {};
  for (const hit of response.hits.hits) {
    const d = hit._source;
    if (!d) continue;
    const f = out[d.sink] ?? { ranges: 0, events: 0, jobSeconds: 0, spanSeconds: 0, eventsPerSecond: 0 };
    out[d.sink] = f;
    f.ranges++;
    f.events += d.events;
    f.jobSeconds += d.seconds;
    f.spanSeconds = Math.max(f.spanSeconds, (Date.parse(d["@timestamp"]) - processStartedMs) / 1000);
  }
  for (const f of Object.values(out)) {
    f.jobSeconds = Number(f.jobSeconds.toFixed(1));
    f.spanSeconds = Number(f.spanSeconds.toFixed(1));
    f.eventsPerSecond = f.spanSeconds > 0 ? Math.round(f.events / f.spanSeconds) : 0;
  }
  return out;
}

interface LakeFigures {
  files: number;
  bytes: number;
}

async function lakeFigures(): Promise<{ minio: LakeFigures; hdfs: LakeFigures }> {
  const minioFigures: LakeFigures = { files: 0, bytes: 0 };
  await new Promise<void>((resolve, reject) => {
    const stream = minio.listObjectsV2(name, "events/", true);
    stream.on("data", (o) => {
      if (o.name?.endsWith(".parquet")) {
        minioFigures.files++;
        minioFigures.bytes += o.size ?? 0;
      }
    });
    stream.on("error", reject);
    stream.on("end", () => resolve());
  });
  const hdfsFigures: LakeFigures = { files: 0, bytes: 0 };
  for (const day of await hdfs.listStatus(`/${name}/events`))
    for (const f of await hdfs.listStatus(`/${name}/events/${day.pathSuffix}`))
      if (f.type === "FILE" && f.pathSuffix.endsWith(".parquet")) {
        hdfsFigures.files++;
        hdfsFigures.bytes += f.length;
      }
  return { minio: minioFigures, hdfs: hdfsFigures };
}

interface ScaleFigures {
  customers: number;
  redisUsedMemoryMiB: number;
  redisPeakMemoryMiB: number;
  elasticsearch: { heapUsedMiB: number; heapMaxMiB: number; docs: Record<string, number> };
  lakeBefore: { minio: LakeFigures; hdfs: LakeFigures };
  compact: { seconds: number; cpuSeconds: number | undefined; peakRssMiB: number | undefined };
  lakeAfter: { minio: LakeFigures; hdfs: LakeFigures };
}

/** Elasticsearch's counters of gets and document writes (all indices of the node), for a before/after. */
async function elasticsearchOps(): Promise<{ gets: number; writes: number; failedWrites: number }> {
  const st = await es.nodes.stats({ metric: "indices", index_metric: "get,indexing" });
  const node = Object.values(st.nodes)[0]?.indices;
  return {
    gets: node?.get?.total ?? 0,
    writes: node?.indexing?.index_total ?? 0,
    failedWrites: node?.indexing?.index_failed ?? 0,
  };
}

/**
 * Per index of this run (its own prefix, so every write counted is the process's): document writes
 * (refused ones included) and the documents it holds at the end.
 */
async function writesByIndex(): Promise<Record<string, { writes: number; docs: number }>> {
  const out: Record<string, { writes: number; docs: number }> = {};
  for (const index of INDEX_NAMES) {
    const st = await es.indices.stats({ index: aliasName(name, index), metric: "indexing,docs" });
    const all = st._all.primaries;
    out[index] = { writes: all?.indexing?.index_total ?? 0, docs: all?.docs?.count ?? 0 };
  }
  return out;
}

/** Redis memory, Elasticsearch heap and documents, the lake before and after `capline compact`. */
async function scaleFigures(): Promise<ScaleFigures> {
  const redis = createRedis(config);
  const info = await redis.info("memory");
  redis.disconnect();
  const mem = (key: string) => Math.round(Number(new RegExp(`${key}:(\\d+)`).exec(info)?.[1] ?? 0) / 2 ** 20);
  const stats = await es.nodes.stats({ metric: "jvm" });
  const node = Object.values(stats.nodes)[0];
  const docs: Record<string, number> = {};
  for (const index of ["profiles", "sales-daily", "sales-hourly"] as const) {
    const alias = aliasName(name, index);
    await es.indices.refresh({ index: alias });
    docs[index] = (await es.count({ index: alias })).count;
  }
  const lakeBefore = await lakeFigures();
  const compact = await runCapline(["compact", "--json"]);
  if (compact.code !== 0) throw failed("capline compact", compact);
  return {
    customers: docs.profiles ?? 0,
    redisUsedMemoryMiB: mem("used_memory"),
    redisPeakMemoryMiB: mem("used_memory_peak"),
    elasticsearch: {
      heapUsedMiB: Math.round((node?.jvm?.mem?.heap_used_in_bytes ?? 0) / 2 ** 20),
      heapMaxMiB: Math.round((node?.jvm?.mem?.heap_max_in_bytes ?? 0) / 2 ** 20),
      docs,
    },
    lakeBefore,
    compact: {
      seconds: Number(compact.seconds.toFixed(1)),
      cpuSeconds: compact.cpuSeconds,
      peakRssMiB: compact.peakRssMiB,
    },
    lakeAfter: await lakeFigures(),
  };
}

function scaleLines(s: ScaleFigures): string[] {
  const lake = (l: { minio: LakeFigures; hdfs: LakeFigures }) =>
    `MinIO ${fmt.format(l.minio.files)} files ${(l.minio.bytes / 2 ** 20).toFixed(1)} MiB, HDFS ${fmt.format(l.hdfs.files)} files ${(l.hdfs.bytes / 2 ** 20).toFixed(1)} MiB`;
  return [
    `  customers (profiles): ${fmt.format(s.customers)}; documents: ${Object.entries(s.elasticsearch.docs)
      .map(([k, v]) => `${k} ${fmt.format(v)}`)
      .join(", ")}`,
    `  Redis memory after the run: ${s.redisUsedMemoryMiB} MiB used, ${s.redisPeakMemoryMiB} MiB peak`,
    `  Elasticsearch heap after the run: ${s.elasticsearch.heapUsedMiB} of ${s.elasticsearch.heapMaxMiB} MiB`,
    `  lake before compact: ${lake(s.lakeBefore)}`,
    `  capline compact: ${s.compact.seconds} s, CPU ${s.compact.cpuSeconds ?? "?"} s, peak RSS ${s.compact.peakRssMiB ?? "?"} MiB`,
    `  lake after compact: ${lake(s.lakeAfter)}`,
  ];
}

let exitCode = 0;
try {
  await ensureIndices(es, name, configuredIndexSettings(config));
  await minio.makeBucket(name, config.minio.region);
  await hdfs.mkdirs(`/${name}`);
  const loadBefore = loadAverage();
  const cpuAtStart = serviceCpuSeconds();

  const ingest = await runCapline(["ingest", "--json", file]);
  const cpuAfterIngest = serviceCpuSeconds();
  if (ingest.code !== 0 && ingest.code !== 3) throw failed("capline ingest", ingest);
  const ingestSummary = lastJson(ingest.stdout);

  const processArgs = ["process", "--until-idle", "--json"];
  if (concurrency) processArgs.push("--concurrency", concurrency);
  if (rangeSize) processArgs.push("--range-size", rangeSize);
  if (maxInFlight) processArgs.push("--max-in-flight", maxInFlight);
  const processStartedMs = Date.now();
  // Redis memory and Elasticsearch's heap, sampled while the process runs (their peaks).
  const sampler = createRedis(config);
  const peaks = { redisMiB: 0, esHeapMiB: 0 };
  const sample = setInterval(() => {
    void sampler
      .info("memory")
      .then((text) => {
        const used = Number(/used_memory:(\d+)/.exec(text)?.[1] ?? 0) / 2 ** 20;
        peaks.redisMiB = Math.max(peaks.redisMiB, Math.round(used));
      })
      .catch(() => undefined);
    void es.nodes
      .stats({ metric: "jvm" })
      .then((st) => {
        const heap = (Object.values(st.nodes)[0]?.jvm?.mem?.heap_used_in_bytes ?? 0) / 2 ** 20;
        peaks.esHeapMiB = Math.max(peaks.esHeapMiB, Math.round(heap));
      })
      .catch(() => undefined);
  }, 2000);
  const esOpsBefore = await elasticsearchOps();
  const proc = await runCapline(processArgs, [
    ...processNodeArgs,
    ...(cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${cpuProf}`] : []),
  ]);
  clearInterval(sample);
  sampler.disconnect();
  if (proc.code !== 0) throw failed("capline process", proc);
  const servicesCpu = {
    ingest: cpuBetween(cpuAtStart, cpuAfterIngest),
    process: cpuBetween(cpuAfterIngest, serviceCpuSeconds()),
  };
  const esOpsAfter = await elasticsearchOps();
  /** What the process asked of Elasticsearch: reads (realtime gets) and writes, refused ones apart. */
  const esOps = {
    gets: esOpsAfter.gets - esOpsBefore.gets,
    writes: esOpsAfter.writes - esOpsBefore.writes,
    failedWrites: esOpsAfter.failedWrites - esOpsBefore.failedWrites,
  };
  const byIndex = await writesByIndex().catch(() => undefined);
  const processSummary = lastJson(proc.stdout);
  const dispatched = (processSummary.dispatcher as { events?: number } | undefined)?.events ?? 0;
  const sinks = await sinkFigures(processStartedMs);
  // Job attempts that failed and were retried: non-zero means a sink hiccuped or was down (on the
  // shared machine, other engineers' outage tests stop services), which the figures then include.
  const failedAttempts =
    (processSummary.workers as { failed_attempts?: number; failedAttempts?: number } | undefined)
      ?.failed_attempts ??
    (processSummary.workers as { failedAttempts?: number } | undefined)?.failedAttempts ??
    0;

  const total = ingest.seconds + proc.seconds;
  // CPU per event, the steady measure on a busy machine: the process's and Elasticsearch's.
  const perEvent = (cpuSeconds: number | undefined) =>
    cpuSeconds !== undefined && dispatched > 0
      ? Number(((cpuSeconds * 1e6) / dispatched).toFixed(1))
      : undefined;
  const cpuPerEvent = {
    processMicros: perEvent(proc.cpuSeconds),
    elasticsearchMicros: perEvent(servicesCpu.process.elasticsearch),
  };
  const scale = scaleMode ? await scaleFigures() : undefined;
  const result = {
    at: new Date().toISOString(),
    machine: machine(),
    loadAverage: { before: loadBefore, afterIngest: ingest.loadAverage, afterProcess: proc.loadAverage },
    rows: events,
    fileMB,
    events: dispatched,
    options: {
      concurrency: concurrency ?? "default",
      rangeSize: rangeSize ?? "default",
      maxInFlight: maxInFlight ?? "default",
      processNodeArgs: processNodeArgs.join(" "),
    },
    ingest: {
      seconds: Number(ingest.seconds.toFixed(1)),
      peakRssMiB: ingest.peakRssMiB,
      cpuSeconds: ingest.cpuSeconds,
      summary: ingestSummary,
    },
    process: {
      seconds: Number(proc.seconds.toFixed(1)),
      peakRssMiB: proc.peakRssMiB,
      cpuSeconds: proc.cpuSeconds,
      eventsPerSecond: Math.round(dispatched / proc.seconds),
      failedAttempts,
      summary: processSummary,
    },
    sinks,
    /** CPU seconds of each local service during each step (the stack shares the machine). */
    servicesCpu,
    cpuPerEvent,
    elasticsearchOps: { ...esOps, ...(byIndex ? { byIndex } : {}) },
    /** Sampled every 2 s during the process step. */
    peaks,
    ...(scale ? { scale } : {}),
    endToEnd: { seconds: Number(total.toFixed(1)), eventsPerSecond: Math.round(dispatched / total) },
    target: { endToEndEventsPerSecond: TARGET },
  };
  writeFileSync(join(outDir, "pipeline-latest.json"), `${JSON.stringify(result, null, 2)}\n`);
  const m = result.machine;
  console.log(
    [
      `machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB, Node ${m.node}; load average before ${loadBefore}, after ingest ${ingest.loadAverage}, after process ${proc.loadAverage}`,
      `events: ${fmt.format(dispatched)} of ${fmt.format(events)} generated rows (${fileMB} MB)`,
      `capline ingest:  ${result.ingest.seconds} s, peak RSS ${ingest.peakRssMiB ?? "?"} MiB, CPU ${ingest.cpuSeconds ?? "?"} s`,
      `capline process: ${result.process.seconds} s = ${fmt.format(result.process.eventsPerSecond)} events/s, peak RSS ${proc.peakRssMiB ?? "?"} MiB, CPU ${proc.cpuSeconds ?? "?"} s`,
      `  CPU per event: process ${cpuPerEvent.processMicros ?? "?"} µs, Elasticsearch ${cpuPerEvent.elasticsearchMicros ?? "?"} µs`,
      `  Elasticsearch operations while processing: ${fmt.format(esOps.gets)} realtime gets, ${fmt.format(esOps.writes)} document writes (${fmt.format(esOps.failedWrites)} refused, mostly 409 conflicts of a guessed create or version)`,
      ...(byIndex
        ? [
            `  by index (writes / documents at the end): ${Object.entries(byIndex)
              .map(([index, f]) => `${index} ${fmt.format(f.writes)} / ${fmt.format(f.docs)}`)
              .join(", ")}`,
          ]
        : []),
      `  peaks while processing (sampled every 2 s): Redis ${peaks.redisMiB} MiB used, Elasticsearch heap ${peaks.esHeapMiB} MiB`,
      `  job attempts failed and retried (sink errors or outages during the run): ${failedAttempts}`,
      ...(["ingest", "process"] as const).map(
        (step) =>
          `  services' CPU during ${step}: ${
            SERVICE_NAMES.map((s) => `${s} ${servicesCpu[step][s] ?? "n/a"} s`).join(", ") || "n/a"
          }`,
      ),
      ...Object.entries(sinks).map(
        ([sink, f]) =>
          `  sink ${sink}: ${fmt.format(f.events)} events in ${f.ranges} ranges, done ${f.spanSeconds} s after start = ${fmt.format(f.eventsPerSecond)} events/s (job time ${f.jobSeconds} s)`,
      ),
      ...(scale ? scaleLines(scale) : []),
      `end to end: ${result.endToEnd.seconds} s = ${fmt.format(result.endToEnd.eventsPerSecond)} events/s; target >= ${fmt.format(TARGET)} ${
        result.endToEnd.eventsPerSecond >= TARGET ? "MET" : "NOT MET"
      }`,
    ].join("\n"),
  );
} catch (error) {
  process.stderr.write(`bench:pipeline failed: ${error instanceof Error ? error.message : String(error)}\n`);
  exitCode = 1;
} finally {
  if (!keep) await cleanup().catch(() => undefined);
  else process.stderr.write(`kept: topic, prefix, bucket and HDFS root ${name}\n`);
  await es.close();
  rmSync(timeFile, { force: true });
}
process.exit(exitCode);
