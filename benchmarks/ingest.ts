/**
 * `npm run bench:ingest`: generates the REES46 electronics size (885,129 rows), then runs `--runs`
 * rounds (default 3), each on the same broker, into fresh topics with the same partitions:
 *
 * - capline: the compiled CLI, `capline ingest FILE --json` (a child process under GNU time: its
 *   wall time, CPU seconds and peak RSS are the command's own);
 * - kcat-JSON, the like-for-like reference: kcat producing the same keyed JSON events capline
 *   sends (`kcat -P -K '\t' -z lz4 -l EVENTS.tsv`, Java-compatible murmur2 partitioning), the TSV
 *   made from the same CSV by capline's own validator before the timed part;
 * - kcat raw: kcat producing the CSV's lines as they are (no key, no compression), for comparison
 *   with the earlier figures.
 *
 * It prints each round with the load average, the medians compared with the targets (capline at
 * least half of kcat-JSON's events/s, peak RSS at most 300 MiB), and writes them to
 * benchmarks/out/ingest-latest.json.
 *
 *   npm run bench:ingest [-- --events N] [--runs N] [--keep]
 */
import { spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { loadConfig, PROJECT_ROOT } from "../core/config/index.ts";
import { KafkaAdmin, kafkaOptions } from "../core/kafka/index.ts";
import { createLogger } from "../core/logging.ts";
import { checkpointTopicOf } from "../core/names.ts";
import { CsvParser, type CsvRecord, RowValidator, resolveHeader } from "../ingestion/index.ts";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const events = option("--events", 885_129);
const runs = Math.max(1, option("--runs", 3));
const keep = args.includes("--keep");

const config = loadConfig();
createLogger(process.env.LOG_LEVEL ?? "warn");
const outDir = join(PROJECT_ROOT, "benchmarks", "out");
mkdirSync(outDir, { recursive: true });
const file = join(outDir, `bench-${events}.csv`);
const tsv = join(outDir, `bench-${events}.events.tsv`);
const timeFile = join(outDir, `bench-ingest-${process.pid}.time`);
const brokers = config.kafka.brokers.join(",");
const BIN = join(PROJECT_ROOT, "bin", "capline.mjs");

const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? "unknown";
  return {
    cpu: model,
    cores: cpus().length,
    ramGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kcat: spawnSync("kcat", ["-V"], { encoding: "utf8" }).stdout?.match(/Version ([^\s]+)/i)?.[1] ?? "absent",
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
};

interface Timed {
  code: number | null;
  seconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
  stdout: string;
}

/** Runs a command under GNU time: wall seconds, CPU seconds (user + system) and peak RSS. */
async function timed(command: string[]): Promise<Timed> {
  const started = process.hrtime.bigint();
  let stdout = "";
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn("/usr/bin/time", ["-v", "-o", timeFile, ...command], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, LOG_LEVEL: "warn" },
    });
    child.stdout.on("data", (d) => {
      stdout += String(d);
    });
    child.on("close", resolve);
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const times = readFileSync(timeFile, "utf8");
  const field = (name: string) => Number(new RegExp(`${name}: ([\\d.]+)`).exec(times)?.[1] ?? Number.NaN);
  return {
    code,
    seconds: Number(seconds.toFixed(2)),
    cpuSeconds: Number((field("User time \\(seconds\\)") + field("System time \\(seconds\\)")).toFixed(2)),
    peakRssMiB: Math.round(field("Maximum resident set size \\(kbytes\\)") / 1024),
    stdout,
  };
}

/** kcat's raw-lines command: librdkafka defaults (acks=all, linger.ms=5, no compression, no key). */
const kcatRawArgs = (topic: string) => ["kcat", "-P", "-b", brokers, "-t", topic, "-l", file];
/**
 * kcat-JSON: the events capline sends, keyed by user_id, LZ4, partitioned as capline and the Java
 * client partition (murmur2; librdkafka's default is CRC32-based).
 */
const kcatJsonArgs = (topic: string) => [
  "kcat",
  "-P",
  "-b",
  brokers,
  "-t",
  topic,
  "-K",
  "\t",
  "-z",
  "lz4",
  "-X",
  "partitioner=murmur2_random",
  "-l",
  tsv,
];

/** The keyed JSON events of the CSV, as capline's validator makes them: `user_id<TAB>event`. */
async function writeEventsTsv(): Promise<number> {
  const parser = new CsvParser();
  const out = createWriteStream(tsv);
  let validator: RowValidator | undefined;
  let count = 0;
  const handle = (record: CsvRecord) => {
    if (!validator) {
      const columns = resolveHeader(record.fields, file);
      parser.setExpectedFields(columns.columns);
      validator = new RowValidator(columns, file);
      return;
    }
    const outcome = validator.process(record);
    if (outcome.kind !== "event") return;
    out.write(`${outcome.event.user_id}\t${outcome.value}\n`);
    count++;
  };
  for await (const text of createReadStream(file, { encoding: "utf8", highWaterMark: 64 * 1024 })) {
    for (const record of parser.push(text as string)) handle(record);
  }
  for (const record of parser.end()) handle(record);
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
  return count;
}

const t0 = Date.now();
const gen = spawnSync(
  process.execPath,
  [BIN, "generate", "--out", file, "--events", String(events), "--seed", "42"],
  { stdio: ["ignore", "ignore", "inherit"] },
);
if (gen.status !== 0) throw new Error(`capline generate failed with exit code ${gen.status}`);
const size = statSync(file).size;
const jsonEvents = await writeEventsTsv();
process.stderr.write(
  `generated ${events} rows (${(size / 1e6).toFixed(1)} MB) and their ${jsonEvents} events as TSV (${(statSync(tsv).size / 1e6).toFixed(1)} MB) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
);

const hasKcat = spawnSync("kcat", ["-V"]).status === 0;
const admin = new KafkaAdmin(kafkaOptions(config));
const created: string[] = [];
const fmt = new Intl.NumberFormat("en-US");

interface Reference {
  seconds: number;
  eventsPerSecond: number;
  cpuSeconds: number;
}
interface Round {
  load: string;
  ingest: {
    seconds: number;
    /** The command's own summary (from its Kafka check to its last commit). */
    summarySeconds: number;
    rowsPerSecond: number;
    eventsPerSecond: number;
    mbPerSecond: number;
    cpuSeconds: number;
    cpuMicrosPerRow: number;
    peakRssMiB: number;
    sent: number;
    duplicates: number;
    rejected: number;
    transactions: number | undefined;
  };
  kcatJson?: Reference;
  kcatRaw?: Reference;
}

/** A command as a person would type it, paths relative to the project. */
const shown = (command: string[]) =>
  command
    .map((a) => (a === "\t" ? "'\\t'" : a.startsWith(PROJECT_ROOT) ? a.slice(PROJECT_ROOT.length + 1) : a))
    .join(" ");

async function reference(command: string[], messages: number): Promise<Reference> {
  const run = await timed(command);
  if (run.code !== 0) throw new Error(`${command.join(" ")} failed with exit code ${run.code}`);
  return {
    seconds: run.seconds,
    eventsPerSecond: Math.round(messages / run.seconds),
    cpuSeconds: run.cpuSeconds,
  };
}

const rounds: Round[] = [];
for (let r = 0; r < runs; r++) {
  const topic = `bench-ingest-${randomUUID().slice(0, 8)}`;
  const kcatRawTopic = `${topic}-kcat`;
  const kcatJsonTopic = `${topic}-kcat-json`;
  created.push(topic, `${topic}.dlq`, checkpointTopicOf(topic), kcatRawTopic, kcatJsonTopic);
  for (const t of [kcatRawTopic, kcatJsonTopic])
    await admin.createTopic({
      topic: t,
      partitions: config.kafka.partitions,
      replicationFactor: config.kafka.replicationFactor,
    });
  const load = loadAverage();
  const run = await timed([
    process.execPath,
    BIN,
    "ingest",
    file,
    "--json",
    "--topic",
    topic,
    "--dlq-topic",
    `${topic}.dlq`,
  ]);
  if (run.code !== 0) throw new Error(`capline ingest failed with exit code ${run.code}`);
  const summary = JSON.parse(run.stdout) as {
    rows: number;
    sent: number;
    duplicates: number;
    rejected: number;
    seconds: number;
    files: Array<{ transactions?: number }>;
  };
  const round: Round = {
    load,
    ingest: {
      seconds: run.seconds,
      summarySeconds: Number(summary.seconds.toFixed(2)),
      rowsPerSecond: Math.round(summary.rows / run.seconds),
      eventsPerSecond: Math.round(summary.sent / run.seconds),
      mbPerSecond: Number((size / 1e6 / run.seconds).toFixed(1)),
      cpuSeconds: run.cpuSeconds,
      cpuMicrosPerRow: Number(((run.cpuSeconds * 1e6) / summary.rows).toFixed(2)),
      peakRssMiB: run.peakRssMiB,
      sent: summary.sent,
      duplicates: summary.duplicates,
      rejected: summary.rejected,
      transactions: summary.files[0]?.transactions,
    },
  };
  if (hasKcat) {
    round.kcatJson = await reference(kcatJsonArgs(kcatJsonTopic), jsonEvents);
    round.kcatRaw = await reference(kcatRawArgs(kcatRawTopic), events + 1);
  }
  rounds.push(round);
  const i = round.ingest;
  console.log(
    `round ${r + 1}/${runs} (load ${load}): capline ingest ${fmt.format(summary.rows)} rows in ${i.seconds} s = ${fmt.format(i.rowsPerSecond)} rows/s, ${fmt.format(i.eventsPerSecond)} events/s, ${i.mbPerSecond} MB/s, CPU ${i.cpuSeconds} s (${i.cpuMicrosPerRow} µs/row), peak RSS ${i.peakRssMiB} MiB` +
      (round.kcatJson && round.kcatRaw
        ? `; kcat-JSON ${fmt.format(round.kcatJson.eventsPerSecond)} events/s (CPU ${round.kcatJson.cpuSeconds} s); kcat raw ${fmt.format(round.kcatRaw.eventsPerSecond)} lines/s`
        : ""),
  );
}
const ingestEvents = median(rounds.map((r) => r.ingest.eventsPerSecond));
const kcatJsonRate = hasKcat ? median(rounds.map((r) => r.kcatJson?.eventsPerSecond ?? 0)) : undefined;
const kcatRawRate = hasKcat ? median(rounds.map((r) => r.kcatRaw?.eventsPerSecond ?? 0)) : undefined;
const ratioToKcatJson =
  kcatJsonRate === undefined ? undefined : Number((ingestEvents / kcatJsonRate).toFixed(2));
const peakRssMiB = Math.max(...rounds.map((r) => r.ingest.peakRssMiB));
const result = {
  at: new Date().toISOString(),
  machine: machine(),
  loadAverageAfter: loadAverage(),
  events,
  jsonEvents,
  fileMB: Number((size / 1e6).toFixed(1)),
  partitions: config.kafka.partitions,
  kcatJsonCommand: shown(kcatJsonArgs("<fresh topic>")),
  kcatRawCommand: shown(kcatRawArgs("<fresh topic>")),
  rounds,
  median: {
    ingestRowsPerSecond: median(rounds.map((r) => r.ingest.rowsPerSecond)),
    ingestEventsPerSecond: ingestEvents,
    ingestCpuSeconds: median(rounds.map((r) => r.ingest.cpuSeconds)),
    kcatJsonEventsPerSecond: kcatJsonRate,
    kcatJsonCpuSeconds: hasKcat ? median(rounds.map((r) => r.kcatJson?.cpuSeconds ?? 0)) : undefined,
    kcatRawLinesPerSecond: kcatRawRate,
  },
  peakRssMiB,
  ratioToKcatJson,
  targets: { ratioToKcatJson: 0.5, peakRssMiB: 300 },
};
writeFileSync(join(outDir, "ingest-latest.json"), `${JSON.stringify(result, null, 2)}\n`);

const m = result.machine;
console.log(
  [
    `machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB, Node ${m.node}, kcat ${m.kcat} (load after: ${result.loadAverageAfter})`,
    `capline ingest, median of ${runs}: ${fmt.format(result.median.ingestRowsPerSecond)} rows/s, ${fmt.format(ingestEvents)} events/s, CPU ${result.median.ingestCpuSeconds} s, peak RSS ${peakRssMiB} MiB`,
    kcatJsonRate === undefined
      ? "kcat: not installed, references skipped"
      : `kcat-JSON, median of ${runs} (${result.kcatJsonCommand}): ${fmt.format(kcatJsonRate)} events/s, CPU ${result.median.kcatJsonCpuSeconds} s; capline/kcat-JSON = ${ratioToKcatJson}; kcat raw lines: ${fmt.format(kcatRawRate ?? 0)} lines/s`,
    `targets: >= 0.5 × kcat-JSON ${ratioToKcatJson === undefined ? "n/a" : ratioToKcatJson >= 0.5 ? "MET" : "NOT MET"}; peak RSS <= 300 MiB ${peakRssMiB <= 300 ? "MET" : "NOT MET"}`,
  ].join("\n"),
);

if (!keep) {
  const existing = new Set(await admin.listTopics());
  await admin.deleteTopics(created.filter((t) => existing.has(t))).catch(() => undefined);
}
await admin.close();
