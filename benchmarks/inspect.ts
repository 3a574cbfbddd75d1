/**
 * `npx tsx benchmarks/inspect.ts [--events N] [--runs N]`: `capline inspect`'s speed against the
 * ingester's own reading side on the same file in the same run. The reference is `runChunker`
 * (ingestion/chunker.ts: parse, validate, encode each chunk as Kafka messages) with a consumer that
 * takes every chunk at once: the ingest's parse rate without Kafka. Both alternate for `--runs`
 * rounds; medians of rows/s and CPU µs per row are printed with the machine and its load. No
 * service is needed.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../core/config/index.ts";
import { createLogger } from "../core/logging.ts";
import { runChunker } from "../ingestion/chunker.ts";
import { describeSource } from "../ingestion/input.ts";
import { inspectFile } from "../ingestion/inspect.ts";
import { DEFAULT_DUPLICATE_WINDOW, rowLimits } from "../ingestion/rows.ts";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const events = option("--events", 300_000);
const runs = Math.max(1, option("--runs", 3));
createLogger("warn");

const dir = join(tmpdir(), `capline-bench-inspect-${process.pid}`);
mkdirSync(dir, { recursive: true });
const file = join(dir, "sample.csv");
const generated = spawnSync(
  process.execPath,
  [
    join(PROJECT_ROOT, "bin", "capline.mjs"),
    "generate",
    "--out",
    file,
    "--events",
    String(events),
    "--seed",
    "11",
  ],
  { stdio: ["ignore", "ignore", "inherit"] },
);
if (generated.status !== 0) throw new Error("capline generate failed");

interface Round {
  rows: number;
  seconds: number;
  cpuMicros: number;
}

async function timed(run: () => Promise<number>): Promise<Round> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const rows = await run();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { rows, seconds, cpuMicros: used.user + used.system };
}

const inspect = () => inspectFile(file).then((p) => p.counts.rows);

const ingestReadingSide = () =>
  new Promise<number>((resolve, reject) => {
    let rows = 0;
    void runChunker(
      {
        source: describeSource(file),
        resumeLine: 0,
        chunkRows: 50_000,
        remaining: Number.POSITIVE_INFINITY,
        duplicateWindow: DEFAULT_DUPLICATE_WINDOW,
        map: undefined,
        limits: rowLimits(),
      },
      new Int32Array(new SharedArrayBuffer(4)),
      new Float64Array(new SharedArrayBuffer(24)),
      {
        emit: (event) => {
          if (event.type === "end") {
            rows = event.counts.rows;
            resolve(rows);
          } else if (event.type === "error") reject(new Error(event.message));
        },
        credit: () => Promise.resolve(),
      },
    );
  });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const results: Record<string, Round[]> = { inspect: [], "ingest reading side": [] };
for (let i = 0; i < runs; i++) {
  results.inspect?.push(await timed(inspect));
  results["ingest reading side"]?.push(await timed(ingestReadingSide));
}
rmSync(dir, { recursive: true, force: true });

console.log(
  `inspect vs the ingest's reading side, ${events.toLocaleString("en-US")} generated rows, ${runs} rounds; ` +
    `${cpus().length} × ${cpus()[0]?.model ?? "?"}, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}, Node ${process.versions.node}`,
);
for (const [name, rounds] of Object.entries(results)) {
  const rate = median(rounds.map((r) => r.rows / r.seconds));
  const cpu = median(rounds.map((r) => r.cpuMicros / r.rows));
  console.log(
    `  ${name.padEnd(20)} ${Math.round(rate).toLocaleString("en-US").padStart(10)} rows/s  ${cpu.toFixed(2)} CPU µs/row`,
  );
}
