/**
 * `npm run bench:startup`: the CLI's start-up, `node bin/capline.mjs --version` (the compiled CLI
 * in dist/, `npm run build` first), against the like-for-like floor `node -e 0`, run in pairs
 * (one of each, alternating) so that a load change on a shared machine hits both alike. Prints
 * each command's median, minimum and maximum wall time, the ratio of the medians (the target:
 * within 3× of `node -e 0`), and the load average.
 *
 *   npm run bench:startup [-- --runs N]
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { PROJECT_ROOT } from "../core/config/index.ts";

const args = process.argv.slice(2);
const at = args.indexOf("--runs");
const runs = at >= 0 ? Number(args[at + 1]) : 20;
if (!Number.isInteger(runs) || runs < 1) {
  console.error("--runs must be a whole number of at least 1 (e.g. --runs 20)");
  process.exit(2);
}
const cli = join(PROJECT_ROOT, "bin", "capline.mjs");
if (!existsSync(join(PROJECT_ROOT, "dist", "cli", "main.js"))) {
  console.error("dist/ is missing: run `npm run build` first");
  process.exit(2);
}

function timed(argv: string[]): number {
  const start = process.hrtime.bigint();
  const run = spawnSync(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe"] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.status !== 0) throw new Error(`${argv.join(" ")} exited ${run.status}: ${run.stderr}`);
  return ms;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)] as number, min: s[0] as number, max: s.at(-1) as number };
};

const floor: number[] = [];
const capline: number[] = [];
const load = loadavg()[0] ?? 0;
// One warm-up of each (the page cache), then the pairs.
timed(["-e", "0"]);
timed([cli, "--version"]);
for (let i = 0; i < runs; i++) {
  floor.push(timed(["-e", "0"]));
  capline.push(timed([cli, "--version"]));
}
const f = stats(floor);
const c = stats(capline);
const fmt = (s: ReturnType<typeof stats>) =>
  `median ${s.median.toFixed(1)} ms (min ${s.min.toFixed(1)}, max ${s.max.toFixed(1)})`;
console.log(
  `start-up, ${runs} pairs, Node ${process.versions.node}, ${cpus().length} cores, load ${load.toFixed(2)} at the start, ${(loadavg()[0] ?? 0).toFixed(2)} at the end`,
);
console.log(`  node -e 0                      ${fmt(f)}`);
console.log(`  node bin/capline.mjs --version ${fmt(c)}`);
console.log(`  ratio of the medians ${(c.median / f.median).toFixed(2)} (target: at most 3)`);
