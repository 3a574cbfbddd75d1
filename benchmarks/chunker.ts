/**
 * `npm run bench:chunker`: the parse side of an ingest alone — `runChunker` (read, decode, parse,
 * validate, event ids, duplicate window, JSON, record batches) on the REES46 electronics size with
 * no Kafka, on this thread. As the like-for-like reference in the same run, the same file through
 * the CSV parser alone (read, decode, split into records), so the validator's share is the
 * difference. Best of `--runs` (default 3) in CPU seconds (the machine is shared: wall time follows
 * the load). Prints rows/s and CPU µs per row with the machine and its load, and writes them to
 * benchmarks/out/chunker-latest.json.
 *
 *   npm run bench:chunker [-- --events N] [--runs N]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../core/config/index.ts";
import { runChunker } from "../ingestion/chunker.ts";
import { CsvParser } from "../ingestion/csv-parser.ts";
import { describeSource, openText } from "../ingestion/input.ts";
import { rowLimits } from "../ingestion/rows.ts";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const events = option("--events", 885_129);
const runs = Math.max(1, option("--runs", 3));
const outDir = join(PROJECT_ROOT, "benchmarks", "out");
mkdirSync(outDir, { recursive: true });
const file = join(outDir, `bench-${events}.csv`);
const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

if (!existsSync(file)) {
  const gen = spawnSync(
    process.execPath,
    [join(PROJECT_ROOT, "bin", "capline.mjs"), "generate", "--out", file, "--events", String(events)],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  if (gen.status !== 0) throw new Error(`capline generate failed with exit code ${gen.status}`);
}
const size = statSync(file).size;

const cpuSeconds = (from: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1e6;
};

async function chunkerRound(): Promise<{ cpu: number; rows: number }> {
  let rows = 0;
  const cpu0 = process.cpuUsage();
  await runChunker(
    {
      source: describeSource(file),
      resumeLine: 0,
      chunkRows: 50_000,
      remaining: Number.POSITIVE_INFINITY,
      duplicateWindow: 20_000,
      map: undefined,
      limits: rowLimits(),
    },
    new Int32Array(1),
    new Float64Array(3),
    {
      emit(event) {
        if (event.type === "end") rows = event.counts.rows;
        if (event.type === "error") throw new Error(event.message);
      },
      credit: async () => undefined,
    },
  );
  return { cpu: cpuSeconds(cpu0), rows };
}

async function parserRound(): Promise<{ cpu: number; rows: number }> {
  let rows = 0;
  const cpu0 = process.cpuUsage();
  const parser = new CsvParser();
  for await (const chunk of openText(describeSource(file)).chunks)
    for (let at = 0; at < chunk.length; at += 64 * 1024)
      rows += parser.push(chunk.slice(at, at + 64 * 1024)).length;
  rows += parser.end().length;
  return { cpu: cpuSeconds(cpu0), rows: rows - 1 };
}

const fmt = new Intl.NumberFormat("en-US");
const chunker: number[] = [];
const parser: number[] = [];
let rows = 0;
for (let r = 0; r < runs; r++) {
  const load = loadAverage();
  const c = await chunkerRound();
  const p = await parserRound();
  rows = c.rows;
  chunker.push(c.cpu);
  parser.push(p.cpu);
  console.log(
    `round ${r + 1}/${runs} (load ${load}): chunker ${c.cpu.toFixed(2)} CPU s, parser alone ${p.cpu.toFixed(2)} CPU s`,
  );
}
const best = (xs: number[]) => Math.min(...xs);
const result = {
  at: new Date().toISOString(),
  machine: {
    cpu: /model name\s*:\s*(.+)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpus()[0]?.model,
    cores: cpus().length,
    ramGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  },
  loadAverageAfter: loadAverage(),
  rows,
  fileMB: Number((size / 1e6).toFixed(1)),
  chunker: {
    cpuSeconds: Number(best(chunker).toFixed(2)),
    rowsPerCpuSecond: Math.round(rows / best(chunker)),
    cpuMicrosPerRow: Number(((best(chunker) * 1e6) / rows).toFixed(2)),
  },
  parserAlone: {
    cpuSeconds: Number(best(parser).toFixed(2)),
    rowsPerCpuSecond: Math.round(rows / best(parser)),
    cpuMicrosPerRow: Number(((best(parser) * 1e6) / rows).toFixed(2)),
  },
};
writeFileSync(join(outDir, "chunker-latest.json"), `${JSON.stringify(result, null, 2)}\n`);
console.log(
  [
    `machine: ${result.machine.cpu}, ${result.machine.cores} cores, Node ${result.machine.node} (load after: ${result.loadAverageAfter})`,
    `chunker, best of ${runs}: ${result.chunker.cpuSeconds} CPU s for ${fmt.format(rows)} rows = ${fmt.format(result.chunker.rowsPerCpuSecond)} rows per CPU second, ${result.chunker.cpuMicrosPerRow} µs/row`,
    `parser alone (reference), best of ${runs}: ${result.parserAlone.cpuSeconds} CPU s = ${fmt.format(result.parserAlone.rowsPerCpuSecond)} rows per CPU second, ${result.parserAlone.cpuMicrosPerRow} µs/row`,
  ].join("\n"),
);
