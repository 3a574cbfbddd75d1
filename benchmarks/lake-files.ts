/**
 * `npm run bench:lake-files`: the cost of one small lake file in each store of the local stack,
 * written the way the archive sink writes it (processing/archive-sink.ts: MinIO as one PUT, HDFS
 * through WebHDFS to a temporary name and renamed into place), one file after another. Short ranges
 * spread over many days and `capline compact` write many such files, so a fixed cost per file
 * shows there first. MinIO is the reference: the same bytes under the same names in the same run.
 *
 *   npm run bench:lake-files [-- --files N] [--kib K]
 */
import { randomUUID } from "node:crypto";
import { cpus, loadavg } from "node:os";
import { createMinio } from "../core/clients/minio.ts";
import { createWebHdfs } from "../core/clients/webhdfs.ts";
import { loadConfig } from "../core/config/index.ts";
import { isolatedNames } from "../core/names.ts";
import { hdfsStore, type LakeStore, minioStore } from "../processing/archive-sink.ts";

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const value = Number(args[at + 1]);
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`${name} takes a whole number above 0, e.g. ${name} ${fallback}\n`);
    process.exit(2);
  }
  return value;
};
const files = flag("--files", 40);
const kib = flag("--kib", 30);

const name = `bench-files-${randomUUID().slice(0, 8)}`;
const config = loadConfig({ env: { ...process.env, ...isolatedNames(name) } });
const minio = createMinio(config);
const hdfs = createWebHdfs(config);
const stores: LakeStore[] = [minioStore(minio, config.minio.bucket), hdfsStore(hdfs, config.hdfs.root)];
const bytes = Buffer.alloc(kib * 1024, 7);
/** The i-th file's key: a lake name of this run's own topic. */
const keyOf = (i: number) => `events/dt=2019-10-01/${name}+0+${i * 100}-${i * 100 + 99}.parquet`;

const load = loadavg().map((n) => n.toFixed(2));
process.stdout.write(
  `machine: ${cpus()[0]?.model.trim() ?? "?"}, ${cpus().length} cores, Node ${process.version}; load average ${load.join(" ")}\n`,
);
await minio.makeBucket(config.minio.bucket);
try {
  for (const store of stores) {
    const ms: number[] = [];
    for (let i = 0; i < files; i++) {
      const started = performance.now();
      await store.put(keyOf(i), bytes);
      ms.push(performance.now() - started);
    }
    const total = ms.reduce((a, b) => a + b, 0);
    ms.sort((a, b) => a - b);
    const at = (q: number) => (ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? 0).toFixed(0);
    process.stdout.write(
      `${store.name.padEnd(5)} ${files} files of ${kib} KiB: ${(total / 1000).toFixed(2)} s = ${((files * 1000) / total).toFixed(1)} files/s; per file median ${at(0.5)} ms, p90 ${at(0.9)} ms, max ${at(1)} ms\n`,
    );
  }
} finally {
  await minio.removeObjects(
    config.minio.bucket,
    Array.from({ length: files }, (_, i) => keyOf(i)),
  );
  await minio.removeBucket(config.minio.bucket);
  await hdfs.delete(config.hdfs.root, { recursive: true });
}
