/**
 * `npm run bench:ingest`: generates the REES46 electronics size (885,129 rows), ingests it into the
 * configured Kafka (a fresh topic), and, as the reference on the same broker in the same run, times
 * kcat producing the same file's lines. Prints rows/s, MB/s, peak RSS and CPU time, with the
 * machine, and writes them to benchmarks/out/ingest-latest.json.
 *
 *   npm run bench:ingest [-- --events N] [--keep]
 */
import { spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { createKafka } from "../core/clients/kafka.ts";
import { loadConfig, PROJECT_ROOT } from "../core/config/index.ts";
import { createLogger } from "../core/logging.ts";
import { checkpointTopicOf, generate, runIngest } from "../ingestion/index.ts";

const args = process.argv.slice(2);
const eventsArg = args.indexOf("--events");
const events = eventsArg >= 0 ? Number(args[eventsArg + 1]) : 885_129;
const keep = args.includes("--keep");

const config = loadConfig();
createLogger(process.env.LOG_LEVEL ?? "warn");
const outDir = join(PROJECT_ROOT, "benchmarks", "out");
mkdirSync(outDir, { recursive: true });
const file = join(outDir, `bench-${events}.csv`);

function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? "unknown";
  return {
    cpu: model,
    cores: cpus().length,
    ramGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadAverage: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
  };
}

async function kcatReference(topic: string): Promise<{ seconds: number; rowsPerSecond: number } | string> {
  if (spawnSync("kcat", ["-V"]).status !== 0) return "kcat not installed: reference skipped";
  const lines = events + 1;
  const started = process.hrtime.bigint();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn("kcat", ["-P", "-b", config.kafka.brokers.join(","), "-t", topic, "-l", file], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    child.on("close", resolve);
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) return `kcat failed with exit code ${code}`;
  return { seconds, rowsPerSecond: Math.round(lines / seconds) };
}

const t0 = Date.now();
const generated = await generate({ out: file, events, seed: 42 });
const size = statSync(file).size;
process.stderr.write(
  `generated ${events} rows (${(size / 1e6).toFixed(1)} MB) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
);

const topic = `bench-ingest-${randomUUID().slice(0, 8)}`;
const kcatTopic = `${topic}-kcat`;
const admin = createKafka(config).admin();
await admin.connect();
await admin.createTopics({
  topics: [{ topic: kcatTopic, numPartitions: config.kafka.partitions }],
  waitForLeaders: true,
});

const cpu0 = process.cpuUsage();
const summary = await runIngest(config, { files: [file], topic, dlqTopic: `${topic}.dlq` });
const cpu = process.cpuUsage(cpu0);
const peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
const kcat = await kcatReference(kcatTopic);

const result = {
  at: new Date().toISOString(),
  machine: machine(),
  events,
  fileMB: Number((size / 1e6).toFixed(1)),
  generateSeconds: generated.seconds,
  ingest: {
    rows: summary.rows,
    sent: summary.sent,
    duplicates: summary.duplicates,
    rejected: summary.rejected,
    seconds: Number(summary.seconds.toFixed(2)),
    rowsPerSecond: summary.rowsPerSecond,
    mbPerSecond: Number((size / 1e6 / summary.seconds).toFixed(1)),
    cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
    peakRssMiB,
    transactions: summary.files[0]?.transactions,
  },
  kcat,
  ratioToKcat:
    typeof kcat === "string" ? undefined : Number((summary.rowsPerSecond / kcat.rowsPerSecond).toFixed(2)),
  targets: { rowsPerSecond: 100_000, ratioToKcat: 0.5 },
};
writeFileSync(join(outDir, "ingest-latest.json"), `${JSON.stringify(result, null, 2)}\n`);

const fmt = new Intl.NumberFormat("en-US");
console.log(
  [
    `machine: ${result.machine.cpu}, ${result.machine.cores} cores, ${result.machine.ramGiB} GiB, Node ${result.machine.node} (load ${result.machine.loadAverage})`,
    `capline ingest: ${fmt.format(summary.rows)} rows in ${result.ingest.seconds} s = ${fmt.format(summary.rowsPerSecond)} rows/s, ${result.ingest.mbPerSecond} MB/s, peak RSS ${peakRssMiB} MiB, CPU ${result.ingest.cpuSeconds} s, ${result.ingest.transactions} transactions`,
    typeof kcat === "string"
      ? `kcat: ${kcat}`
      : `kcat -P (same broker, same lines): ${kcat.seconds.toFixed(2)} s = ${fmt.format(kcat.rowsPerSecond)} rows/s; capline/kcat = ${result.ratioToKcat}`,
    `targets: >= 100,000 rows/s ${summary.rowsPerSecond >= 100_000 ? "MET" : "NOT MET"}; >= 0.5 × kcat ${
      result.ratioToKcat === undefined ? "n/a" : result.ratioToKcat >= 0.5 ? "MET" : "NOT MET"
    }`,
  ].join("\n"),
);

if (!keep) {
  const existing = new Set(await admin.listTopics());
  const ours = [topic, `${topic}.dlq`, checkpointTopicOf(topic), kcatTopic].filter((t) => existing.has(t));
  await admin.deleteTopics({ topics: ours }).catch(() => undefined);
}
await admin.disconnect();
